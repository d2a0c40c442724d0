import { beforeEach, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/log/event-log.js';
import { createMemoryPubSub } from '../../src/events/pubsub/memory.js';
import type { PermissionMode, SessionEvent } from '../../src/events/types.js';
import { PermissionGate } from '../../src/sessions/permissions.js';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { sessionRecord, userMessage } from '../utils/events.js';
import { createManualClock, settle, type ManualClock } from '../utils/manual-clock.js';

const SESSION = 's1';
const TIMEOUT = 60_000;

let clock: ManualClock;
let store: Store;
let log: EventLog;

beforeEach(async () => {
  clock = createManualClock(Date.UTC(2024, 0, 1));
  store = createMemoryStore();
  log = new EventLog({ store, pubsub: createMemoryPubSub(), clock, coalesceWindowMs: 50 });
  await store.createSession(sessionRecord({ id: SESSION }));
  // The turn is running, as when an agent asks.
  await log.emitAndWait(userMessage(SESSION, '/write a.txt hi'));
});

function gate({ mode = 'ASK', timeoutMs = TIMEOUT }: { mode?: PermissionMode; timeoutMs?: number } = {}) {
  let n = 0;
  return new PermissionGate({ clock, log, store, sessionId: SESSION, turnId: 't1', mode, timeoutMs, newId: () => `r${++n}` });
}

const ask = (toolName = 'write_file') => ({ toolName, toolUseId: 'tu1', command: 'write a.txt', description: 'Write a file' });

/** The session's events after the turn's USER_MESSAGE (seq 1), once everything emitted is stored. */
async function permissionEvents(): Promise<SessionEvent[]> {
  await log.settled(SESSION);
  return store.readEvents(SESSION, 1, 1000);
}

const status = async () => (await store.getSession(SESSION))?.status;

/** Lets the gate's store and log round trips (all in memory) complete. */
async function quiesce() {
  for (let i = 0; i < 5; i++) await settle();
}

/** Records how a promise settled, without an unhandled rejection. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('PermissionGate', () => {
  it('in mode ASK, stores a PermissionRequest expiring after the timeout and waits', async () => {
    const g = gate();
    const answer = track(g.request(ask()));
    await quiesce();

    expect(await permissionEvents()).toMatchObject([
      {
        type: 'PERMISSION_REQUEST',
        seq: 2,
        turnId: 't1',
        at: new Date(clock.now()).toISOString(),
        request: {
          requestId: 'r1',
          toolName: 'write_file',
          command: 'write a.txt',
          description: 'Write a file',
          expiresAt: new Date(clock.now() + TIMEOUT).toISOString(),
        },
      },
    ]);
    expect(await status()).toBe('AWAITING_PERMISSION');
    expect(await store.listPermissions(SESSION, 'PENDING')).toMatchObject([{ request: { requestId: 'r1' } }]);
    expect(g.isWaiting('r1')).toBe(true);
    expect(answer.settled).toBe(false);
  });

  it('a user allowing resolves the request ALLOWED and the wait true', async () => {
    const g = gate();
    const answer = g.request(ask());
    await quiesce();

    expect(await g.resolve('r1', true, false, 'USER')).toBe('ALLOWED');
    expect(await answer).toBe(true);
    expect((await permissionEvents()).slice(1)).toMatchObject([
      { type: 'PERMISSION_RESOLVED', requestId: 'r1', allowed: true, alwaysAllow: false, resolution: 'USER' },
    ]);
    expect((await store.getPermission(SESSION, 'r1'))?.status).toBe('ALLOWED');
    expect(await status()).toBe('RUNNING');
    expect(g.isWaiting('r1')).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it('a user denying resolves the request DENIED and the wait false', async () => {
    const g = gate();
    const answer = g.request(ask());
    await quiesce();

    expect(await g.resolve('r1', false, false, 'USER')).toBe('DENIED');
    expect(await answer).toBe(false);
    expect((await permissionEvents()).slice(1)).toMatchObject([
      { type: 'PERMISSION_RESOLVED', requestId: 'r1', allowed: false, resolution: 'USER' },
    ]);
    expect((await store.getPermission(SESSION, 'r1'))?.status).toBe('DENIED');
    expect(clock.pending()).toBe(0);
  });

  it('the PermissionResolvedEvent is stored before resolve() returns', async () => {
    const g = gate();
    void g.request(ask());
    await quiesce();
    // A store that takes a turn of the event loop to write, as a database would.
    const append = store.appendEvents.bind(store);
    store.appendEvents = async (sessionId, events) => {
      await settle();
      return append(sessionId, events);
    };
    await g.resolve('r1', true, false, 'USER');
    // No settling in between: resolve() itself waited for the store.
    expect((await store.getPermission(SESSION, 'r1'))?.status).toBe('ALLOWED');
    expect((await store.getSession(SESSION))?.lastSeq).toBe(3);
  });

  it('a request expires after the timeout: TIMEOUT, EXPIRED, false; a later answer finds it resolved', async () => {
    const g = gate();
    const answer = track(g.request(ask()));
    await quiesce();

    await clock.advanceAsync(TIMEOUT - 1);
    expect(answer.settled).toBe(false);
    expect(g.isWaiting('r1')).toBe(true);

    await clock.advanceAsync(1);
    await quiesce();
    expect(answer).toEqual({ settled: true, value: false });
    expect((await permissionEvents()).slice(1)).toMatchObject([
      { type: 'PERMISSION_RESOLVED', requestId: 'r1', allowed: false, alwaysAllow: false, resolution: 'TIMEOUT' },
    ]);
    expect((await store.getPermission(SESSION, 'r1'))?.status).toBe('EXPIRED');

    expect(await g.resolve('r1', true, false, 'USER')).toBeNull();
    expect(await permissionEvents()).toHaveLength(2);
    expect(clock.pending()).toBe(0);
  });

  it('the first of two answers wins; the second finds the request resolved', async () => {
    const g = gate();
    const answer = g.request(ask());
    await quiesce();

    const [first, second] = await Promise.all([g.resolve('r1', true, false, 'USER'), g.resolve('r1', false, false, 'USER')]);
    expect([first, second]).toEqual(['ALLOWED', null]);
    expect(await answer).toBe(true);
    expect(await permissionEvents()).toHaveLength(2);
  });

  it('with timeoutMs 0, a request never expires', async () => {
    const g = gate({ timeoutMs: 0 });
    const answer = track(g.request(ask()));
    await quiesce();
    expect((await permissionEvents())[0]).toMatchObject({ request: { expiresAt: null } });
    expect(clock.pending()).toBe(0);
    expect(answer.settled).toBe(false);
  });

  it('alwaysAllow adds a rule: the next request of that tool is allowed by one RULE event with a fresh requestId', async () => {
    const g = gate();
    const first = g.request(ask());
    await quiesce();
    expect(await g.resolve('r1', true, true, 'USER')).toBe('ALLOWED');
    expect(await first).toBe(true);
    expect(await store.hasPermissionRule(SESSION, 'write_file')).toBe(true);

    expect(await g.request(ask())).toBe(true);
    expect((await permissionEvents()).map((e) => e.type)).toEqual([
      'PERMISSION_REQUEST',
      'PERMISSION_RESOLVED',
      'PERMISSION_RESOLVED',
    ]);
    expect((await permissionEvents())[2]).toMatchObject({
      type: 'PERMISSION_RESOLVED',
      requestId: 'r2',
      allowed: true,
      alwaysAllow: false,
      resolution: 'RULE',
    });
    expect(clock.pending()).toBe(0);

    // The rule is for that tool only.
    void g.request(ask('delete_file'));
    await quiesce();
    expect((await permissionEvents()).at(-1)).toMatchObject({
      type: 'PERMISSION_REQUEST',
      request: { requestId: 'r3', toolName: 'delete_file' },
    });
  });

  it('ignores alwaysAllow when the answer is a denial', async () => {
    const g = gate();
    const first = g.request(ask());
    await quiesce();
    expect(await g.resolve('r1', false, true, 'USER')).toBe('DENIED');
    expect(await first).toBe(false);
    expect((await permissionEvents())[1]).toMatchObject({ type: 'PERMISSION_RESOLVED', allowed: false, alwaysAllow: false });
    expect(await store.hasPermissionRule(SESSION, 'write_file')).toBe(false);

    void g.request(ask());
    await quiesce();
    expect((await permissionEvents()).at(-1)).toMatchObject({ type: 'PERMISSION_REQUEST', request: { requestId: 'r2' } });
  });

  it.each([
    ['ALLOW_ALL', true],
    ['DENY_ALL', false],
  ] as const)('in mode %s, answers %s without any event', async (mode, allowed) => {
    const g = gate({ mode });
    expect(await g.request(ask())).toBe(allowed);
    await quiesce();
    expect(await permissionEvents()).toEqual([]);
    expect(await status()).toBe('RUNNING');
    expect(clock.pending()).toBe(0);
  });

  it('cancelAll() emits CANCELLED for every waiting request, in order, and the waits reject', async () => {
    const g = gate();
    const first = track(g.request(ask()));
    const second = track(g.request(ask('delete_file')));
    await quiesce();
    expect(clock.pending()).toBe(2);

    g.cancelAll();
    await quiesce();
    expect(first.error).toBeInstanceOf(Error);
    expect(second.error).toBeInstanceOf(Error);
    expect((await permissionEvents()).slice(2)).toMatchObject([
      { type: 'PERMISSION_RESOLVED', requestId: 'r1', allowed: false, resolution: 'CANCELLED' },
      { type: 'PERMISSION_RESOLVED', requestId: 'r2', allowed: false, resolution: 'CANCELLED' },
    ]);
    expect(await store.listPermissions(SESSION, 'CANCELLED')).toHaveLength(2);
    expect(await store.listPermissions(SESSION, 'PENDING')).toEqual([]);
    expect(clock.pending()).toBe(0);
    expect(await g.resolve('r1', true, false, 'USER')).toBeNull();
  });
});
