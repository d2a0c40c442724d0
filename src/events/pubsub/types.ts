/**
 * Fan-out of messages to the listeners of a topic, within one process (memory) or across
 * instances (Redis). It only wakes and feeds subscription cursors: the store stays the
 * source of truth, so a lost or late message costs a store read, never an event.
 */
export interface PubSub {
  /** Delivers to every listener of the topic, on every instance; payload must be JSON-safe. */
  publish(topic: string, payload: unknown): Promise<void>;
  /**
   * Listens until the returned function is called. Listeners must not throw. After an outage
   * in which messages may have been lost (a Redis reconnect), every listener receives
   * `PUBSUB_RESYNC`: whatever it keeps in step with the store, it should read again.
   */
  subscribe(topic: string, listener: (payload: unknown) => void): Unsubscribe;
  /** True when the backing transport answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Stops a listener; `ready` settles once messages published from then on reach it. */
export type Unsubscribe = (() => void) & { readonly ready: Promise<void> };

/** Delivered to every listener after messages may have been lost; see `PubSub.subscribe`. */
export const PUBSUB_RESYNC = Object.freeze({ kind: 'resync' as const });

/** An Unsubscribe whose listener is active at once (in-process delivery). */
export const activeNow = (unsubscribe: () => void): Unsubscribe =>
  Object.assign(unsubscribe, { ready: Promise.resolve() });
