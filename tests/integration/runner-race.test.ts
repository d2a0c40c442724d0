import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { createMemoryStore } from '../../src/store/memory.js';
import type { RateGate } from '../../src/limits.js';
import type { Store } from '../../src/store/types.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { until } from '../utils/events-of.js';
import { CancelTurnMutation, CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { startTestServer } from '../utils/server.js';
import { signal } from '../utils/signal.js';

/**
 * A turn ends and the session, idle, gives up its lease; a message that arrives just then
 * must start its turn where cancelTurn (and delete, and stop) will find it. The window is
 * held open here by a store whose first queue read after `arm()` (the idle check of the
 * release that follows a turn's end; the next turn's start reads the queue inside
 * Store.startTurn) waits until `release()`.
 */
function queueReadGate() {
  const inner = createMemoryStore();
  let armed = false;
  let reads = 0;
  const held = signal();
  const open = signal();
  const store: Store = Object.create(inner);
  store.listQueue = async (sessionId) => {
    if (armed && ++reads === 1) {
      held.resolve();
      await open.promise;
    }
    return inner.listQueue(sessionId);
  };
  return {
    store,
    arm: () => (armed = true),
    held: held.promise,
    release: () => open.resolve(),
  };
}

/**
 * The rate gate every sendMessage passes first: the returned function gives a promise of the
 * next call's passing it. A message to a session held here makes no store call before it
 * waits its turn on the session (the store operation checks ownership), so this is what shows
 * that it has arrived.
 */
function observedSendRate() {
  let next: ReturnType<typeof signal> | null = null;
  const sendRate: RateGate = {
    take: () => {
      next?.resolve();
      return true;
    },
  };
  return { sendRate, nextSend: () => (next = signal()).promise };
}

it('a message arriving while an idle session gives up its lease starts a turn that cancelTurn can cancel', async () => {
  const gate = queueReadGate();
  const rate = observedSendRate();
  const server = await startTestServer({ store: gate.store, sendRate: rate.sendRate });
  const id = 'runner-race';
  await server.gql(CreateSessionMutation, { input: { id } });
  const events = subscribeEvents(wsClient(server), id, 0);

  await server.gql(SendMessageMutation, { input: { sessionId: id, text: '/sleep 50' } });
  gate.arm();
  await gate.held; // the turn has ended; the release's idle check is waiting

  const arrived = rate.nextSend();
  const sending = server.gql(SendMessageMutation, { input: { sessionId: id, text: '/sleep 600000' } });
  await arrived;
  await nextMacrotask(); // the message now waits behind the release
  gate.release();
  const { sendMessage } = await sending;
  expect(sendMessage.queued).toBe(false);
  await until(events, 'UserMessageEvent');
  await until(events, 'UserMessageEvent');

  const { cancelTurn } = await server.gql(CancelTurnMutation, { sessionId: id });
  expect(cancelTurn.status).toBe('IDLE');
  const cut = await events.untilComplete(5000);
  expect(cut).toEqual([expect.objectContaining({ __typename: 'CompleteEvent', reason: 'CANCELLED', turnId: sendMessage.turnId })]);
});
