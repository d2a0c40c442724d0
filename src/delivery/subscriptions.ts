import { setTimeoutAt, type Clock } from '../clock.js';
import { badInput, SwitchboardError } from '../errors.js';
import type { PubSub } from '../events/pubsub/types.js';
import { defaultLimits } from '../limits.js';
import type { Store } from '../store/types.js';
import { SessionCursor } from './cursor.js';

export interface SubscriptionsOptions {
  store: Store;
  pubsub: PubSub;
  /** Times the streams' ends (`endAt`). */
  clock: Clock;
  /**
   * Most event streams open at once per limit key (transport/limit-key.ts); more are refused
   * with RATE_LIMITED; 0 turns it off.
   * @default defaultLimits.maxSubscriptionsPerUser (5000)
   */
  maxPerUser?: number;
  /**
   * Aborted when the server stops: every open stream then delivers what is stored and
   * completes. One listener for all of them.
   * @default never
   */
  shutdown?: AbortSignal;
}

/** What `open` takes. */
export interface OpenStream {
  sessionId: string;
  /** Deliver events with seq > after (see `checkAfter`); undefined: live events only. */
  after: number | undefined;
  /** Whom the stream counts against for `maxPerUser`: the user, or the address without auth. */
  limitKey: string;
  /**
   * When the stream finishes (ms since the epoch; the caller's token expiry), as on a server
   * stop: what is stored by then is delivered, then it completes. @default never
   */
  endAt?: number | null;
}

/** A subscription's `after`, checked: 0 or more, or none. */
export function checkAfter(after: number | null | undefined): number | undefined {
  if (after != null && (!Number.isInteger(after) || after < 0)) throw badInput('after must be 0 or more.');
  return after ?? undefined;
}

/**
 * The open session event streams of this process: opened here (one cursor each), counted per
 * limit key, ended at their `endAt` or at shutdown. Who may watch a session is not decided
 * here: the caller checks that before opening.
 */
export class Subscriptions {
  private readonly streams = new Set<SessionCursor>();
  /** Open streams per limit key (the user, or the address without auth). */
  private readonly perKey = new Map<string, number>();
  private readonly maxPerUser: number;

  constructor(private readonly options: SubscriptionsOptions) {
    this.maxPerUser = options.maxPerUser ?? defaultLimits.maxSubscriptionsPerUser;
    // One listener for every stream rather than one each: thousands of idle subscriptions
    // each holding a listener and its closure is memory for nothing.
    options.shutdown?.addEventListener(
      'abort',
      () => {
        for (const stream of this.streams) stream.finish();
      },
      { once: true },
    );
  }

  /**
   * The session's events as a stream: every stored event with seq > after, then live ones.
   * RATE_LIMITED past `maxPerUser` open streams of the limit key.
   */
  open({ sessionId, after, limitKey, endAt }: OpenStream): SessionCursor {
    const open = this.perKey.get(limitKey) ?? 0;
    if (this.maxPerUser > 0 && open >= this.maxPerUser) {
      throw new SwitchboardError('RATE_LIMITED', `At most ${this.maxPerUser} open subscriptions per user.`);
    }
    this.perKey.set(limitKey, open + 1);
    let cancelEnd: (() => void) | undefined;
    const cursor: SessionCursor = new SessionCursor({
      store: this.options.store,
      pubsub: this.options.pubsub,
      sessionId,
      after,
      onClose: () => {
        cancelEnd?.();
        this.streams.delete(cursor);
        const left = (this.perKey.get(limitKey) ?? 1) - 1;
        if (left > 0) this.perKey.set(limitKey, left);
        else this.perKey.delete(limitKey);
      },
    });
    this.streams.add(cursor); // until it closes (onClose)
    if (this.options.shutdown?.aborted) cursor.finish();
    // One timer per expiring stream, not a check per event: delivery stays as cheap as it was.
    if (endAt != null) cancelEnd = setTimeoutAt(this.options.clock, endAt, () => cursor.finish());
    return cursor;
  }

  /** Settles when every open stream has completed (they finish once the shutdown aborts). */
  async closed(): Promise<void> {
    await Promise.all([...this.streams].map((s) => s.closed));
  }
}
