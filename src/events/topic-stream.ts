import { PUBSUB_RESYNC, type PubSub } from './pubsub/types.js';

export interface TopicStreamOptions {
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
}

/**
 * Live messages of one topic as an async iterator that can be returned from at any time,
 * even while it waits (an async generator could not be, until its next message).
 */
export function topicStream<T>({ pubsub, topic, maxBuffered = 64, signal }: TopicStreamOptions): AsyncIterableIterator<T> {
  const buffer: T[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  const unsubscribe = pubsub.subscribe(topic, (payload) => {
    // Each message carries a whole state, so nothing needs reading again after an outage.
    if (payload === PUBSUB_RESYNC) return;
    buffer.push(payload as T);
    if (buffer.length > maxBuffered) buffer.shift();
    wake?.();
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
