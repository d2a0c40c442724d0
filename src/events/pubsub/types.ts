/**
 * Fan-out of messages to the listeners of a topic, within one process (memory) or across
 * instances (Redis). It only wakes and feeds subscription cursors: the store stays the
 * source of truth, so a lost or late message costs a store read, never an event.
 */
export interface PubSub {
  /** Delivers to every listener of the topic, on every instance; payload must be JSON-safe. */
  publish(topic: string, payload: unknown): Promise<void>;
  /** Listens until the returned function is called. Listeners must not throw. */
  subscribe(topic: string, listener: (payload: unknown) => void): () => void;
  /** True when the backing transport answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
