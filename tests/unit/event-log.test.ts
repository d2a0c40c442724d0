import { beforeEach, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/log/event-log.js';
import { createMemoryPubSub } from '../../src/events/pubsub/memory.js';
import type { PubSub } from '../../src/events/pubsub/types.js';
import { sessionTopic, type SessionTopicMessage } from '../../src/events/topics.js';
import type { NewSessionEvent, SessionEvent, SessionStatus } from '../../src/events/types.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { FencedError } from '../../src/store/fenced.js';
import type { Store, TurnOutcome } from '../../src/store/types.js';
import { complete, delta, sessionRecord, textComplete, userMessage } from '../utils/events.js';
import { createManualClock, settle, type ManualClock } from '../utils/manual-clock.js';
import { signal } from '../utils/signal.js';

let clock: ManualClock;
let store: Store;
let pubsub: PubSub;
/** Every appendEvents call the log made, as the batch it handed over. */
let batches: NewSessionEvent[][];

beforeEach(async () => {
  clock = createManualClock(1_000_000);
  store = countingStore(createMemoryStore());
  pubsub = createMemoryPubSub();
  batches = [];
  await store.createSession(sessionRecord({ id: 's1' }));
  await store.createSession(sessionRecord({ id: 's2' }));
});

/** The real memory store, with its appendEvents calls recorded. */
function countingStore(inner: Store): Store {
  return {
    ...inner,
    appendEvents(sessionId, events) {
      batches.push(structuredClone(events));
      return inner.appendEvents(sessionId, events);
    },
  };
}

const newLog = (options: { onError?: (error: unknown) => void } = {}) => new EventLog({ store, pubsub, clock, ...options });

const stored = (sessionId = 's1') => store.readEvents(sessionId, 0, 1000);
const describeEvent = (e: SessionEvent) => [e.seq, e.type === 'TEXT_DELTA' ? e.delta : e.type];

describe('EventLog', () => {
  it('assigns seqs 1..n after coalescing', async () => {
    const log = newLog();
    log.emit(userMessage('s1', 'hi'));
    for (const d of ['a', 'b', 'c', 'd']) log.emit(delta('s1', d));
    log.emit(textComplete('s1', 'abcd'));
    log.emit(complete('s1'));
    await log.settled('s1');

    expect((await stored()).map(describeEvent)).toEqual([
      [1, 'USER_MESSAGE'],
      [2, 'a'],
      [3, 'bcd'],
      [4, 'TEXT_COMPLETE'],
      [5, 'COMPLETE'],
    ]);
    expect((await store.getSession('s1'))?.lastSeq).toBe(5);
  });

  it('continues the seqs of a session across batches, independently per session', async () => {
    const log = newLog();
    log.emit(userMessage('s1', 'one'));
    log.emit(userMessage('s2', 'two'));
    await Promise.all([log.settled('s1'), log.settled('s2')]);
    log.emit(complete('s1'));
    await log.settled('s1');

    expect((await stored('s1')).map(describeEvent)).toEqual([
      [1, 'USER_MESSAGE'],
      [2, 'COMPLETE'],
    ]);
    expect((await stored('s2')).map(describeEvent)).toEqual([[1, 'USER_MESSAGE']]);
  });

  it('publishes events only once they are stored and their state is projected', async () => {
    const log = newLog();
    const seen: Array<{ seqs: number[]; storedSeqs: Promise<number[]>; status: Promise<SessionStatus | undefined> }> = [];
    pubsub.subscribe(sessionTopic('s1'), (payload) => {
      const message = payload as SessionTopicMessage;
      if (message.kind !== 'events') return;
      // Read the store the moment the message arrives (the memory store answers from the
      // state at call time).
      seen.push({
        seqs: message.events.map((e) => e.seq),
        storedSeqs: store.readEvents('s1', 0, 1000).then((events) => events.map((e) => e.seq)),
        status: store.getSession('s1').then((s) => s?.status),
      });
    });

    log.emit(userMessage('s1', 'hi'));
    await log.settled('s1');
    log.emit(complete('s1'));
    await log.settled('s1');

    expect(seen).toHaveLength(2);
    expect(seen[0]!.seqs).toEqual([1]);
    expect(await seen[0]!.storedSeqs).toEqual([1]);
    expect(await seen[0]!.status).toBe('RUNNING');
    expect(seen[1]!.seqs).toEqual([2]);
    expect(await seen[1]!.storedSeqs).toEqual([1, 2]);
    expect(await seen[1]!.status).toBe('IDLE');
  });

  it('publishes the stored events, with their seqs', async () => {
    const log = newLog();
    const published: SessionEvent[] = [];
    pubsub.subscribe(sessionTopic('s1'), (payload) => {
      const message = payload as SessionTopicMessage;
      if (message.kind === 'events') published.push(...message.events);
    });
    log.emit(userMessage('s1', 'hi'));
    log.emit(delta('s1', 'a'));
    log.emit(delta('s1', 'b'));
    await log.settled('s1');

    expect(published).toEqual(await stored());
    expect(published.map(describeEvent)).toEqual([
      [1, 'USER_MESSAGE'],
      [2, 'a'],
      [3, 'b'],
    ]);
  });

  it('settled() waits until what was emitted is stored, pending deltas included', async () => {
    const log = newLog();
    log.emit(userMessage('s1', 'hi'));
    log.emit(delta('s1', 'a'));
    log.emit(delta('s1', 'b')); // held by the coalescing window
    expect(await stored()).toEqual([]);

    await log.settled('s1');
    expect((await stored()).map(describeEvent)).toEqual([
      [1, 'USER_MESSAGE'],
      [2, 'a'],
      [3, 'b'],
    ]);
  });

  it('emitAndWait() resolves once the event is stored', async () => {
    const log = newLog();
    await log.emitAndWait(userMessage('s1', 'hi'));
    expect((await store.getSession('s1'))?.status).toBe('RUNNING');
  });

  it('appends the events emitted in one tick in one appendEvents call', async () => {
    const log = newLog();
    log.emit(userMessage('s1', 'hi'));
    log.emit(delta('s1', 'a'));
    log.emit(textComplete('s1', 'a'));
    log.emit(complete('s1'));
    await log.settled('s1');

    expect(batches.map((b) => b.map((e) => e.type))).toEqual([['USER_MESSAGE', 'TEXT_DELTA', 'TEXT_COMPLETE', 'COMPLETE']]);
  });

  it('gathers the events emitted while a batch is being written into the next batch', async () => {
    const gate = holdAppends();
    const log = newLog();
    log.emit(userMessage('s1', 'hi'));
    await settle(); // the first batch is now being written
    expect(batches).toHaveLength(1);

    log.emit(textComplete('s1', 'x'));
    await settle();
    log.emit(complete('s1'));
    await settle();
    expect(batches).toHaveLength(1);

    gate.release();
    await log.settled('s1');
    expect(batches.map((b) => b.map((e) => e.type))).toEqual([['USER_MESSAGE'], ['TEXT_COMPLETE', 'COMPLETE']]);
    expect((await stored()).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('reports a failed append to onError and goes on with later events', async () => {
    const errors: unknown[] = [];
    const log = newLog({ onError: (error) => errors.push(error) });
    log.emit(userMessage('nope', 'no such session'));
    await log.settled('nope');
    expect(errors).toHaveLength(1);

    log.emit(userMessage('s1', 'hi'));
    await log.settled('s1');
    expect((await stored()).map((e) => e.seq)).toEqual([1]);
  });

  it('drain() stores every pending delta and leaves no timer', async () => {
    const log = newLog();
    log.emit(delta('s1', 'a'));
    log.emit(delta('s1', 'b'));
    log.emit(delta('s2', 'c'));
    log.emit(delta('s2', 'd'));
    await log.drain();

    expect((await stored('s1')).map(describeEvent)).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    expect((await stored('s2')).map(describeEvent)).toEqual([
      [1, 'c'],
      [2, 'd'],
    ]);
    expect(clock.pending()).toBe(0);
  });

  it('retries a failed append until the store is back, without losing or duplicating a batch', async () => {
    const inner = store;
    // First: the append commits but its answer is lost (a connection cut after COMMIT).
    // Then: two failures that commit nothing, the second while the store cannot even be read.
    let fault = 0;
    /** Reads that fail before the store answers again. */
    let unreadable = 0;
    store = {
      ...inner,
      async appendEvents(sessionId, events) {
        fault++;
        if (fault === 1) {
          await inner.appendEvents(sessionId, events);
          throw new Error('connection lost after COMMIT');
        }
        if (fault === 2) throw new Error('connection refused');
        if (fault === 3) {
          unreadable = 2;
          throw new Error('connection refused');
        }
        return inner.appendEvents(sessionId, events);
      },
      async getSession(id) {
        if (unreadable > 0) {
          unreadable--;
          throw new Error('connection refused');
        }
        return inner.getSession(id);
      },
    };
    const errors: unknown[] = [];
    const log = newLog({ onError: (e) => errors.push(e) });
    log.emit(userMessage('s1', 'one'));
    let done = false;
    const first = log.settled('s1');
    await settle();
    log.emit(textComplete('s1', 'two'));
    log.emit(complete('s1'));
    void first.then(() => log.settled('s1')).then(() => (done = true));
    // The backoff waits on the clock: advance it until everything is in.
    for (let i = 0; i < 50 && !done; i++) {
      await settle();
      clock.advance(2000);
    }
    expect(done).toBe(true);
    expect((await inner.readEvents('s1', 0, 100)).map((e) => [e.seq, e.type])).toEqual([
      [1, 'USER_MESSAGE'],
      [2, 'TEXT_COMPLETE'],
      [3, 'COMPLETE'],
    ]);
    expect(errors.length).toBeGreaterThanOrEqual(3);
  });
});

describe('EventLog.write', () => {
  const at = new Date(1_000_000).toISOString();
  const queued = (turnId: string) => ({ turnId, messageId: `m-${turnId}`, text: turnId, attachments: [], createdAt: at });
  /** Store.startTurn queueing and starting `turnId`, and what of it the log publishes. */
  const start = (turnId: string) => (token: number | undefined) =>
    store.startTurn('s1', { message: { record: queued(turnId), front: false }, start: true, at, token });
  const startedEvents = (o: TurnOutcome) => (o.outcome === 'done' && o.started ? [o.started.event] : []);

  it("runs after the session's pending events, holds its slot (later events wait), then publishes and counts what it appended", async () => {
    const appended: SessionEvent[] = [];
    const log = new EventLog({ store, pubsub, clock, metrics: { appended: (events) => appended.push(...events) } });
    const published: SessionEvent[] = [];
    pubsub.subscribe(sessionTopic('s1'), (payload) => {
      const message = payload as SessionTopicMessage;
      if (message.kind === 'events') published.push(...message.events);
    });
    log.emit(userMessage('s1', 'before', { turnId: 't0' }));
    log.emit(complete('s1', { turnId: 't0' }));
    const held = signal();
    let seenBefore = -1;
    const written = log.write(
      's1',
      async (token) => {
        seenBefore = (await store.getSession('s1'))!.lastSeq;
        await held.promise;
        return start('t1')(token);
      },
      startedEvents,
    );
    await settle();
    log.emit(delta('s1', 'after'));
    await settle();
    clock.advance(1000); // past the coalescing window: the delta is handed over, and waits
    await settle();
    expect(seenBefore, 'the events emitted before it were stored first').toBe(2);
    expect((await stored()).length).toBe(2);

    held.resolve();
    const outcome = await written;
    expect(outcome).toMatchObject({ outcome: 'done', started: { event: { seq: 3, type: 'USER_MESSAGE' } } });
    await log.settled('s1');
    const order = ['USER_MESSAGE', 'COMPLETE', 'USER_MESSAGE', 'after'];
    expect((await stored()).map((e) => (e.type === 'TEXT_DELTA' ? e.delta : e.type))).toEqual(order);
    expect(published).toEqual(await stored());
    expect(appended).toEqual(await stored());
  });

  it('a FencedError drops what is pending, tells Fencing.refused and is thrown; another failure is thrown, not retried', async () => {
    const refused: FencedError[] = [];
    const log = newLog();
    log.fenceWith({ token: () => 1, refused: (_sessionId, error) => refused.push(error) });
    const held = signal();
    const fenced = log.write(
      's1',
      async () => {
        await held.promise;
        throw new FencedError('s1', 1);
      },
      () => [],
    );
    await settle();
    log.emit(complete('s1'));
    await settle();
    held.resolve();
    await expect(fenced).rejects.toBeInstanceOf(FencedError);
    await log.settled('s1');
    expect(refused).toHaveLength(1);
    expect(await stored(), 'the event emitted behind it is dropped').toEqual([]);

    let calls = 0;
    const failing = log.write(
      's1',
      async () => {
        calls++;
        throw new Error('connection lost');
      },
      () => [],
    );
    await expect(failing).rejects.toThrow('connection lost');
    expect(calls).toBe(1);
    // The session's slot is free again: later events go on.
    await log.emitAndWait(userMessage('s1', 'later'));
    expect((await stored()).map((e) => e.type)).toEqual(['USER_MESSAGE']);
  });
});

/** Makes the store's appendEvents wait until `release()`: every call, from now on. */
function holdAppends() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const append = store.appendEvents.bind(store);
  store.appendEvents = async (sessionId, events) => {
    const result = append(sessionId, events);
    await released;
    return result;
  };
  return { release };
}
