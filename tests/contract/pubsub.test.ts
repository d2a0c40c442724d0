import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createMemoryPubSub } from '../../src/events/pubsub/memory.js';
import { createRedisPubSub, type RedisPubSubOptions } from '../../src/events/pubsub/redis.js';
import { PUBSUB_RESYNC, type PubSub, type Unsubscribe } from '../../src/events/pubsub/types.js';
import { logError } from '../../src/observability/error-sink.js';
import { uniqueId } from '../utils/events.js';
import { createQueue, type AwaitableQueue } from '../utils/queue.js';
import { REDIS_URL, requireRedis, requireRedisServer, startRedis } from '../utils/redis.js';
import { waitUntil } from '../utils/wait.js';
import { describeWithService, type ServiceRequirement } from '../utils/services.js';

/**
 * The PubSub contract, run against every backend. Delivery may be asynchronous (Redis), so
 * listeners feed awaitable queues, and "nothing was delivered" is asserted once a later
 * message to a listener that does get it has arrived: a sentinel. A listener is awaited
 * `ready` before anything is published to it, as the cursor does. Topics are fresh per test,
 * since a backend may be shared with other tests and instances.
 */
interface Backend {
  name: string;
  make: () => PubSub | Promise<PubSub>;
  /** A server the backend needs: its suite skips (outside CI) or fails (in CI) without it. */
  requirement?: ServiceRequirement;
}

const redis = await requireRedis();
/** One prefix per run: instances of a run share it, parallel runs and files never meet. */
const keyPrefix = `${uniqueId('switchboard-test')}:`;

const backends: Backend[] = [
  { name: 'memory', make: createMemoryPubSub },
  { name: 'redis', requirement: redis, make: () => connectRedis({ url: REDIS_URL, keyPrefix, onError: logError }) },
];

for (const backend of backends) describePubSub(backend);

/** A Redis pub/sub whose connections are both up (ping true), so a test starts from a working state. */
async function connectRedis(options: RedisPubSubOptions): Promise<PubSub> {
  const pubsub = createRedisPubSub(options);
  try {
    await waitUntil(() => pubsub.ping(), `Redis pub/sub at ${options.url} answers ping`);
  } catch (error) {
    await pubsub.close();
    throw error;
  }
  return pubsub;
}

/** Subscribes a listener that records every payload it gets; resolves once it is ready. */
async function listenOn(pubsub: PubSub, topic: string): Promise<AwaitableQueue<unknown> & { unsubscribe: Unsubscribe }> {
  const queue = createQueue<unknown>();
  const unsubscribe = pubsub.subscribe(topic, (payload) => queue.push(payload));
  await unsubscribe.ready;
  return Object.assign(queue, { unsubscribe });
}

const takeN = async (queue: AwaitableQueue<unknown>, n: number) => {
  const values: unknown[] = [];
  for (let i = 0; i < n; i++) values.push(await queue.next());
  return values;
};

function describePubSub({ name, make, requirement }: Backend) {
  const suite = () => {
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

    /** Subscribes a listener that records every payload it gets; resolves once it is ready. */
    async function listen(topic: string) {
      const listener = await listenOn(pubsub, topic);
      unsubscribes.push(listener.unsubscribe);
      return listener;
    }

    it('answers ping', async () => {
      expect(await pubsub.ping()).toBe(true);
    });

    it('delivers every message of a topic, in order, to every listener of it', async () => {
      const topic = uniqueId('topic');
      const a = await listen(topic);
      const b = await listen(topic);
      const sent = Array.from({ length: 50 }, (_, i) => ({ n: i }));
      for (const payload of sent) await pubsub.publish(topic, payload);

      expect(await takeN(a, 50)).toEqual(sent);
      expect(await takeN(b, 50)).toEqual(sent);
    });

    it('keeps order when publishes are not awaited one by one', async () => {
      const topic = uniqueId('topic');
      const a = await listen(topic);
      const sent = Array.from({ length: 50 }, (_, i) => i);
      await Promise.all(sent.map((n) => pubsub.publish(topic, n)));
      expect(await takeN(a, 50)).toEqual(sent);
    });

    it('delivers a message published right after ready resolves', async () => {
      // A cursor subscribes, awaits ready, then reads the store: an event published after its
      // read began must wake it.
      const topic = uniqueId('topic');
      const a = await listen(topic);
      await pubsub.publish(topic, 'first');
      expect(await a.next()).toBe('first');
    });

    it('makes a second listener of a topic ready, and feeds both', async () => {
      const topic = uniqueId('topic');
      const a = await listen(topic);
      const b = await listen(topic);
      await pubsub.publish(topic, 'both');
      expect(await a.next()).toBe('both');
      expect(await b.next()).toBe('both');
    });

    it('is safe to unsubscribe before ready: ready settles, nothing is heard, the topic still works', async () => {
      const topic = uniqueId('topic');
      const heard: unknown[] = [];
      const early = pubsub.subscribe(topic, (payload) => heard.push(payload));
      early();
      await early.ready;
      const later = await listen(topic);
      await pubsub.publish(topic, 'after');
      expect(await later.next()).toBe('after');
      expect(heard).toEqual([]);
    });

    it('delivers nothing of other topics', async () => {
      const mine = uniqueId('topic');
      const other = uniqueId('topic');
      const a = await listen(mine);
      const b = await listen(other);
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
      const gone = await listen(topic);
      const sentinel = await listen(topic);
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
      const first = await listen(topic);
      first.unsubscribe();
      const second = await listen(topic);
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
      const victim = pubsub.subscribe(topic, (payload) => got.push(`victim:${payload}`));
      unsubscribeVictim = victim;
      unsubscribes.push(unsubscribeSelf, unsubscribeKiller, victim);
      await Promise.all([unsubscribeSelf.ready, unsubscribeKiller.ready, victim.ready]);
      const sentinel = await listen(topic);

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
      const a = await listen(topic);
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
  };
  const title = `PubSub contract: ${name}`;
  if (requirement) describeWithService(requirement, title, suite);
  else describe(title, suite);
}

/** Two PubSub instances on one Redis, as two server instances behind a load balancer. */
describeWithService(redis, 'PubSub redis: several instances', () => {
  let a: PubSub;
  let b: PubSub;
  const unsubscribes: Array<() => void> = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([connectRedis({ url: REDIS_URL, keyPrefix, onError: logError }), connectRedis({ url: REDIS_URL, keyPrefix, onError: logError })]);
  });
  afterAll(async () => {
    for (const unsubscribe of unsubscribes) unsubscribe();
    await Promise.all([a?.close(), b?.close()]);
  });

  const listen = async (pubsub: PubSub, topic: string) => {
    const listener = await listenOn(pubsub, topic);
    unsubscribes.push(listener.unsubscribe);
    return listener;
  };

  it('delivers a message published on one instance to the listeners of every instance, in order', async () => {
    const topic = uniqueId('topic');
    const onA = await listen(a, topic);
    const onB1 = await listen(b, topic);
    const onB2 = await listen(b, topic);
    await a.publish(topic, 'from a');
    await b.publish(topic, 'from b');
    for (const queue of [onA, onB1, onB2]) expect(await takeN(queue, 2)).toEqual(['from a', 'from b']);
  });

  it('ready means ready: a publish from another instance right after it arrives', async () => {
    // Many fresh channels at once, so that a `ready` that came before the SUBSCRIBE reached
    // Redis would lose some of these races. Each has two listeners: the second arrives while
    // the first one's SUBSCRIBE is in flight, and must wait for it too.
    const topics = Array.from({ length: 50 }, () => uniqueId('topic'));
    await Promise.all(
      topics.map(async (topic) => {
        unsubscribes.push(b.subscribe(topic, () => {}));
        const queue = createQueue<unknown>();
        const second = b.subscribe(topic, (payload) => queue.push(payload));
        unsubscribes.push(second);
        await second.ready;
        await a.publish(topic, topic);
        expect(await queue.next()).toBe(topic);
      }),
    );
  });

  it('a listener joining a subscribed channel is ready at once, and hears what follows', async () => {
    const topic = uniqueId('topic');
    const first = await listen(b, topic);
    const queue = createQueue<unknown>();
    const second = b.subscribe(topic, (payload) => queue.push(payload));
    unsubscribes.push(second);
    // Already settled (no round trip): the channel's SUBSCRIBE is acknowledged.
    let isReady = false;
    void second.ready.then(() => (isReady = true));
    await Promise.resolve(); // microtasks only, no I/O
    expect(isReady).toBe(true);
    await a.publish(topic, 'x');
    expect(await queue.next()).toBe('x');
    expect(await first.next()).toBe('x');
  });

  it('publishes issued while an instance first connects wait for the connection, in order', async () => {
    const topic = uniqueId('topic');
    const onB = await listen(b, topic);
    const starting = createRedisPubSub({ url: REDIS_URL, keyPrefix, onError: logError });
    try {
      const sent = Array.from({ length: 10 }, (_, i) => i);
      await Promise.all(sent.map((n) => starting.publish(topic, n)));
      expect(await takeN(onB, sent.length)).toEqual(sent);
    } finally {
      await starting.close();
    }
  });

  it('rejects a payload that JSON cannot carry, and delivers nothing for it', async () => {
    const topic = uniqueId('topic');
    const onB = await listen(b, topic);
    await expect(a.publish(topic, undefined)).rejects.toThrow(/JSON/);
    await a.publish(topic, 'sentinel');
    expect(await onB.next()).toBe('sentinel');
    expect(onB.all).toEqual(['sentinel']);
  });
});

/** Outages, with a redis-server of the test's own: the shared one is never stopped. */
describeWithService(await requireRedisServer(), 'PubSub redis: outages', () => {
  /** Connects an instance that reports its errors into `errors`, closed after the test. */
  const connect = async (url: string, errors: unknown[], options: Partial<RedisPubSubOptions> = {}) => {
    const pubsub = await connectRedis({ url, keyPrefix, onError: (error) => errors.push(error), ...options });
    onTestFinished(() => pubsub.close());
    return pubsub;
  };
  const isResync = (payload: unknown) => payload === PUBSUB_RESYNC;

  it('tells every listener to resync once Redis is back, delivers again, and pings false while it is down', async () => {
    const server = await startRedis();
    const errors: unknown[] = [];
    const a = await connect(server.url, errors);
    const b = await connect(server.url, errors);
    const topic = uniqueId('topic');
    const onA = await listenOn(a, topic);
    const onB = await listenOn(b, topic);
    await a.publish(topic, 'before');
    expect(await onA.next()).toBe('before');
    expect(await onB.next()).toBe('before');

    await server.stop();
    await waitUntil(async () => !(await a.ping()) && !(await b.ping()), 'both instances ping false');
    // No offline queue: a publish during the outage fails at once instead of hanging.
    await expect(a.publish(topic, 'lost')).rejects.toThrow(/resync/);
    // A listener that arrives during the outage is ready only once Redis has its SUBSCRIBE.
    const lateTopic = uniqueId('topic');
    const late = createQueue<unknown>();
    const lateListener = b.subscribe(lateTopic, (payload) => late.push(payload));
    onTestFinished(lateListener);

    await server.restart();
    expect(await onA.next(15_000)).toBe(PUBSUB_RESYNC);
    expect(await onB.next(15_000)).toBe(PUBSUB_RESYNC);
    await lateListener.ready;
    await waitUntil(async () => (await a.ping()) && (await b.ping()), 'both instances ping true again');

    await a.publish(topic, 'after');
    await a.publish(lateTopic, 'late');
    // More resyncs may come first (the failed publish owes its topic one): never 'lost'.
    for (const queue of [onA, onB]) {
      const got = await queue.takeUntil((payload) => payload === 'after', 15_000);
      expect(got.slice(0, -1).every(isResync)).toBe(true);
    }
    expect((await late.takeUntil((payload) => payload === 'late')).slice(0, -1).every(isResync)).toBe(true);

    // Reported (if a reconnect attempt met the closed port), but not once per attempt.
    expect(errors.length).toBeLessThanOrEqual(12);
  });

  it('a publish that fails owes its listeners on every instance a resync, paid once the publisher works', async () => {
    const server = await startRedis();
    const errors: unknown[] = [];
    const a = await connect(server.url, errors, { publishTimeoutMs: 200 });
    const b = await connect(server.url, errors);
    const topic = uniqueId('topic');
    const onB = await listenOn(b, topic);

    // Redis holds every PUBLISH while paused; the subscriber connection stays up.
    await server.cli('CLIENT', 'PAUSE', '30000', 'WRITE');
    await expect(a.publish(topic, 'held')).rejects.toThrow(/resync/);
    await server.cli('CLIENT', 'UNPAUSE');

    // The held publish goes through after all, then the marker: b reads the store again.
    expect(await onB.takeUntil(isResync)).toEqual(['held', PUBSUB_RESYNC]);
    await a.publish(topic, 'next');
    const rest = await onB.takeUntil((payload) => payload === 'next');
    expect(rest.slice(0, -1).every(isResync)).toBe(true);
  });

  it('subscribes a channel once per instance and unsubscribes it when its last listener leaves', async () => {
    const server = await startRedis();
    const a = await connect(server.url, []);
    const topic = uniqueId('topic');
    const numsub = async () => Number((await server.cli('PUBSUB', 'NUMSUB', keyPrefix + topic)).split('\n').at(-1));

    const one = await listenOn(a, topic);
    const two = await listenOn(a, topic);
    expect(await numsub()).toBe(1);
    one.unsubscribe();
    expect(await numsub()).toBe(1);
    await a.publish(topic, 'still');
    expect(await two.next()).toBe('still');
    two.unsubscribe();
    await waitUntil(async () => (await numsub()) === 0, 'the channel is unsubscribed');
  });

  it('close() leaves no socket or timer behind, even in the middle of reconnecting', async () => {
    const server = await startRedis();
    const count = async () => {
      // Two turns of the event loop: sockets destroyed just before are closed in the first one's close phase.
      for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
      const resources = process.getActiveResourcesInfo();
      return { sockets: resources.filter((r) => r === 'TCPSocketWrap').length, timers: resources.filter((r) => r === 'Timeout').length };
    };
    const before = await count();

    const up = await connectRedis({ url: server.url, keyPrefix, onError: () => {} });
    const listener = await listenOn(up, uniqueId('topic'));
    await up.publish('anything', 1);
    await up.close();
    listener.unsubscribe();
    let after = await count();
    expect(after.sockets).toBeLessThanOrEqual(before.sockets);
    expect(after.timers).toBeLessThanOrEqual(before.timers);

    const down = await connectRedis({ url: server.url, keyPrefix, onError: () => {} });
    await server.stop();
    await waitUntil(async () => !(await down.ping()), 'ping is false');
    await down.close();
    expect(await down.ping()).toBe(false);
    after = await count();
    expect(after.sockets).toBeLessThanOrEqual(before.sockets);
    expect(after.timers).toBeLessThanOrEqual(before.timers);
  });

  it('ping is false and never throws when nothing listens; close then returns', async () => {
    const server = await startRedis();
    await server.stop(); // its port is now free, and nothing answers there
    const pubsub = createRedisPubSub({ url: server.url, onError: () => {}, pingTimeoutMs: 200 });
    expect(await pubsub.ping()).toBe(false);
    const never = pubsub.subscribe(uniqueId('topic'), () => {});
    await pubsub.close();
    await expect(never.ready).rejects.toThrow(/closed/);
  });
});
