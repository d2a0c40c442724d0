/**
 * Open connections per user, shared by every transport that holds one open: graphql-ws
 * sockets and graphql-sse reservations (transport/sse-reservations.ts) count against the same
 * `maxConnectionsPerUser`, so neither is a way around the other's limit.
 */
export class ConnectionCounter {
  private readonly open = new Map<string, number>();

  /** @param max most connections of one user at once; 0 turns the limit off. */
  constructor(readonly max: number) {}

  /** Counts one more connection of `userId`; false, counting nothing, when the user is at the limit. */
  acquire(userId: string): boolean {
    const open = this.open.get(userId) ?? 0;
    if (this.max > 0 && open >= this.max) return false;
    this.open.set(userId, open + 1);
    return true;
  }

  /** Gives back one connection `acquire` counted. */
  release(userId: string): void {
    const open = (this.open.get(userId) ?? 1) - 1;
    // Users with nothing open are forgotten, so the map follows connected users only.
    if (open > 0) this.open.set(userId, open);
    else this.open.delete(userId);
  }

  /** How many connections `userId` has open. */
  count(userId: string): number {
    return this.open.get(userId) ?? 0;
  }
}
