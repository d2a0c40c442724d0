import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite.js';
import type { Store, TurnOutcome } from '../../src/store/types.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { until } from '../utils/events-of.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { onCleanup, startTestServer } from '../utils/server.js';
import { userMessage } from '../utils/events.js';
import { waitUntil } from '../utils/wait.js';

/**
 * The real SQLite store behind a proxy that writes down every call it forwards: its method,
 * and for `startTurn`, whether a turn started (its USER_MESSAGE stored, to be published).
 */
function countedSqliteStore() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-turn-start-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const inner = createSqliteStore({ path: join(dir, 'switchboard.db') });
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function' || name === 'close') return value;
      return async (...args: unknown[]) => {
        const index = calls.push(String(name)) - 1;
        const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)) as unknown;
        if (name === 'startTurn' && (result as TurnOutcome).outcome === 'done' && (result as { started: unknown }).started) {
          calls[index] = 'startTurn (started)';
        }
        return result;
      };
    },
  }) as Store;
  /** The calls made from now until (and with) the one that started a turn. */
  const from = () => {
    const start = calls.length;
    return () => {
      const made = calls.slice(start);
      const started = made.indexOf('startTurn (started)');
      return started < 0 ? made : made.slice(0, started + 1);
    };
  };
  return { store, inner, from };
}

/** A test server on the counted store, with one session `id` created through the API, and its owner. */
async function serverWithSession(id: string) {
  const counted = countedSqliteStore();
  const server = await startTestServer({ store: counted.store });
  await server.gql(CreateSessionMutation, { input: { id } });
  const { userId } = (await counted.inner.getSession(id))!;
  return { counted, server, userId };
}

it('a turn starts in one store call: a message to a session held here, and the next queued message when a turn ends', async () => {
  const id = 'turn-start';
  const { counted, server, userId } = await serverWithSession(id);
  const events = subscribeEvents(wsClient(server), id, 0);
  // The manager itself: what a GraphQL answer's fields read after it is not the mutation's path.
  const { sessions } = server.app;

  // An idle session whose lease is not held (every turn's end gives it up): the claim, then the
  // one operation (which also takes the session over: had a dead holder left it open, it would
  // say so). The session's owner is known here since its creation: no read before the claim.
  await server.gql(SendMessageMutation, { input: { sessionId: id, text: 'warm up' } });
  await events.untilComplete(5000);
  await waitUntil(async () => (await counted.inner.getLease(id)) === null, 'the idle session gives its lease up', 5000);
  let made = counted.from();
  await sessions.sendMessage(userId, { sessionId: id, text: '/sleep 60000' });
  expect(made()).toEqual(['claimLease', 'startTurn (started)']);
  await until(events, 'UserMessageEvent');

  // Held here (a turn runs): the message is queued in one call, nothing before it.
  made = counted.from();
  const answer = await sessions.sendMessage(userId, { sessionId: id, text: 'next' });
  expect(answer).toMatchObject({ queued: true, session: { status: 'RUNNING' } });
  expect(made()).toEqual(['startTurn']);

  // The turn ends: the queued message starts in one call.
  made = counted.from();
  await sessions.cancelTurn(userId, id);
  await until(events, 'UserMessageEvent');
  const ended = made();
  expect(ended.at(-1)).toBe('startTurn (started)');
  const sinceEnd = ended.slice(ended.lastIndexOf('appendEvents') + 1);
  expect(sinceEnd, 'from the stored CompleteEvent to the next UserMessageEvent').toEqual(['startTurn (started)']);
});

it('a message to a session a dead holder left mid-turn ends that turn INTERRUPTED first, then starts, in its answer', async () => {
  const id = 'left-open';
  const { counted, server, userId } = await serverWithSession(id);
  // What a holder that died mid-turn leaves: its turn's UserMessage stored, no end, no lease.
  await counted.inner.appendEvents(id, [userMessage(id, 'cut short', { turnId: 'dead-turn' })]);

  const answer = await server.app.sessions.sendMessage(userId, { sessionId: id, text: '/sleep 60000', clientMessageId: 'c1' });
  expect(answer).toMatchObject({ queued: false, session: { status: 'RUNNING' } });
  const stored = await counted.inner.readEvents(id, 0, 100);
  expect(stored.map((e) => `${e.type} ${e.turnId}`)).toEqual(['USER_MESSAGE dead-turn', 'COMPLETE dead-turn', `USER_MESSAGE ${answer.turnId}`]);
  expect(stored[1]).toMatchObject({ reason: 'INTERRUPTED' });
  expect(await counted.inner.getClientMessage(id, 'c1')).toEqual({ turnId: answer.turnId, queued: false });
  await server.app.sessions.cancelTurn(userId, id);
});

it("a message to a session this process has not seen reads its owner before claiming its lease; another user's is NOT_FOUND with no claim", async () => {
  const counted = countedSqliteStore();
  const server = await startTestServer({ store: counted.store });
  const id = 'made-elsewhere';
  // Created by another instance (straight into the shared store): unknown to this one.
  const now = new Date().toISOString();
  await counted.inner.createSession({ id, userId: 'ann', title: 't', model: 'demo', permissionMode: 'ASK', status: 'IDLE', lastSeq: 0, createdAt: now, updatedAt: now });

  let made = counted.from();
  await expect(server.app.sessions.sendMessage('bob', { sessionId: id, text: 'hi' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect(made()).toEqual(['getSession']);
  // Now known (as ann's): bob is refused without a store call.
  made = counted.from();
  await expect(server.app.sessions.sendMessage('bob', { sessionId: id, text: 'hi' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect(made()).toEqual([]);

  made = counted.from();
  const answer = await server.app.sessions.sendMessage('ann', { sessionId: id, text: '/sleep 60000' });
  expect(answer).toMatchObject({ queued: false, session: { status: 'RUNNING' } });
  expect(made()).toEqual(['claimLease', 'startTurn (started)']);
  await server.app.sessions.cancelTurn('ann', id);
});

it('a session deleted by another instance after this one saw it answers NOT_FOUND, and its lease is given back', async () => {
  const id = 'deleted-elsewhere';
  const { counted, server, userId } = await serverWithSession(id);
  await counted.inner.deleteSession(id);

  await expect(server.app.sessions.sendMessage(userId, { sessionId: id, text: 'hi' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect(await counted.inner.getLease(id)).toBeNull();
  expect(await counted.inner.getSession(id)).toBeNull();
  // Forgotten: the next message reads first, and claims nothing.
  const made = counted.from();
  await expect(server.app.sessions.sendMessage(userId, { sessionId: id, text: 'hi' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect(made()).toEqual(['getSession']);
});
