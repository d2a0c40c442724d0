import { sleep, type Clock } from '../clock.js';
import type { PubSub } from '../events/pubsub/types.js';
import { sessionTopic, type SessionTopicMessage } from '../events/topics.js';
import type { NewSessionEvent, SessionEvent } from '../events/types.js';
import { logError } from '../observability/error-sink.js';
import type { Metrics } from '../observability/metrics.js';
import { FencedError } from '../store/fenced.js';
import type { Store } from '../store/types.js';
import { createCoalescer, type Coalescer } from './coalesce.js';

export interface EventLogOptions {
  store: Store;
  pubsub: PubSub;
  clock: Clock;
  /** @default 50 */
  coalesceWindowMs?: number;
  /** @default 16384 */
  coalesceMaxBytes?: number;
  /** Where failures to persist or publish are reported. @default logged at `error` */
  onError?: (error: unknown) => void;
  /** Counts what is stored (events by type, ended turns and their tokens). @default not counted */
  metrics?: Pick<Metrics, 'appended'>;
}

/**
 * How appends are fenced (Store's class comment): the token each session's appends carry, and
 * what to do when the store refuses one. Set by whoever holds the leases (SessionManager).
 */
export interface Fencing {
  /** The session's current fencing token here; undefined: unfenced. */
  token(sessionId: string): number | undefined;
  /**
   * The store refused an append as fenced: another instance runs the session now. Called
   * once the batch and everything pending of the session have been dropped.
   */
  refused(sessionId: string, error: FencedError): void;
}

interface Committer {
  pending: NewSessionEvent[];
  /** Settles when everything handed over so far is appended and published. */
  drained: Promise<void>;
}

/**
 * The write path of every session event: coalesce → append (seq assigned, state projected,
 * one transaction per batch) → publish. Events of one session are committed strictly in
 * order; while a batch is being written the next one gathers, so a fast stream turns into
 * few, larger transactions instead of a queue of small ones. An append that fails (the
 * database is away) is retried with backoff until it goes through: an outage delays events,
 * it does not lose them. An append the store refuses as fenced (another instance was granted
 * the session) is not: it and everything pending of the session are dropped (see Fencing).
 */
export class EventLog {
  private readonly coalescer: Coalescer;
  private readonly committers = new Map<string, Committer>();
  /** Consecutive failed appends, for the retry backoff. */
  private failures = 0;
  private draining = false;
  private fencing: Fencing | undefined;

  constructor(private readonly options: EventLogOptions) {
    this.coalescer = createCoalescer({
      clock: options.clock,
      windowMs: options.coalesceWindowMs,
      maxBytes: options.coalesceMaxBytes,
      emit: (sessionId, event) => this.commit(sessionId, event),
    });
  }

  /** Fences every append from now on (see Fencing). */
  fenceWith(fencing: Fencing): void {
    this.fencing = fencing;
  }

  /**
   * Drops whatever of the session is not yet on its way to the store: held deltas and
   * gathered batches (a batch being written is left to the store, which refuses it if fenced).
   * For a session this instance no longer runs: nothing more of it is published from here.
   */
  discard(sessionId: string): void {
    // flush hands a held delta to the committer synchronously; it is dropped with the rest.
    this.coalescer.flush(sessionId);
    const committer = this.committers.get(sessionId);
    if (committer) committer.pending = [];
  }

  /** Hands an event over; deltas may be joined with their neighbours first. */
  emit(event: NewSessionEvent): void {
    this.coalescer.push(event.sessionId, event);
  }

  /**
   * `emit` of a TEXT_DELTA given by its fields, for the per-token path: a delta joined into
   * a pending one costs no event object.
   */
  emitDelta(sessionId: string, turnId: string | null, delta: string, at: string): void {
    this.coalescer.pushDelta(sessionId, sessionId, turnId, delta, at);
  }

  /**
   * Emits and waits until the event (and all before it) is stored and published, so that
   * the caller's answer reflects it.
   */
  async emitAndWait(event: NewSessionEvent): Promise<void> {
    this.emit(event);
    await this.settled(event.sessionId);
  }

  /** Resolves once every event of the session emitted so far is stored and published. */
  async settled(sessionId: string): Promise<void> {
    this.coalescer.flush(sessionId);
    await this.committers.get(sessionId)?.drained;
  }

  /**
   * Runs a store write that appends events of the session itself (Store.startTurn), in the
   * session's commit order: after every event emitted before it is stored and published,
   * holding the session's commit slot while it runs (events emitted meanwhile wait behind
   * it). `write` gets the session's fencing token; what `appended` picks out of its result is
   * then published and counted as an ordinary append's events. Not retried: a failure fails
   * the caller (the write is one transaction, so nothing of it was stored); a FencedError is
   * handled as an ordinary append's (everything pending dropped, Fencing.refused), then thrown.
   */
  async write<T>(sessionId: string, write: (token: number | undefined) => Promise<T>, appended: (result: T) => SessionEvent[]): Promise<T> {
    this.coalescer.flush(sessionId);
    // Normally none: the session is idle. Re-checked after each wait: another write may have taken the slot.
    for (let c = this.committers.get(sessionId); c; c = this.committers.get(sessionId)) await c.drained;
    const committer: Committer = { pending: [], drained: Promise.resolve() };
    this.committers.set(sessionId, committer);
    const done = (async () => {
      try {
        const result = await write(this.fencing?.token(sessionId));
        await this.publish(sessionId, appended(result));
        return result;
      } catch (error) {
        if (error instanceof FencedError) {
          this.discard(sessionId);
          this.fencing?.refused(sessionId, error);
        }
        throw error;
      }
    })();
    // Then whatever was emitted meanwhile, as ordinary appends (`run` frees the slot).
    committer.drained = done.then(
      () => this.run(sessionId, committer),
      () => this.run(sessionId, committer),
    );
    return done;
  }

  /** Publishes every pending delta and waits for all sessions' writes. */
  async drain(): Promise<void> {
    this.draining = true;
    this.coalescer.dispose();
    await Promise.all([...this.committers.values()].map((c) => c.drained));
  }

  /**
   * Writes one batch, however long the store is away. A failed append may still have
   * committed (the connection died after COMMIT, before its answer), so before trying again
   * the log's tail is compared with the batch: appending it twice would duplicate events.
   * Returns the stored events, or [] when they are dropped (session deleted meanwhile, or
   * the store is still away after a few tries while the server stops).
   */
  private async append(sessionId: string, batch: NewSessionEvent[]): Promise<SessionEvent[]> {
    const onError = this.options.onError ?? logError;
    // The token as the batch starts out: a retry must not carry a newer grant's token (the
    // batch belongs to the grant it was written under).
    const token = this.fencing?.token(sessionId);
    for (let tries = 0; ; ) {
      try {
        const stored = await this.options.store.appendEvents(sessionId, batch, token);
        this.failures = 0;
        return stored;
      } catch (error) {
        // Refused by the store: never retried (it can only be refused again), never published.
        if (error instanceof FencedError) {
          this.discard(sessionId);
          this.fencing?.refused(sessionId, error);
          return [];
        }
        onError(error);
      }
      for (;;) {
        const outcome = await this.outcomeOf(sessionId, batch);
        if (outcome === 'gone') return [];
        if (Array.isArray(outcome)) return outcome;
        if (this.draining && ++tries >= 3) return [];
        await sleep(this.options.clock, Math.min(2000, 50 * 2 ** Math.min(this.failures++, 6)));
        if (outcome === 'absent') break;
        // 'unknown': the store cannot tell yet; appending again could duplicate the batch.
      }
    }
  }

  /** After a failed append: the stored events if it committed after all, else why not. */
  private async outcomeOf(sessionId: string, batch: NewSessionEvent[]): Promise<SessionEvent[] | 'absent' | 'gone' | 'unknown'> {
    try {
      const session = await this.options.store.getSession(sessionId);
      if (!session) return 'gone';
      const tail = await this.options.store.readEvents(sessionId, Math.max(0, session.lastSeq - batch.length), batch.length);
      const committed = tail.length === batch.length && tail.every((event, i) => sameEvent(event, batch[i]!));
      return committed ? tail : 'absent';
    } catch {
      return 'unknown';
    }
  }

  private commit(sessionId: string, event: NewSessionEvent) {
    const existing = this.committers.get(sessionId);
    if (existing) {
      existing.pending.push(event);
      return;
    }
    const committer: Committer = { pending: [event], drained: Promise.resolve() };
    this.committers.set(sessionId, committer);
    committer.drained = this.run(sessionId, committer);
  }

  private async run(sessionId: string, committer: Committer) {
    // Yield once so that events emitted in the same tick land in the same batch.
    await Promise.resolve();
    try {
      while (committer.pending.length > 0) {
        const batch = committer.pending;
        committer.pending = [];
        await this.publish(sessionId, await this.append(sessionId, batch));
      }
    } finally {
      this.committers.delete(sessionId);
    }
  }

  /** Counts and publishes what was stored. */
  private async publish(sessionId: string, stored: SessionEvent[]) {
    if (stored.length === 0) return;
    this.options.metrics?.appended(stored);
    const message: SessionTopicMessage = { kind: 'events', events: stored };
    // Publishing only wakes readers: a failure here is recovered by their store reads.
    await this.options.pubsub.publish(sessionTopic(sessionId), message).catch(this.options.onError ?? logError);
  }
}

/** The same event, seq aside, whatever order a store (PostgreSQL JSONB) gives object keys. */
function sameEvent(stored: SessionEvent, written: NewSessionEvent): boolean {
  const { seq: _seq, ...rest } = stored;
  return canonical(rest) === canonical(written);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
