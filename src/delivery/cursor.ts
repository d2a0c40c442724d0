import type { Store } from '../store/types.js';
import type { InHandStream } from './in-hand.js';
import type { PubSub, Unsubscribe } from '../events/pubsub/types.js';
import { sessionTopic, type SessionTopicMessage } from '../events/topics.js';
import type { SessionEvent } from '../events/types.js';

export interface CursorOptions {
  store: Store;
  pubsub: PubSub;
  sessionId: string;
  /** Deliver events with seq > after; undefined: only events newer than the session's lastSeq now. */
  after?: number;
  /**
   * Live events held for a reader that is behind. Past this the held events are dropped and
   * the cursor reads them back from the store when the reader catches up, so a reader that
   * stops reading costs bounded memory and loses nothing.
   * @default 1024
   */
  maxBuffered?: number;
  /** Events read from the store at a time. @default 500 */
  pageSize?: number;
  /**
   * Finishes the stream (server stop): what is stored by then is still delivered, then it
   * completes. (`finish()` does the same; a server with thousands of cursors calls that from
   * one listener of its own rather than giving each cursor a listener.)
   */
  signal?: AbortSignal;
  /** Called once when the stream has closed, whichever way. */
  onClose?: () => void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A subscription as a cursor into its session's log. The pub/sub only wakes it up and
 * carries recent events so that a reader keeping pace never touches the store; whenever the
 * next seq is not in hand (replay, a gap, an overflow), it reads the store. Replay and live
 * are one loop: no gap and no duplicate can come out of it, by construction.
 *
 * Written as an explicit iterator rather than an async generator, because a generator
 * suspended on an await cannot be returned from: a client unsubscribing from a quiet
 * session would keep its listener until the next event.
 */
export class SessionCursor implements AsyncIterableIterator<SessionEvent>, InHandStream<SessionEvent> {
  private cursor = 0;
  private live: SessionEvent[] = [];
  private page: SessionEvent[] = [];
  private mustRead: boolean;
  private overflowed = false;
  /** Deleted session or server stop: deliver what is in hand and stored, then complete. */
  private finishing = false;
  private isClosed = false;
  private started = false;
  /** A message or an abort arrived since the last store read began (it may not have seen it). */
  private signalled = false;
  private wake: (() => void) | null = null;
  private readonly unsubscribe: Unsubscribe;
  /** Made when first asked for: most streams are never awaited, and each would cost a promise and a closure. */
  private closedPromise: Promise<void> | null = null;
  private markClosed: (() => void) | null = null;
  private readonly maxBuffered: number;
  private readonly pageSize: number;

  constructor(private readonly options: CursorOptions) {
    this.maxBuffered = options.maxBuffered ?? 1024;
    this.pageSize = options.pageSize ?? 500;
    this.mustRead = options.after !== undefined;
    if (options.after !== undefined) this.cursor = options.after;
    // Listen before reading anything, so nothing published meanwhile is missed.
    this.unsubscribe = options.pubsub.subscribe(sessionTopic(options.sessionId), (payload) =>
      this.onMessage(payload as SessionTopicMessage),
    );
    if (options.signal?.aborted) this.finishing = true;
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Settles when the stream has closed, whichever way. */
  get closed(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return (this.closedPromise ??= new Promise<void>((resolve) => (this.markClosed = resolve)));
  }

  /**
   * Finishes the stream (server stop), as an abort of `signal` does: what is stored by now is
   * still delivered, then it completes.
   */
  finish(): void {
    if (this.isClosed) return;
    this.signalled = true;
    this.finishing = true;
    this.wake?.();
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  async next(): Promise<IteratorResult<SessionEvent>> {
    try {
      if (!this.started) {
        this.started = true;
        // Nothing published from here on may be missed: a store read must come after this.
        await this.unsubscribe.ready;
        if (this.options.after === undefined) {
          const session = await this.options.store.getSession(this.options.sessionId);
          this.cursor = session?.lastSeq ?? 0;
        }
      }
      for (;;) {
        if (this.isClosed) return DONE;
        const event = this.take();
        if (event) return { done: false, value: event };
        if (this.mustRead || this.overflowed || this.live.length > 0 || this.finishing) {
          // Replay, or the next live event is not the next seq: the store has it.
          const finishing = this.finishing;
          this.overflowed = false;
          this.signalled = false;
          this.page = await this.options.store.readEvents(this.options.sessionId, this.cursor, this.pageSize);
          this.mustRead = this.page.length === this.pageSize;
          if (this.page.length > 0) continue;
          // Only a read begun after the finish was asked for has seen everything stored by then.
          if (finishing) return this.close();
          // Whatever was published during the read has already rung a wake-up nobody heard.
          if (this.signalled) continue;
        }
        // Wait for a message or an abort, then start over. Not awaited here: an idle
        // subscription (the common case, thousands of them) then holds a pending promise,
        // not a suspended async frame.
        return new Promise((resolve) => {
          this.wake = () => {
            this.wake = null;
            resolve(this.next());
          };
        });
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  async return(): Promise<IteratorResult<SessionEvent>> {
    return this.close();
  }

  /** Whether next() has work to do first (start, a store read, the end): the in-hand path steps aside. */
  private get nextFirst(): boolean {
    return !this.started || this.isClosed || this.mustRead || this.overflowed || this.finishing;
  }

  takeInHand(): SessionEvent | undefined {
    return this.nextFirst ? undefined : this.take();
  }

  whenReady(ready: () => void): boolean {
    // Events held but not the next seq (a gap): next() reads the store.
    if (this.nextFirst || this.live.length > 0) return false;
    this.wake = () => {
      this.wake = null;
      ready();
    };
    return true;
  }

  async throw(error?: unknown): Promise<IteratorResult<SessionEvent>> {
    this.close();
    throw error;
  }

  /** The next event in seq order if it is in hand; drops anything already delivered. */
  private take(): SessionEvent | undefined {
    return this.takeFrom(this.page) ?? this.takeFrom(this.live);
  }

  private takeFrom(source: SessionEvent[]): SessionEvent | undefined {
    while (source.length > 0 && source[0]!.seq <= this.cursor) source.shift();
    const head = source[0];
    if (!head || head.seq !== this.cursor + 1) return undefined;
    source.shift();
    this.cursor = head.seq;
    return head;
  }

  private onMessage(message: SessionTopicMessage) {
    this.signalled = true;
    if (message.kind === 'deleted') {
      this.finishing = true;
    } else if (message.kind === 'resync') {
      this.mustRead = true;
    } else if (this.live.length + message.events.length > this.maxBuffered) {
      this.live = [];
      this.overflowed = true;
    } else {
      for (const e of message.events) this.live.push(e);
    }
    this.wake?.();
  }

  /** Made only for a cursor given a `signal`. */
  private get onAbort(): () => void {
    return (this.abortListener ??= () => this.finish());
  }
  private abortListener: (() => void) | null = null;

  private close(): IteratorReturnResult<undefined> {
    if (!this.isClosed) {
      this.isClosed = true;
      this.unsubscribe();
      if (this.abortListener) this.options.signal?.removeEventListener('abort', this.abortListener);
      this.live = [];
      this.page = [];
      this.wake?.();
      this.markClosed?.();
      this.options.onClose?.();
    }
    return DONE;
  }
}
