import { describe, expect, it } from 'vitest';
import { deltaText, seqs, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import {
  CancelTurnMutation,
  CreateSessionMutation,
  DeleteSessionMutation,
  SendMessageMutation,
} from '../utils/operations.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { ofType, streamText as tokens } from '../utils/events-of.js';

async function create(server: TestServer, id: string, permissionMode?: 'ASK' | 'ALLOW_ALL' | 'DENY_ALL') {
  await server.gql(CreateSessionMutation, { input: { id, permissionMode } });
}

async function send(server: TestServer, sessionId: string, text: string) {
  return (await server.gql(SendMessageMutation, { input: { sessionId, text } })).sendMessage;
}

/** A whole turn as one subscriber saw it: only its session's events, gap-free, the exact text. */
function expectOwnTurn(events: readonly Event[], sessionId: string, turnId: string, text: string) {
  expect(events.every((e) => e.sessionId === sessionId), `events of ${sessionId}`).toBe(true);
  expect(events.every((e) => e.turnId === turnId)).toBe(true);
  expect(seqs(events)).toEqual(events.map((_, i) => i + 1));
  expect(events[0]).toMatchObject({ __typename: 'UserMessageEvent' });
  expect(deltaText(events)).toBe(text);
  expect(ofType(events, 'TextCompleteEvent').map((e) => e.text)).toEqual([text]);
  expect(events.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
}

describe('isolation between sessions', () => {
  it('two sessions streaming at once: each subscriber sees only its own session, with the exact text', async () => {
    const server = await startTestServer();
    await Promise.all([create(server, 'iso-a'), create(server, 'iso-b'), create(server, 'iso-quiet')]);
    const a = subscribeEvents(wsClient(server), 'iso-a', 0);
    const b = subscribeEvents(wsClient(server), 'iso-b', 0);
    const quiet = subscribeEvents(wsClient(server), 'iso-quiet', 0);

    // Paced, so the two turns overlap for sure (500 ms and about 420 ms).
    const [sentA, sentB] = await Promise.all([send(server, 'iso-a', '/stream 300 600'), send(server, 'iso-b', '/stream 250 600')]);
    const [turnA, turnB] = await Promise.all([a.untilComplete(10_000), b.untilComplete(10_000)]);
    expectOwnTurn(turnA, 'iso-a', sentA.turnId, tokens(300));
    expectOwnTurn(turnB, 'iso-b', sentB.turnId, tokens(250));
    // They did run at the same time.
    expect(Date.parse(turnA[0]!.at)).toBeLessThan(Date.parse(turnB.at(-1)!.at));
    expect(Date.parse(turnB[0]!.at)).toBeLessThan(Date.parse(turnA.at(-1)!.at));

    await Promise.all([a.nothingWithin(50), b.nothingWithin(50), quiet.nothingWithin(50)]);
  });

  it('one client with two subscriptions, both sessions streaming as fast as they can', async () => {
    const server = await startTestServer();
    await Promise.all([create(server, 'mux-a'), create(server, 'mux-b')]);
    const client = wsClient(server);
    const a = subscribeEvents(client, 'mux-a', 0);
    const b = subscribeEvents(client, 'mux-b', 0);

    const [sentA, sentB] = await Promise.all([send(server, 'mux-a', '/stream 300'), send(server, 'mux-b', '/stream 300')]);
    const [turnA, turnB] = await Promise.all([a.untilComplete(10_000), b.untilComplete(10_000)]);
    expectOwnTurn(turnA, 'mux-a', sentA.turnId, tokens(300));
    expectOwnTurn(turnB, 'mux-b', sentB.turnId, tokens(300));
    await Promise.all([a.nothingWithin(50), b.nothingWithin(50)]);
  });

  it('cancelling or deleting one session leaves the other running and subscribed', async () => {
    const server = await startTestServer();
    await Promise.all([create(server, 'keep'), create(server, 'drop')]);
    const keep = subscribeEvents(wsClient(server), 'keep', 0);
    const drop = subscribeEvents(wsClient(server), 'drop', 0);

    const kept = await send(server, 'keep', '/stream 300 500');
    await send(server, 'drop', '/stream 100000 1000');
    await drop.takeUntil((e) => e.__typename === 'TextDeltaEvent');
    await keep.takeUntil((e) => e.__typename === 'TextDeltaEvent');

    await server.gql(CancelTurnMutation, { sessionId: 'drop' });
    const dropped = await drop.untilComplete(5000);
    expect(dropped.at(-1)).toMatchObject({ reason: 'CANCELLED', sessionId: 'drop' });
    await server.gql(DeleteSessionMutation, { id: 'drop' });
    await drop.done(5000);

    const rest = await keep.untilComplete(10_000);
    expect(keep.ended).toBe(false);
    expectOwnTurn(keep.all, 'keep', kept.turnId, tokens(300));
    // It was still running when the other session's turn was cancelled.
    expect(Date.parse(rest.at(-1)!.at)).toBeGreaterThan(Date.parse(dropped.at(-1)!.at));
    expect(rest.every((e) => e.sessionId === 'keep')).toBe(true);

    // The kept session still takes new turns.
    const next = await send(server, 'keep', 'still here');
    const turn = await keep.untilComplete();
    expect(turn[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'still here', turnId: next.turnId });
  });

  it('each session has its own workspace', async () => {
    const server = await startTestServer();
    await Promise.all([create(server, 'ws-a', 'ALLOW_ALL'), create(server, 'ws-b', 'ALLOW_ALL')]);
    const a = subscribeEvents(wsClient(server), 'ws-a', 0);
    const b = subscribeEvents(wsClient(server), 'ws-b', 0);

    await send(server, 'ws-a', '/write secret.txt only for a');
    expect(ofType(await a.untilComplete(), 'ToolResultEvent')[0]).toMatchObject({ isError: false });

    await send(server, 'ws-b', '/read secret.txt');
    const read = ofType(await b.untilComplete(), 'ToolResultEvent')[0]!;
    expect(read.isError).toBe(true);
    expect(read.result).not.toContain('only for a');

    await send(server, 'ws-b', '/read ../ws-a/secret.txt');
    const escaped = ofType(await b.untilComplete(), 'ToolResultEvent')[0]!;
    expect(escaped.isError).toBe(true);
    expect(escaped.result).not.toContain('only for a');

    await send(server, 'ws-a', '/read secret.txt');
    expect(ofType(await a.untilComplete(), 'ToolResultEvent')[0]).toMatchObject({ result: 'only for a', isError: false });
  });
});
