import { beforeEach, describe, expect, it } from 'vitest';
import { checkAfter, Subscriptions, type SubscriptionsOptions } from '../../src/delivery/subscriptions.js';
import { SwitchboardError } from '../../src/errors.js';
import { createMemoryPubSub } from '../../src/events/pubsub/memory.js';
import { sessionTopic } from '../../src/events/topics.js';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { delta, sessionRecord } from '../utils/events.js';
import { createManualClock, settle, type ManualClock } from '../utils/manual-clock.js';

let store: Store;
let clock: ManualClock;
const pubsub = createMemoryPubSub();

beforeEach(async () => {
  store = createMemoryStore();
  clock = createManualClock(1_000);
  await store.createSession(sessionRecord({ id: 's' }));
});

const subscriptions = (options: Partial<SubscriptionsOptions> = {}) => new Subscriptions({ store, pubsub, clock, ...options });

async function appendOne() {
  const stored = await store.appendEvents('s', [delta('s', 'x')]);
  await pubsub.publish(sessionTopic('s'), { kind: 'events', events: stored });
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof SwitchboardError ? error.code : 'not a SwitchboardError';
  }
  return null;
};

describe('Subscriptions', () => {
  it('checks after: 0 or more, or none', () => {
    expect(checkAfter(undefined)).toBeUndefined();
    expect(checkAfter(null)).toBeUndefined();
    expect(checkAfter(0)).toBe(0);
    expect(code(() => checkAfter(-1))).toBe('BAD_USER_INPUT');
    expect(code(() => checkAfter(1.5))).toBe('BAD_USER_INPUT');
  });

  it('bounds open streams per limit key, and a closed one frees its place', async () => {
    const streams = subscriptions({ maxPerUser: 2 });
    const open = () => streams.open({ sessionId: 's', after: 0, limitKey: 'alice' });
    const first = open();
    open();
    expect(code(open)).toBe('RATE_LIMITED');
    // Another key counts on its own.
    streams.open({ sessionId: 's', after: 0, limitKey: 'bob' });
    await first.return();
    expect(code(open)).toBeNull();
  });

  it('finishes a stream at endAt: what is stored by then is delivered, then it completes', async () => {
    const stream = subscriptions().open({ sessionId: 's', after: 0, limitKey: 'alice', endAt: 5_000 });
    await appendOne();
    expect(await stream.next()).toMatchObject({ done: false, value: { seq: 1 } });
    const end = stream.next();
    clock.advance(4_000);
    expect(await end).toEqual({ done: true, value: undefined });
  });

  it('finishes every open stream at shutdown, and closed() settles once they have completed', async () => {
    const shutdown = new AbortController();
    const streams = subscriptions({ shutdown: shutdown.signal });
    const a = streams.open({ sessionId: 's', after: 0, limitKey: 'alice' });
    const b = streams.open({ sessionId: 's', after: undefined, limitKey: 'bob' });
    const ends = [a.next(), b.next()];
    await settle();
    let closed = false;
    void streams.closed().then(() => (closed = true));
    await settle();
    expect(closed).toBe(false);
    shutdown.abort();
    expect(await Promise.all(ends)).toEqual([
      { done: true, value: undefined },
      { done: true, value: undefined },
    ]);
    await settle();
    expect(closed).toBe(true);
    // Opened after the stop: finishes at once.
    expect(await streams.open({ sessionId: 's', after: 0, limitKey: 'alice' }).next()).toEqual({ done: true, value: undefined });
  });
});
