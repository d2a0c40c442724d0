import { createMemoryPubSub } from '../../src/events/pubsub/memory.js';
import type { PubSub } from '../../src/events/pubsub/types.js';

/**
 * The in-memory pub/sub, counting listeners per topic, so a test can wait until the server
 * has set up a subscription (graphql-ws has no "subscribed" acknowledgement) instead of sleeping.
 */
export function observedPubSub() {
  const inner = createMemoryPubSub();
  const counts = new Map<string, number>();
  const waiters = new Set<() => void>();
  const pubsub: PubSub = {
    ...inner,
    publish: (topic, payload) => inner.publish(topic, payload),
    subscribe(topic, listener) {
      counts.set(topic, (counts.get(topic) ?? 0) + 1);
      for (const wake of [...waiters]) wake();
      const unsubscribe = inner.subscribe(topic, listener);
      return Object.assign(
        () => {
          counts.set(topic, (counts.get(topic) ?? 1) - 1);
          unsubscribe();
        },
        { ready: unsubscribe.ready },
      );
    },
  };
  return {
    pubsub,
    /** Resolves once the topic has at least `n` listeners. */
    listeners(topic: string, n: number, timeoutMs = 5000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if ((counts.get(topic) ?? 0) >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${n} listeners of ${topic}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
