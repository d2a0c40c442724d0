/**
 * A write carried a fencing token older than the session's: another instance has been granted
 * the session's lease since this one's was. The store refused it inside the write itself, so
 * nothing of it was stored. Not an outage: trying again can never succeed, and the writer must
 * stop acting for the session at once (sessions/manager.ts, log/event-log.ts).
 */
export class FencedError extends Error {
  override name = 'FencedError';
  constructor(
    readonly sessionId: string,
    readonly token: number,
  ) {
    super(`session ${sessionId} was granted to another instance: a write with fencing token ${token} was refused`);
  }
}

/** Whether a write carrying `token` (undefined: unfenced) must be refused, the session's being `current`. */
export const isFenced = (token: number | undefined, current: number) => token !== undefined && token < current;
