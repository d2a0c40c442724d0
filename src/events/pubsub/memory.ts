import { activeNow, type PubSub } from './types.js';

/** In-process pub/sub: the single-instance default. Delivery is synchronous and in order. */
export function createMemoryPubSub(): PubSub {
  const topics = new Map<string, Set<(payload: unknown) => void>>();
  return {
    async publish(topic, payload) {
      const listeners = topics.get(topic);
      if (!listeners) return;
      // Copy: a listener may unsubscribe (or subscribe another) while we iterate.
      for (const listener of [...listeners]) listener(payload);
    },
    subscribe(topic, listener) {
      let listeners = topics.get(topic);
      if (!listeners) topics.set(topic, (listeners = new Set()));
      listeners.add(listener);
      return activeNow(() => {
        listeners.delete(listener);
        if (listeners.size === 0 && topics.get(topic) === listeners) topics.delete(topic);
      });
    },
    async ping() {
      return true;
    },
    async close() {
      topics.clear();
    },
  };
}
