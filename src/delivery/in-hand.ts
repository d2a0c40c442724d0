/**
 * What a stream can offer besides `next()`, for a reader that delivers as soon as an item is
 * published (the WebSocket path). Per item `next()` costs a few promises and microtask hops;
 * for a session event fanned out to thousands of subscribers that is most of the work. Here a
 * publish calls each waiting reader back synchronously, and the reader takes what is in hand
 * in the same turn, the way a plain `ws` server would write it.
 */
export interface InHandStream<T> {
  /**
   * The next item, if it can be had without waiting or I/O; otherwise undefined, and `next()`
   * (which reads or waits) is the way on. Never an item `next()` would not have yielded.
   */
  takeInHand(): T | undefined;
  /**
   * When nothing is in hand and `next()` would only wait: calls `ready` once, synchronously,
   * when that may have changed (a message, an abort, a close) and returns true. Returns false
   * when `next()` has work to do (a store read, the end): call it instead.
   */
  whenReady(ready: () => void): boolean;
}

export function isInHandStream<T>(stream: object): stream is InHandStream<T> {
  return typeof (stream as Partial<InHandStream<T>>).takeInHand === 'function';
}
