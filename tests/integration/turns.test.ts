import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { deltaText, seqs, subscribe, subscribeEvents, wsClient, type EventStream } from '../utils/clients.js';
import {
  CancelTurnMutation,
  CreateSessionMutation,
  DeleteSessionMutation,
  RespondToPermissionMutation,
  SendMessageMutation,
  SessionEventsSubscription,
  SessionQuery,
  SessionsQuery,
} from '../utils/operations.js';
import type { SendMessageInput } from '../gql/graphql.js';
import { QueueEnded } from '../utils/queue.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { until, ofType, codeOf, streamText as tokens } from '../utils/events-of.js';


async function open(server: TestServer, id: string) {
  await server.gql(CreateSessionMutation, { input: { id } });
  return subscribeEvents(wsClient(server), id, 0);
}

function sendRaw(server: TestServer, input: SendMessageInput) {
  return server.request(SendMessageMutation, { input });
}

async function send(server: TestServer, input: SendMessageInput) {
  return (await server.gql(SendMessageMutation, { input })).sendMessage;
}

async function allow(server: TestServer, sessionId: string, requestId: string) {
  await server.gql(RespondToPermissionMutation, { input: { sessionId, requestId, allowed: true } });
}

async function session(server: TestServer, id: string) {
  return (await server.gql(SessionQuery, { id })).session;
}

/** Starts a turn that holds the session (it waits for a permission nobody has given yet). */
async function hold(server: TestServer, events: EventStream, sessionId: string) {
  const sent = await send(server, { sessionId, text: '/write hold.txt held' });
  expect(sent.queued).toBe(false);
  const { last } = await until(events, 'PermissionRequestEvent');
  return { turnId: sent.turnId, requestId: last.request.requestId };
}

/** The errors a subscription ends with, whether sent as a result or as a protocol error. */
async function subscriptionErrors(sub: { next(timeoutMs?: number): Promise<ExecutionResult<unknown>> }) {
  try {
    const result = await sub.next();
    return result.errors ?? [];
  } catch (error) {
    if (error instanceof QueueEnded && Array.isArray(error.reason)) return error.reason as GraphQLFormattedError[];
    throw error;
  }
}

/**
 * A client's mistake, reported as such (not as a masked internal error), with no internals:
 * no stack trace, no original error, nothing that looks like a stack frame.
 */
function expectClean(errors: readonly GraphQLFormattedError[] | undefined) {
  expect(errors?.length).toBeGreaterThan(0);
  for (const error of errors!) {
    expect(error.extensions?.code).toBeDefined();
    expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    expect(error.extensions ?? {}).not.toHaveProperty('stacktrace');
    expect(error.extensions ?? {}).not.toHaveProperty('originalError');
    expect(error).not.toHaveProperty('stack');
    expect(JSON.stringify(error)).not.toMatch(/\n\s+at |\.(ts|js):\d+/);
  }
}

describe('turn queue and strategies', () => {
  it('ENQUEUE: messages sent while a turn runs are queued and run FIFO, each UserMessage when its turn starts', async () => {
    const server = await startTestServer();
    const events = await open(server, 'fifo');
    const first = await hold(server, events, 'fifo');

    const texts = ['/write q1.txt one', '/write q2.txt two', '/write q3.txt three'];
    const queued = [];
    for (const text of texts) {
      const sent = await send(server, { sessionId: 'fifo', text });
      expect(sent.queued).toBe(true);
      queued.push(sent);
      expect(sent.session.queuedMessages.map((m) => m.text)).toEqual(texts.slice(0, queued.length));
    }
    expect(new Set([first.turnId, ...queued.map((q) => q.turnId)]).size).toBe(4);
    const waiting = (await session(server, 'fifo'))!;
    expect(waiting.status).toBe('AWAITING_PERMISSION');
    expect(waiting.queuedMessages.map((m) => [m.turnId, m.text])).toEqual(queued.map((q, i) => [q.turnId, texts[i]]));
    // Queued messages have no UserMessageEvent yet.
    await events.nothingWithin(100);

    await allow(server, 'fifo', first.requestId);
    const firstRest = await events.untilComplete();
    expect(firstRest.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: first.turnId });

    for (const [i, q] of queued.entries()) {
      const started = await events.next();
      expect(started).toMatchObject({ __typename: 'UserMessageEvent', turnId: q.turnId, text: texts[i] });
      // When its UserMessage arrives, the message has left the queue, the later ones have not.
      const now = (await session(server, 'fifo'))!;
      expect(now.queuedMessages.map((m) => m.turnId)).toEqual(queued.slice(i + 1).map((m) => m.turnId));
      expect(now.status).not.toBe('IDLE');
      const { last } = await until(events, 'PermissionRequestEvent');
      expect(last.turnId).toBe(q.turnId);
      await allow(server, 'fifo', last.request.requestId);
      const rest = await events.untilComplete();
      expect(rest.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: q.turnId });
      expect(ofType(rest, 'ToolResultEvent')[0]!.isError).toBe(false);
    }
    await events.nothingWithin(100);
    expect((await session(server, 'fifo'))!).toMatchObject({ status: 'IDLE', queuedMessages: [] });
  });

  it('REJECT: CONFLICT while a turn runs and nothing is recorded, so the same clientMessageId may start a turn later', async () => {
    const server = await startTestServer();
    const events = await open(server, 'reject');
    const held = await hold(server, events, 'reject');
    const before = (await session(server, 'reject'))!;

    for (let i = 0; i < 2; i++) {
      const rejected = await sendRaw(server, { sessionId: 'reject', text: 'not now', clientMessageId: 'r1', strategy: 'REJECT' });
      expect(codeOf(rejected)).toBe('CONFLICT');
    }
    const after = (await session(server, 'reject'))!;
    expect(after.queuedMessages).toEqual([]);
    expect(after.lastSeq).toBe(before.lastSeq);
    await events.nothingWithin(50);

    await allow(server, 'reject', held.requestId);
    await events.untilComplete();

    const retried = await send(server, { sessionId: 'reject', text: 'not now', clientMessageId: 'r1', strategy: 'REJECT' });
    expect(retried.queued).toBe(false);
    expect(retried.turnId).not.toBe(held.turnId);
    const turn = await events.untilComplete();
    expect(turn[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'not now', turnId: retried.turnId });
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: retried.turnId });
  });

  it('INTERRUPT: the running turn ends CANCELLED and the new message runs next, before the queue', async () => {
    const server = await startTestServer();
    const events = await open(server, 'interrupt');
    const running = await send(server, { sessionId: 'interrupt', text: '/stream 100000 1000' });
    await until(events, 'TextDeltaEvent');
    const waiting = await send(server, { sessionId: 'interrupt', text: 'waiting in line' });
    expect(waiting.queued).toBe(true);

    const urgent = await send(server, { sessionId: 'interrupt', text: 'urgent', strategy: 'INTERRUPT' });
    expect(urgent.queued).toBe(false);

    const cut = await events.untilComplete(5000);
    expect(cut.at(-1)).toMatchObject({ reason: 'CANCELLED', turnId: running.turnId });
    expect(ofType(cut, 'TextCompleteEvent')).toEqual([]);

    const next = await events.untilComplete();
    expect(next[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'urgent', turnId: urgent.turnId });
    expect(next.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: urgent.turnId });

    const last = await events.untilComplete();
    expect(last[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'waiting in line', turnId: waiting.turnId });
    expect(last.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: waiting.turnId });
    await events.nothingWithin(50);
  });

  it('INTERRUPT on an idle session simply starts the turn', async () => {
    const server = await startTestServer();
    const events = await open(server, 'interrupt-idle');
    const sent = await send(server, { sessionId: 'interrupt-idle', text: 'hi', strategy: 'INTERRUPT' });
    expect(sent.queued).toBe(false);
    const turn = await events.untilComplete();
    expect(turn.map((e) => e.__typename)).not.toContain('ErrorEvent');
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: sent.turnId });
  });
});

describe('idempotent sendMessage (clientMessageId)', () => {
  it('a retry returns the first turnId and queued value, whatever its text, and starts nothing', async () => {
    const server = await startTestServer();
    const events = await open(server, 'idem');

    const first = await send(server, { sessionId: 'idem', text: 'first', clientMessageId: 'c1' });
    expect(first.queued).toBe(false);
    const retry = await send(server, { sessionId: 'idem', text: 'something else', clientMessageId: 'c1' });
    expect(retry).toMatchObject({ turnId: first.turnId, queued: false });
    const turn = await events.untilComplete();
    expect(turn[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'first', turnId: first.turnId });
    // Still the same answer once the turn is over, and still nothing starts.
    const late = await send(server, { sessionId: 'idem', text: 'first', clientMessageId: 'c1' });
    expect(late).toMatchObject({ turnId: first.turnId, queued: false });
    // Whatever its text means even one that would be refused on a first call.
    const empty = await send(server, { sessionId: 'idem', text: '', clientMessageId: 'c1' });
    expect(empty).toMatchObject({ turnId: first.turnId, queued: false });
    await events.nothingWithin(100);

    // A queued message: its retry answers queued: true and queues nothing more.
    const held = await hold(server, events, 'idem');
    const queued = await send(server, { sessionId: 'idem', text: 'second', clientMessageId: 'c2' });
    expect(queued.queued).toBe(true);
    const queuedRetry = await send(server, { sessionId: 'idem', text: 'second, again', clientMessageId: 'c2', strategy: 'REJECT' });
    expect(queuedRetry).toMatchObject({ turnId: queued.turnId, queued: true });
    expect(queuedRetry.session.queuedMessages.map((m) => m.text)).toEqual(['second']);

    // Two concurrent sends with one id: one turn.
    const [a, b] = await Promise.all([
      send(server, { sessionId: 'idem', text: 'third', clientMessageId: 'c3' }),
      send(server, { sessionId: 'idem', text: 'third', clientMessageId: 'c3' }),
    ]);
    expect(a).toMatchObject({ turnId: b.turnId, queued: true });

    await allow(server, 'idem', held.requestId);
    await events.untilComplete();
    const second = await events.untilComplete();
    expect(second[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'second', turnId: queued.turnId });
    const third = await events.untilComplete();
    expect(third[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'third', turnId: a.turnId });
    await events.nothingWithin(100);

    const all = (await server.gql(SessionQuery, { id: 'idem', limit: 1000 })).session!.events;
    expect(ofType(all, 'UserMessageEvent').map((e) => e.text)).toEqual(['first', '/write hold.txt held', 'second', 'third']);
    expect(ofType(all, 'CompleteEvent')).toHaveLength(4);

    // The key is per session: another session's identical id is a new message.
    const otherEvents = await open(server, 'idem-other');
    const other = await send(server, { sessionId: 'idem-other', text: 'first', clientMessageId: 'c1' });
    expect(other.turnId).not.toBe(first.turnId);
    expect((await otherEvents.untilComplete())[0]).toMatchObject({ __typename: 'UserMessageEvent', turnId: other.turnId });
  });
  it('a retried INTERRUPT interrupts nothing: the turn it started runs to its end', async () => {
    const server = await startTestServer();
    const events = await open(server, 'idem-interrupt');
    const running = await send(server, { sessionId: 'idem-interrupt', text: '/stream 100000 1000' });
    await until(events, 'TextDeltaEvent');
    const urgent = await send(server, { sessionId: 'idem-interrupt', text: '/stream 30 300', clientMessageId: 'i1', strategy: 'INTERRUPT' });
    const cut = await events.untilComplete(5000);
    expect(cut.at(-1)).toMatchObject({ reason: 'CANCELLED', turnId: running.turnId });
    await until(events, 'TextDeltaEvent');

    const retry = await send(server, { sessionId: 'idem-interrupt', text: '/stream 30 300', clientMessageId: 'i1', strategy: 'INTERRUPT' });
    expect(retry).toMatchObject({ turnId: urgent.turnId, queued: false });
    const rest = await events.untilComplete(5000);
    expect(rest.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: urgent.turnId });
    expect(ofType(rest, 'TextCompleteEvent').map((e) => e.text)).toEqual([tokens(30)]);
    await events.nothingWithin(100);
  });
});

describe('cancel, fail, sleep', () => {
  it('cancelTurn stops a long stream promptly (Complete CANCELLED, no TextComplete), then the queue runs', async () => {
    const server = await startTestServer();
    const events = await open(server, 'cancel');
    const running = await send(server, { sessionId: 'cancel', text: '/stream 100000 1000' });
    const next = await send(server, { sessionId: 'cancel', text: 'after the cancel' });
    expect(next.queued).toBe(true);
    const started = await until(events, 'TextDeltaEvent');

    const t0 = Date.now();
    const cancelling = server.gql(CancelTurnMutation, { sessionId: 'cancel' });
    const cut = await events.untilComplete(10_000);
    const elapsed = Date.now() - t0;
    expect(cut.at(-1)).toMatchObject({ reason: 'CANCELLED', turnId: running.turnId });
    expect(elapsed).toBeLessThan(1000);
    const streamed = [...started.events, ...cut];
    expect(ofType(streamed, 'TextCompleteEvent')).toEqual([]);
    // What was streamed is a whole prefix of the tokens, far short of all of them.
    const text = deltaText(streamed);
    const count = text.trim().split(' ').length;
    expect(text).toBe(tokens(count));
    expect(count).toBeLessThan(100_000);
    await cancelling;

    const queued = await events.untilComplete();
    expect(queued[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'after the cancel', turnId: next.turnId });
    expect(queued.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: next.turnId });
    expect(seqs([...streamed, ...queued])).toEqual([...streamed, ...queued].map((_, i) => i + 1));
  });

  it('cancelTurn on an idle session does nothing and returns the session', async () => {
    const server = await startTestServer();
    const events = await open(server, 'idle');
    await send(server, { sessionId: 'idle', text: 'hello' });
    await events.untilComplete();
    const before = (await session(server, 'idle'))!;
    const { cancelTurn } = await server.gql(CancelTurnMutation, { sessionId: 'idle' });
    expect(cancelTurn).toMatchObject({
      id: 'idle',
      status: 'IDLE',
      lastSeq: before.lastSeq,
      updatedAt: before.updatedAt,
      queuedMessages: [],
      pendingPermissions: [],
    });
    await events.nothingWithin(100);
    expect((await session(server, 'idle'))!.lastSeq).toBe(before.lastSeq);
  });

  it('/fail: ErrorEvent then Complete ERROR, and the cut-short text block has no TextComplete', async () => {
    const server = await startTestServer();
    const events = await open(server, 'fail');
    const sent = await send(server, { sessionId: 'fail', text: '/fail boom' });
    const turn = await events.untilComplete();
    expect(turn[0]).toMatchObject({ __typename: 'UserMessageEvent', turnId: sent.turnId });
    expect(deltaText(turn).length).toBeGreaterThan(0);
    expect(ofType(turn, 'TextCompleteEvent')).toEqual([]);
    expect(turn.at(-2)).toMatchObject({ __typename: 'ErrorEvent', error: 'boom', turnId: sent.turnId });
    expect(turn.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'ERROR', turnId: sent.turnId });
    expect(ofType(turn, 'ErrorEvent')).toHaveLength(1);
    expect((await session(server, 'fail'))!.status).toBe('IDLE');
  });

  it('/sleep waits, then completes; a cancel cuts it short', async () => {
    const server = await startTestServer();
    const events = await open(server, 'sleep');
    await send(server, { sessionId: 'sleep', text: '/sleep 200' });
    const turn = await events.untilComplete();
    expect(turn.map((e) => e.__typename)).toEqual(['UserMessageEvent', 'CompleteEvent']);
    expect(turn[1]).toMatchObject({ reason: 'END_TURN' });
    expect(Date.parse(turn[1]!.at) - Date.parse(turn[0]!.at)).toBeGreaterThanOrEqual(195);

    await send(server, { sessionId: 'sleep', text: '/sleep 600000' });
    await until(events, 'UserMessageEvent');
    await server.gql(CancelTurnMutation, { sessionId: 'sleep' });
    const cut = await events.untilComplete(5000);
    expect(cut).toEqual([expect.objectContaining({ __typename: 'CompleteEvent', reason: 'CANCELLED' })]);
  });
});

describe('deleteSession and subscriptions', () => {
  it('deleting during a turn: Complete CANCELLED, the subscription completes, then the session is gone everywhere', async () => {
    const server = await startTestServer();
    const client = wsClient(server);
    await server.gql(CreateSessionMutation, { input: { id: 'doomed' } });
    const events = subscribeEvents(client, 'doomed', 0);
    const running = await send(server, { sessionId: 'doomed', text: '/stream 100000 1000' });
    await send(server, { sessionId: 'doomed', text: 'never runs' });
    await until(events, 'TextDeltaEvent');

    const deleted = await server.gql(DeleteSessionMutation, { id: 'doomed' });
    expect(deleted.deleteSession).toBe(true);
    const rest = await events.untilComplete(5000);
    expect(rest.at(-1)).toMatchObject({ reason: 'CANCELLED', turnId: running.turnId });
    await events.done(5000);
    expect(ofType(events.all, 'UserMessageEvent').map((e) => e.text)).toEqual(['/stream 100000 1000']);

    expect((await server.gql(SessionQuery, { id: 'doomed' })).session).toBeNull();
    expect((await server.gql(SessionsQuery, {})).sessions.map((s) => s.id)).not.toContain('doomed');
    expect(codeOf(await sendRaw(server, { sessionId: 'doomed', text: 'hello?' }))).toBe('NOT_FOUND');
    expect(codeOf(await server.request(CancelTurnMutation, { sessionId: 'doomed' }))).toBe('NOT_FOUND');
    expect(codeOf(await server.request(DeleteSessionMutation, { id: 'doomed' }))).toBe('NOT_FOUND');
    expect(
      codeOf(
        await server.request(RespondToPermissionMutation, { input: { sessionId: 'doomed', requestId: 'x', allowed: true } }),
      ),
    ).toBe('NOT_FOUND');
    const errors = await subscriptionErrors(subscribe(client, SessionEventsSubscription, { sessionId: 'doomed', after: 0 }));
    expect(errors.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);

    // The id is free again, for a fresh session.
    const again = await server.gql(CreateSessionMutation, { input: { id: 'doomed' } });
    expect(again.createSession).toMatchObject({ lastSeq: 0, status: 'IDLE', queuedMessages: [] });
  });

  it('deleting an idle session completes its open subscriptions', async () => {
    const server = await startTestServer();
    const events = await open(server, 'quiet');
    await send(server, { sessionId: 'quiet', text: 'hi' });
    await events.untilComplete();
    await server.gql(DeleteSessionMutation, { id: 'quiet' });
    await events.done(5000);
  });

  it('closing a subscription never cancels the turn: resubscribing with after sees it end END_TURN', async () => {
    const server = await startTestServer();
    await server.gql(CreateSessionMutation, { input: { id: 'leave' } });
    const first = subscribeEvents(wsClient(server), 'leave', 0);
    const disposable = wsClient(server);
    const second = subscribeEvents(disposable, 'leave', 0);
    const sent = await send(server, { sessionId: 'leave', text: '/stream 40 100' });

    const seen = await until(first, 'TextDeltaEvent');
    first.unsubscribe();
    await until(second, 'TextDeltaEvent');
    await disposable.dispose();
    const lastSeen = seen.last.seq;

    const third = subscribeEvents(wsClient(server), 'leave', lastSeen);
    const rest = await third.untilComplete(10_000);
    expect(rest.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: sent.turnId });
    expect(seqs(rest)).toEqual(rest.map((_, i) => lastSeen + 1 + i));
    const expected = tokens(40);
    expect(deltaText([...seen.events, ...rest])).toBe(expected);
    expect(ofType(rest, 'TextCompleteEvent').map((e) => e.text)).toEqual([expected]);
  });

  it('a turn whose only subscriber left while it waited goes on when answered', async () => {
    const server = await startTestServer();
    await server.gql(CreateSessionMutation, { input: { id: 'alone' } });
    const client = wsClient(server);
    const events = subscribeEvents(client, 'alone', 0);
    const held = await hold(server, events, 'alone');
    const lastSeen = events.all.at(-1)!.seq;
    await client.dispose();

    // Nobody listens: the turn still waits, nothing was cancelled.
    const waiting = (await session(server, 'alone'))!;
    expect(waiting).toMatchObject({ status: 'AWAITING_PERMISSION', lastSeq: lastSeen });
    expect(waiting.pendingPermissions.map((p) => p.requestId)).toEqual([held.requestId]);

    await allow(server, 'alone', held.requestId);
    const again = subscribeEvents(wsClient(server), 'alone', lastSeen);
    const rest = await again.untilComplete();
    expect(rest.map((e) => e.__typename)).toEqual(['PermissionResolvedEvent', 'ToolResultEvent', 'CompleteEvent']);
    expect(rest.at(-1)).toMatchObject({ reason: 'END_TURN', turnId: held.turnId, seq: lastSeen + 3 });
  });
});

describe('input errors', () => {
  it('session ids, duplicates, models and empty text', async () => {
    const server = await startTestServer();
    for (const id of ['bad id', 'semi;colon', 'x'.repeat(129), '', '../up', 'é']) {
      expect(codeOf(await server.request(CreateSessionMutation, { input: { id } })), JSON.stringify(id)).toBe('BAD_USER_INPUT');
    }
    const long = 'A-z_09'.repeat(21) + 'xy';
    expect(long).toHaveLength(128);
    expect((await server.gql(CreateSessionMutation, { input: { id: long } })).createSession.id).toBe(long);

    await server.gql(CreateSessionMutation, { input: { id: 'twice' } });
    expect(codeOf(await server.request(CreateSessionMutation, { input: { id: 'twice' } }))).toBe('CONFLICT');

    expect(codeOf(await server.request(CreateSessionMutation, { input: { model: 'no-such-model' } }))).toBe('BAD_USER_INPUT');

    expect(codeOf(await sendRaw(server, { sessionId: 'twice', text: '' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await sendRaw(server, { sessionId: 'twice', text: '  \n ' }))).toBe('BAD_USER_INPUT');
    expect((await session(server, 'twice'))!.lastSeq).toBe(0);
  });

  it('cursor and limit ranges', async () => {
    const server = await startTestServer();
    const client = wsClient(server);
    await server.gql(CreateSessionMutation, { input: { id: 'ranges' } });

    const negative = await subscriptionErrors(subscribe(client, SessionEventsSubscription, { sessionId: 'ranges', after: -1 }));
    expect(negative.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(codeOf(await server.request(SessionQuery, { id: 'ranges', after: -1 }))).toBe('BAD_USER_INPUT');

    for (const limit of [0, 1001, -5]) {
      expect(codeOf(await server.request(SessionQuery, { id: 'ranges', limit })), `events limit ${limit}`).toBe('BAD_USER_INPUT');
    }
    for (const limit of [1, 1000]) {
      expect((await server.request(SessionQuery, { id: 'ranges', limit })).errors, `events limit ${limit}`).toBeUndefined();
    }
    for (const limit of [0, 201, -1]) {
      expect(codeOf(await server.request(SessionsQuery, { limit })), `sessions limit ${limit}`).toBe('BAD_USER_INPUT');
    }
    for (const limit of [1, 200]) {
      expect((await server.request(SessionsQuery, { limit })).errors, `sessions limit ${limit}`).toBeUndefined();
    }
  });

  it('unknown enum values and wrong variable types are errors without internals, over HTTP and graphql-ws', async () => {
    const server = await startTestServer();
    const client = wsClient(server);
    await server.gql(CreateSessionMutation, { input: { id: 'types' } });
    const bad: Array<[string, Record<string, unknown> | undefined]> = [
      [`mutation { createSession(input: { permissionMode: SOMETIMES }) { id } }`, undefined],
      [`mutation M($input: CreateSessionInput) { createSession(input: $input) { id } }`, { input: { permissionMode: 'SOMETIMES' } }],
      [`mutation M($input: SendMessageInput!) { sendMessage(input: $input) { turnId } }`, { input: { sessionId: 'types', text: 'x', strategy: 'LATER' } }],
      [`query Q($limit: Int) { sessions(limit: $limit) { id } }`, { limit: 'ten' }],
      [`query Q($limit: Int) { sessions(limit: $limit) { id } }`, { limit: 1.5 }],
      [`query Q($id: ID!) { session(id: $id) { id } }`, { id: { not: 'an id' } }],
      [`query Q($id: ID!) { session(id: $id) { id } }`, {}],
      [`query { session(id: "types") { nope } }`, undefined],
    ];
    for (const [query, variables] of bad) {
      const http = await server.request(query, variables);
      expect(http.data ?? null, query).toBeNull();
      expectClean(http.errors);
    }
    // The same over graphql-ws (a plain query and mutation on the socket).
    for (const [query, variables] of bad) {
      const errors = await new Promise<readonly GraphQLFormattedError[]>((resolve, reject) => {
        let errs: readonly GraphQLFormattedError[] = [];
        client.subscribe(
          { query, variables },
          {
            next: (value) => (errs = value.errors ?? []),
            error: (error) => (Array.isArray(error) ? resolve(error) : reject(error)),
            complete: () => resolve(errs),
          },
        );
      });
      expectClean(errors);
    }
  });
});
