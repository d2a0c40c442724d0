import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { until } from '../utils/events-of.js';
import { CancelTurnMutation, CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { startTestServer } from '../utils/server.js';
import { observeSessionReads, signal } from '../utils/signal.js';

/**
 * A turn ends and the session, idle, gives up its lease; a message that arrives just then
 * must start its turn where cancelTurn (and delete, and stop) will find it. The window is
 * held open here by a store whose second queue read after `arm()` (the idle check of the
 * release that follows a turn's end) waits until `release()`.
 */
function queueReadGate() {
  const inner = createMemoryStore();
  let armed = false;
  let reads = 0;
  const held = signal();
  const open = signal();
  const store: Store = Object.create(inner);
  store.listQueue = async (sessionId) => {
    if (armed && ++reads === 2) {
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
    nextSessionRead: observeSessionReads(store),
  };
}

it('a message arriving while an idle session gives up its lease starts a turn that cancelTurn can cancel', async () => {
  const gate = queueReadGate();
  const server = await startTestServer({ store: gate.store });
  const id = 'runner-race';
  await server.gql(CreateSessionMutation, { input: { id } });
  const events = subscribeEvents(wsClient(server), id, 0);

  await server.gql(SendMessageMutation, { input: { sessionId: id, text: '/sleep 50' } });
  gate.arm();
  await gate.held; // the turn has ended; the release's idle check is waiting

  const read = gate.nextSessionRead();
  const sending = server.gql(SendMessageMutation, { input: { sessionId: id, text: '/sleep 600000' } });
  await read;
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
