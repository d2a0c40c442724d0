import type { Clock } from '../clock.js';
import { SwitchboardError, type ErrorCode } from '../errors.js';
import type { PubSub, Unsubscribe } from '../events/pubsub/types.js';
import { newId } from './ids.js';

/** A command for the instance that runs a session's turns; see SessionManager. */
export type SessionCommand =
  | { op: 'sendMessage'; userId: string; input: unknown }
  | { op: 'cancelTurn'; userId: string; sessionId: string }
  | { op: 'respondToPermission'; userId: string; input: unknown }
  | { op: 'delete'; userId: string; sessionId: string };

type ClusterMessage =
  | { kind: 'request'; id: string; from: string; command: SessionCommand }
  | { kind: 'reply'; id: string; ok: true; value: unknown }
  | { kind: 'reply'; id: string; ok: false; code: ErrorCode | 'NOT_HOLDER' | 'INTERNAL'; message: string };

/** The addressed instance no longer runs the session (its lease moved on); ask again. */
export class NotHolderError extends Error {
  override name = 'NotHolderError';
}

/** The addressed instance did not answer in time: it may be gone. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

export interface ClusterOptions {
  pubsub: PubSub;
  clock: Clock;
  /** This instance's id: the topic it listens on is `instance:<id>`. */
  instanceId: string;
  /** Runs a command addressed to this instance. Throw NotHolderError when it is not ours. */
  handle: (command: SessionCommand) => Promise<unknown>;
  /** How long `call` waits for an answer. @default 5000 */
  timeoutMs?: number;
  onError: (error: unknown) => void;
}

const instanceTopic = (id: string) => `instance:${id}`;

/**
 * Request/reply between instances over the pub/sub: how a mutation that reaches instance B
 * acts on a session whose turns run on instance A. Each instance listens on a topic of its
 * own; a reply goes back to the asker's topic. Domain errors travel with their code.
 */
export class Cluster {
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private unsubscribe: Unsubscribe | null = null;

  constructor(private readonly options: ClusterOptions) {}

  async start(): Promise<void> {
    this.unsubscribe = this.options.pubsub.subscribe(instanceTopic(this.options.instanceId), (payload) =>
      this.onMessage(payload as ClusterMessage),
    );
    await this.unsubscribe.ready;
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const { reject } of this.pending.values()) reject(new UnreachableError('stopping'));
    this.pending.clear();
  }

  /** Sends a command to another instance and waits for its answer. */
  call(instanceId: string, command: SessionCommand): Promise<unknown> {
    const id = newId();
    const { clock } = this.options;
    return new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new UnreachableError(`instance ${instanceId} did not answer`));
      }, this.options.timeoutMs ?? 5000);
      this.pending.set(id, {
        resolve: (value) => {
          clock.clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clock.clearTimeout(timer);
          reject(error);
        },
      });
      const message: ClusterMessage = { kind: 'request', id, from: this.options.instanceId, command };
      this.options.pubsub.publish(instanceTopic(instanceId), message).catch((error: unknown) => {
        this.pending.get(id)?.reject(new UnreachableError('cannot reach the pub/sub', { cause: error }));
        this.pending.delete(id);
      });
    });
  }

  private onMessage(message: ClusterMessage | { kind: 'resync' }) {
    if (message.kind === 'request') void this.answer(message);
    else if (message.kind === 'reply') {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else if (message.code === 'NOT_HOLDER') waiter.reject(new NotHolderError(message.message));
      else if (message.code === 'INTERNAL') waiter.reject(new Error(message.message));
      else waiter.reject(new SwitchboardError(message.code, message.message));
    }
    // A resync: requests lost in an outage time out on the asking side and are retried.
  }

  private async answer(request: Extract<ClusterMessage, { kind: 'request' }>) {
    let reply: ClusterMessage;
    try {
      reply = { kind: 'reply', id: request.id, ok: true, value: await this.options.handle(request.command) };
    } catch (error) {
      if (error instanceof SwitchboardError) {
        reply = { kind: 'reply', id: request.id, ok: false, code: error.code, message: error.message };
      } else if (error instanceof NotHolderError) {
        reply = { kind: 'reply', id: request.id, ok: false, code: 'NOT_HOLDER', message: error.message };
      } else {
        this.options.onError(error);
        reply = { kind: 'reply', id: request.id, ok: false, code: 'INTERNAL', message: 'internal error' };
      }
    }
    await this.options.pubsub.publish(instanceTopic(request.from), reply).catch(this.options.onError);
  }
}
