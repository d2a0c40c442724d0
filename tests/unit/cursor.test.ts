import { beforeEach, describe, expect, it } from 'vitest';
import { SessionCursor, type CursorOptions } from '../../src/delivery/cursor.js';
import { createMemoryPubSub } from '../../src/events/pubsub/memory.js';
import type { PubSub } from '../../src/events/pubsub/types.js';
import { sessionTopic, type SessionTopicMessage } from '../../src/events/topics.js';
import type { SessionEvent } from '../../src/events/types.js';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { delta, sessionRecord } from '../utils/events.js';
import { settle } from '../utils/manual-clock.js';

const SESSION = 's1';

let store: Store;
let pubsub: PubSub;
/** Listeners currently subscribed through `pubsub`. */
let listeners: number;
/** How many times a cursor read the store's log. */
let reads: number;
/** Runs inside the next store read, after its page is taken: "something happens meanwhile". */
let duringNextRead: (() => Promise<void>) | null;

beforeEach(async () => {
  const memoryStore = createMemoryStore();
  const memoryPubSub = createMemoryPubSub();
  listeners = 0;
  reads = 0;
  duringNextRead = null;
  // The real memory store and pub/sub, with their use by the cursor recorded.
  store = {
    ...memoryStore,
    async readEvents(sessionId, after, limit) {
      reads++;
      const page = await memoryStore.readEvents(sessionId, after, limit);
      const meanwhile = duringNextRead;
      duringNextRead = null;
      await meanwhile?.();
      return page;
    },
  };
  pubsub = {
    ...memoryPubSub,
    subscribe(topic, listener) {
      listeners++;
      const unsubscribe = memoryPubSub.subscribe(topic, listener);
      let subscribed = true;
      return Object.assign(
        () => {
        if (subscribed) listeners--;
        subscribed = false;
        unsubscribe();
      },
        { ready: unsubscribe.ready },
      );
    },
  };
  await store.createSession(sessionRecord({ id: SESSION }));
});

/** What the EventLog does: store the events, then publish them. */
async function append(count: number, { publish = true } = {}): Promise<SessionEvent[]> {
  const events = Array.from({ length: count }, (_, i) => delta(SESSION, `d${i}`));
  const stored = await store.appendEvents(SESSION, events);
  if (publish) await pubsub.publish(sessionTopic(SESSION), { kind: 'events', events: stored } satisfies SessionTopicMessage);
  return stored;
}

const cursor = (options: Partial<CursorOptions> = {}) =>
  new SessionCursor({ store, pubsub, sessionId: SESSION, ...options });

/** Lets the memory store and pub/sub (which answer within a turn of the event loop) settle. */
async function quiesce() {
  for (let i = 0; i < 5; i++) await settle();
}

/** A cursor from after=0 that has delivered its first event live (seq 1): caught up, waiting. */
async function liveCursor(options: Partial<CursorOptions> = {}) {
  const stream = cursor({ after: 0, ...options });
  const first = stream.next();
  await quiesce();
  await append(1);
  expect(await first).toMatchObject({ value: { seq: 1 } });
  return stream;
}

/** Pulls a cursor as fast as it yields, in the background. */
function drain(stream: SessionCursor) {
  const seqs: number[] = [];
  let completed = false;
  const done = (async () => {
    for await (const event of stream) seqs.push(event.seq);
    completed = true;
  })();
  return {
    seqs,
    done,
    get completed() {
      return completed;
    },
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('SessionCursor', () => {
  it('replays from after=N, then goes on live, without gap or duplicate while events keep coming', async () => {
    await append(10);
    const reader = drain(cursor({ after: 3, pageSize: 2 }));
    // Appends land between the replay's page reads, in batches of various sizes.
    for (let i = 0; i < 15; i++) {
      await append(1 + (i % 3));
      if (i % 2 === 0) await settle();
    }
    await quiesce();
    const last = (await store.getSession(SESSION))!.lastSeq;
    expect(reader.seqs).toEqual(range(4, last));
  });

  it('delivers an event published while it reads a page of the replay', async () => {
    await append(5);
    duringNextRead = async () => void (await append(1));
    const reader = drain(cursor({ after: 1, pageSize: 2 }));
    await quiesce();
    expect(reader.seqs).toEqual(range(2, 6));
  });

  it('delivers an event published while a read finds nothing new', async () => {
    await append(2);
    // The read sees the log as it was (nothing after 2); event 3 is stored and published
    // before the read returns.
    duringNextRead = async () => void (await append(1));
    const reader = drain(cursor({ after: 2 }));
    await quiesce();
    expect(reader.seqs).toEqual([3]);
  });

  it('without after, delivers only events newer than the lastSeq at its start', async () => {
    await append(3);
    const stream = cursor();
    const first = stream.next();
    await quiesce();
    await append(2);
    expect(await first).toMatchObject({ done: false, value: { seq: 4 } });
    expect(await stream.next()).toMatchObject({ done: false, value: { seq: 5 } });
    await stream.return();
  });

  it('with after beyond lastSeq, waits for the events after it', async () => {
    await append(2);
    const reader = drain(cursor({ after: 5 }));
    await quiesce();
    await append(3);
    await quiesce();
    expect(reader.seqs).toEqual([]);
    await append(2);
    await quiesce();
    expect(reader.seqs).toEqual([6, 7]);
  });

  it('keeps pace from the published events alone, without reading the store', async () => {
    const stream = await liveCursor();
    const readsBefore = reads;

    for (let i = 0; i < 10; i++) await append(1);
    for (const seq of range(2, 11)) expect(await stream.next()).toMatchObject({ value: { seq } });
    expect(reads).toBe(readsBefore);
    await stream.return();
  });

  it('holds at most maxBuffered events for a reader that stopped, and reads the rest back from the store', async () => {
    const stream = await liveCursor({ maxBuffered: 3 });
    const readsBefore = reads;

    // The reader stops reading while many events are published.
    for (let i = 0; i < 20; i++) await append(1 + (i % 2));
    const last = (await store.getSession(SESSION))!.lastSeq;
    const seqs: number[] = [];
    for (let i = 2; i <= last; i++) {
      const result = await stream.next();
      if (!result.done) seqs.push(result.value.seq);
    }
    expect(seqs).toEqual(range(2, last));
    // The held events were dropped past the bound: the cursor had to read them back.
    expect(reads).toBeGreaterThan(readsBefore);
    await stream.return();
  });

  it('return() while waiting on a quiet session resolves at once and unsubscribes', async () => {
    await append(2);
    const stream = cursor({ after: 2 });
    expect(listeners).toBe(1);
    const waiting = stream.next();
    await quiesce();

    expect(await stream.return()).toEqual({ done: true, value: undefined });
    expect(await waiting).toEqual({ done: true, value: undefined });
    await stream.closed;
    expect(listeners).toBe(0);

    await append(1);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('on a deleted message, delivers what is stored, then completes and unsubscribes', async () => {
    await append(3);
    const stream = cursor({ after: 0 });
    await pubsub.publish(sessionTopic(SESSION), { kind: 'deleted' } satisfies SessionTopicMessage);
    const reader = drain(stream);
    await reader.done;
    expect(reader.seqs).toEqual([1, 2, 3]);
    expect(listeners).toBe(0);
  });

  it('completes a reader waiting on a session that is deleted', async () => {
    await append(1);
    const reader = drain(cursor({ after: 0 }));
    await quiesce();
    expect(reader.seqs).toEqual([1]);

    await store.deleteSession(SESSION);
    await pubsub.publish(sessionTopic(SESSION), { kind: 'deleted' } satisfies SessionTopicMessage);
    await reader.done;
    expect(reader.completed).toBe(true);
    expect(listeners).toBe(0);
  });

  it('on abort (server stop), delivers what is stored, even unpublished, then completes', async () => {
    await append(2);
    const controller = new AbortController();
    const reader = drain(cursor({ after: 0, signal: controller.signal }));
    await quiesce();
    expect(reader.seqs).toEqual([1, 2]);

    await append(2, { publish: false });
    controller.abort();
    await reader.done;
    expect(reader.seqs).toEqual([1, 2, 3, 4]);
    expect(listeners).toBe(0);
  });

  it('on abort during a store read, still delivers what was stored by then', async () => {
    await append(2);
    const controller = new AbortController();
    // The first read takes its page (nothing after 2), then event 3 is stored and the server
    // stops, both before the read returns.
    duringNextRead = async () => {
      await append(1, { publish: false });
      controller.abort();
    };
    const reader = drain(cursor({ after: 2, signal: controller.signal }));
    await reader.done;
    expect(reader.seqs).toEqual([3]);
  });

  it('finish() does what an abort does, and onClose is called once, when it has completed', async () => {
    await append(2);
    let closes = 0;
    const stream = cursor({ after: 1, onClose: () => closes++ });
    const reader = drain(stream);
    await quiesce();
    await append(1, { publish: false });
    expect(closes).toBe(0);
    stream.finish();
    await reader.done;
    expect(reader.seqs).toEqual([2, 3]);
    expect(closes).toBe(1);
    await stream.return();
    await stream.closed;
    expect(closes).toBe(1);
    expect(listeners).toBe(0);
  });

  it('with an already aborted signal, delivers what is stored and completes', async () => {
    await append(3);
    const controller = new AbortController();
    controller.abort();
    const reader = drain(cursor({ after: 1, signal: controller.signal }));
    await reader.done;
    expect(reader.seqs).toEqual([2, 3]);
    expect(listeners).toBe(0);
  });
});

/**
 * Reads a cursor the way the WebSocket path does (delivery/socket-stream.ts): next() when it
 * must, otherwise what is in hand, called back from the publish itself.
 */
function readInHand(stream: SessionCursor) {
  const state = { seqs: [] as number[], inHand: 0, viaNext: 0, waiting: false, completed: false };
  const drainInHand = (): void => {
    state.waiting = false;
    for (;;) {
      const event = stream.takeInHand();
      if (event === undefined) break;
      state.inHand++;
      state.seqs.push(event.seq);
    }
    if (stream.whenReady(drainInHand)) state.waiting = true;
    else pull();
  };
  const pull = () =>
    void stream.next().then((step) => {
      if (step.done) return void (state.completed = true);
      state.viaNext++;
      state.seqs.push(step.value.seq);
      drainInHand();
    });
  pull();
  return state;
}

describe('SessionCursor in hand (InHandStream)', () => {
  it('hands nothing over before next() has started it', async () => {
    await append(2);
    const stream = cursor({ after: 0 });
    await pubsub.publish(sessionTopic(SESSION), { kind: 'events', events: await store.readEvents(SESSION, 0, 10) });
    // Where it starts (after, or the session's lastSeq) is next()'s to settle first.
    expect(stream.takeInHand()).toBeUndefined();
    expect(stream.whenReady(() => {})).toBe(false);
    await stream.return();
  });

  it('once caught up, is called back from the publish and takes the events in order, without the store', async () => {
    await append(1);
    const stream = cursor({ after: 0 });
    const reader = readInHand(stream);
    await quiesce();
    expect(reader).toMatchObject({ seqs: [1], waiting: true });
    const readsBefore = reads;

    const published = append(3);
    // The publish itself has handed them over: no turn of the event loop in between.
    await published;
    expect(reader.seqs).toEqual([1, 2, 3, 4]);
    expect(reader.inHand).toBe(3);
    expect(reader.waiting).toBe(true);
    expect(reads).toBe(readsBefore);
    await stream.return();
  });

  it('steps aside for next() when the next seq is not in hand (a gap), and loses nothing', async () => {
    const stream = cursor({ after: 0 });
    const reader = readInHand(stream);
    await quiesce();
    await append(2, { publish: false }); // stored, never published (a lost message)
    await append(1);
    await quiesce();
    expect(reader.seqs).toEqual([1, 2, 3]);
    expect(reader.viaNext).toBeGreaterThan(0);
    await stream.return();
  });

  it('after an overflow, reads the dropped events back through next()', async () => {
    const stream = await liveCursor({ maxBuffered: 2 });
    // The reader is busy elsewhere while more than maxBuffered events are published.
    await append(2);
    await append(2);
    expect(stream.takeInHand()).toBeUndefined();
    expect(stream.whenReady(() => {})).toBe(false);
    const reader = readInHand(stream);
    await quiesce();
    expect(reader.seqs).toEqual([2, 3, 4, 5]);
    await stream.return();
  });

  it('calls a waiting reader back when it is returned from, and then hands nothing over', async () => {
    await append(1);
    const stream = cursor({ after: 0 });
    const reader = readInHand(stream);
    await quiesce();
    expect(reader.waiting).toBe(true);
    await stream.return();
    await append(1);
    await quiesce();
    expect(reader).toMatchObject({ waiting: false, completed: true, seqs: [1] });
    expect(listeners).toBe(0);
  });

  it('on a deleted message, the waiting reader is called back and next() delivers what is stored, then completes', async () => {
    const stream = cursor({ after: 0 });
    const reader = readInHand(stream);
    await quiesce();
    await append(2, { publish: false });
    await pubsub.publish(sessionTopic(SESSION), { kind: 'deleted' } satisfies SessionTopicMessage);
    await quiesce();
    expect(reader).toMatchObject({ seqs: [1, 2], completed: true });
  });
});
