import { PUBSUB_RESYNC, type PubSub } from './pubsub/types.js';

export interface TopicStreamOptions<T = unknown> {
  pubsub: PubSub;
  topic: string;
  /**
   * Messages held for a reader that is behind; past this the oldest are dropped. Only for
   * topics whose messages each carry the whole state (like configChanged), where the newest
   * is what matters.
   * @default 64
   */
  maxBuffered?: number;
  /** Completes the stream (server stop). */
  signal?: AbortSignal;
  /**
   * After an outage in which messages may have been lost (PUBSUB_RESYNC): what to deliver in
   * their place, if anything, e.g. the state as it is now when it differs from the last one.
   * @default nothing is delivered
   */
  onResync?: () => Promise<T | undefined>;
}

/**
 * Live messages of one topic as an async iterator that can be returned from at any time,
 * even while it waits (an async generator could not be, until its next message).
 */
export function topicStream<T>({ pubsub, topic, maxBuffered = 64, signal, onResync }: TopicStreamOptions<T>): AsyncIterableIterator<T> {
  const buffer: T[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  const push = (message: T) => {
    if (closed) return;
    buffer.push(message);
    if (buffer.length > maxBuffered) buffer.shift();
    wake?.();
  };
  const unsubscribe = pubsub.subscribe(topic, (payload) => {
    if (payload !== PUBSUB_RESYNC) return push(payload as T);
    void onResync?.().then(
      (message) => message !== undefined && push(message),
      () => {}, // the next resync or message brings it
    );
  });
  const close = (): IteratorReturnResult<undefined> => {
    if (!closed) {
      closed = true;
      unsubscribe();
      signal?.removeEventListener('abort', close);
      buffer.length = 0;
      wake?.();
    }
    return { done: true, value: undefined };
  };
  signal?.addEventListener('abort', close, { once: true });
  if (signal?.aborted) close();

  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      while (!closed && buffer.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      if (closed) return { done: true, value: undefined };
      return { done: false, value: buffer.shift()! };
    },
    async return() {
      return close();
    },
  };
}
