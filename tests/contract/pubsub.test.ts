import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryPubSub } from '../../src/events/pubsub/memory.js';
import type { PubSub } from '../../src/events/pubsub/types.js';
import { uniqueId } from '../utils/events.js';
import { createQueue, type AwaitableQueue } from '../utils/queue.js';

/**
 * The PubSub contract, run against every backend. Delivery may be asynchronous (Redis), so
 * listeners feed awaitable queues, and "nothing was delivered" is asserted once a later
 * message to a listener that does get it has arrived: a sentinel. Topics are fresh per test,
 * since a backend may be shared with other tests and instances.
 */
const backends: Array<[name: string, make: () => PubSub | Promise<PubSub>]> = [['memory', createMemoryPubSub]];

for (const [name, make] of backends) describePubSub(name, make);

function describePubSub(name: string, make: () => PubSub | Promise<PubSub>) {
  describe(`PubSub contract: ${name}`, () => {
    let pubsub: PubSub;
    /** Every subscription made, undone after the suite so a shared backend is left clean. */
    let unsubscribes: Array<() => void>;

    beforeAll(async () => {
      pubsub = await make();
      unsubscribes = [];
    });
    afterAll(async () => {
      for (const unsubscribe of unsubscribes) unsubscribe();
      await pubsub?.close();
    });

    /** Subscribes a listener that records every payload it gets. */
    function listen(topic: string): AwaitableQueue<unknown> & { unsubscribe: () => void } {
      const queue = createQueue<unknown>();
      const unsubscribe = pubsub.subscribe(topic, (payload) => queue.push(payload));
      unsubscribes.push(unsubscribe);
      return Object.assign(queue, { unsubscribe });
    }

    const takeN = async (queue: AwaitableQueue<unknown>, n: number) => {
      const values: unknown[] = [];
      for (let i = 0; i < n; i++) values.push(await queue.next());
      return values;
    };

    it('answers ping', async () => {
      expect(await pubsub.ping()).toBe(true);
    });

    it('delivers every message of a topic, in order, to every listener of it', async () => {
      const topic = uniqueId('topic');
      const a = listen(topic);
      const b = listen(topic);
      const sent = Array.from({ length: 50 }, (_, i) => ({ n: i }));
      for (const payload of sent) await pubsub.publish(topic, payload);

      expect(await takeN(a, 50)).toEqual(sent);
      expect(await takeN(b, 50)).toEqual(sent);
    });

    it('keeps order when publishes are not awaited one by one', async () => {
      const topic = uniqueId('topic');
      const a = listen(topic);
      const sent = Array.from({ length: 50 }, (_, i) => i);
      await Promise.all(sent.map((n) => pubsub.publish(topic, n)));
      expect(await takeN(a, 50)).toEqual(sent);
    });

    it('delivers a message published right after subscribe returns', async () => {
      // A cursor subscribes, then reads the store: an event published in between must wake it.
      const topic = uniqueId('topic');
      const a = listen(topic);
      await pubsub.publish(topic, 'first');
      expect(await a.next()).toBe('first');
    });

    it('delivers nothing of other topics', async () => {
      const mine = uniqueId('topic');
      const other = uniqueId('topic');
      const a = listen(mine);
      const b = listen(other);
      await pubsub.publish(other, 'for b');
      await pubsub.publish(mine, 'for a');
      expect(await b.next()).toBe('for b');
      expect(await a.next()).toBe('for a');
      expect(a.all).toEqual(['for a']);
      expect(b.all).toEqual(['for b']);
    });

    it('publishing to a topic without listeners is fine', async () => {
      await expect(pubsub.publish(uniqueId('topic'), { nobody: 'listens' })).resolves.toBeUndefined();
    });

    it('stops delivering to a listener once it unsubscribes', async () => {
      const topic = uniqueId('topic');
      const gone = listen(topic);
      const sentinel = listen(topic);
      await pubsub.publish(topic, 1);
      expect(await gone.next()).toBe(1);
      expect(await sentinel.next()).toBe(1);

      gone.unsubscribe();
      gone.unsubscribe(); // twice is harmless
      await pubsub.publish(topic, 2);
      expect(await sentinel.next()).toBe(2);
      expect(gone.all).toEqual([1]);
    });

    it('delivers again to a topic whose last listener left and a new one came', async () => {
      const topic = uniqueId('topic');
      const first = listen(topic);
      first.unsubscribe();
      const second = listen(topic);
      await pubsub.publish(topic, 'again');
      expect(await second.next()).toBe('again');
      expect(first.all).toEqual([]);
    });

    it('is safe to unsubscribe during delivery, itself or another listener', async () => {
      const topic = uniqueId('topic');
      const got: string[] = [];
      // `self` leaves on its first message; `killer` removes `victim` on its first message.
      const unsubscribeSelf = pubsub.subscribe(topic, (payload) => {
        got.push(`self:${payload}`);
        unsubscribeSelf();
      });
      let unsubscribeVictim = () => {};
      const unsubscribeKiller = pubsub.subscribe(topic, (payload) => {
        got.push(`killer:${payload}`);
        unsubscribeVictim();
      });
      unsubscribeVictim = pubsub.subscribe(topic, (payload) => got.push(`victim:${payload}`));
      unsubscribes.push(unsubscribeSelf, unsubscribeKiller, unsubscribeVictim);
      const sentinel = listen(topic);

      await pubsub.publish(topic, 'one');
      await pubsub.publish(topic, 'two');
      expect(await takeN(sentinel, 2)).toEqual(['one', 'two']);

      expect(got.filter((g) => g.startsWith('self:'))).toEqual(['self:one']);
      expect(got.filter((g) => g.startsWith('killer:'))).toEqual(['killer:one', 'killer:two']);
      // Whether the victim hears the message being delivered when it is removed is up to the
      // backend; it never hears a later one.
      expect(got.filter((g) => g.startsWith('victim:'))).not.toContain('victim:two');
    });

    it('round-trips JSON-safe payloads', async () => {
      const topic = uniqueId('topic');
      const a = listen(topic);
      const payloads: unknown[] = [
        {
          kind: 'events',
          events: [
            { sessionId: 's1', seq: 1, turnId: null, at: '2024-01-01T00:00:00.000Z', type: 'TEXT_DELTA', delta: 'Hé 😀\n"q"' },
            { nested: { list: [1, 2.5, -3, true, false, null], empty: {}, none: [] } },
          ],
        },
        { kind: 'deleted' },
        'a string',
        42,
        true,
        null,
        [1, 'two', { three: 3 }],
      ];
      for (const payload of payloads) await pubsub.publish(topic, payload);
      expect(await takeN(a, payloads.length)).toEqual(payloads);
    });
  });
}
