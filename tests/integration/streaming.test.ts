import { describe, expect, it } from 'vitest';
import { deltaText, seqs, sseClient, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { streamText } from '../utils/events-of.js';

async function newSession(server: TestServer, id: string) {
  await server.gql(CreateSessionMutation, { input: { id } });
}

function expectGapFree(events: readonly Event[], from = 1) {
  expect(seqs(events)).toEqual(events.map((_, i) => from + i));
}

describe('delta coalescing, end to end', () => {
  it('delivers /stream 2000 as far fewer delta events with the exact text', async () => {
    const server = await startTestServer();
    await newSession(server, 'burst');
    const events = subscribeEvents(wsClient(server), 'burst', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'burst', text: '/stream 2000' } });

    const turn = await events.untilComplete();
    const deltas = turn.filter((e) => e.__typename === 'TextDeltaEvent');
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.length).toBeLessThan(200);
    expect(deltaText(turn)).toBe(streamText(2000));
    expect(turn.find((e) => e.__typename === 'TextCompleteEvent')).toMatchObject({ text: streamText(2000) });
    expectGapFree(turn);
  });

  it('publishes the first delta at once and flushes the pending one before any other event', async () => {
    // A window far longer than the turn: if the first delta were held back it would be
    // joined with the rest; the others can only come out because TextComplete flushes them.
    const server = await startTestServer({ coalesceWindowMs: 60_000 });
    await newSession(server, 'leading-edge');
    const events = subscribeEvents(wsClient(server), 'leading-edge', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'leading-edge', text: '/stream 6 200' } });

    const turn = await events.untilComplete();
    expect(turn.map((e) => e.__typename)).toEqual([
      'UserMessageEvent',
      'TextDeltaEvent',
      'TextDeltaEvent',
      'TextCompleteEvent',
      'CompleteEvent',
    ]);
    expect(turn[1]).toMatchObject({ delta: 't1 ' });
    expect(turn[2]).toMatchObject({ delta: 't2 t3 t4 t5 t6 ' });
  });

  it('flushes a pending delta early once it reaches COALESCE_MAX_BYTES', async () => {
    const server = await startTestServer({ coalesceWindowMs: 60_000, coalesceMaxBytes: 1000 });
    await newSession(server, 'max-bytes');
    const events = subscribeEvents(wsClient(server), 'max-bytes', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'max-bytes', text: '/stream 2000' } });

    const turn = await events.untilComplete();
    const deltas = turn.flatMap((e) => (e.__typename === 'TextDeltaEvent' ? [e.delta] : []));
    expect(deltaText(turn)).toBe(streamText(2000));
    // First: the leading edge alone. Last: what TextComplete flushed. Between: each one
    // went out as soon as it reached the bound, so none is much past it.
    const middle = deltas.slice(1, -1);
    expect(middle.length).toBeGreaterThan(5);
    for (const d of middle) {
      expect(Buffer.byteLength(d)).toBeGreaterThanOrEqual(1000);
      expect(Buffer.byteLength(d)).toBeLessThan(1000 + 'tNNNN '.length);
    }
  });
});

describe('resuming with after', () => {
  it('gives the rest of a streaming turn with no gap or duplicate after a reconnect', async () => {
    const server = await startTestServer();
    await newSession(server, 'resume');
    const first = subscribeEvents(wsClient(server), 'resume', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'resume', text: '/stream 1000 1000' } });

    // Read a few live deltas, then drop the connection mid-stream.
    const seen = await first.takeUntil((e) => e.__typename === 'TextDeltaEvent' && (e as { seq: number }).seq >= 4);
    first.unsubscribe();
    const lastSeq = seqs(seen).at(-1)!;

    const rest = await subscribeEvents(wsClient(server), 'resume', lastSeq).untilComplete();
    expect(rest.at(-1)).toMatchObject({ reason: 'END_TURN' });
    const all = [...seen, ...rest];
    expectGapFree(all);
    expect(deltaText(all)).toBe(streamText(1000));
  });

  it('replays a finished session from any point, and waits when after is beyond lastSeq', async () => {
    const server = await startTestServer();
    await newSession(server, 'replay');
    const live = subscribeEvents(wsClient(server), 'replay', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'replay', text: 'one two three' } });
    const turn = await live.untilComplete();

    const fromThree = subscribeEvents(wsClient(server), 'replay', 3);
    const replayed = await fromThree.takeUntil((e) => e.__typename === 'CompleteEvent');
    expect(replayed).toEqual(turn.slice(3));

    const beyond = subscribeEvents(wsClient(server), 'replay', turn.length + 1);
    await beyond.nothingWithin(100);
    await server.gql(SendMessageMutation, { input: { sessionId: 'replay', text: 'again' } });
    const next = await beyond.untilComplete();
    // seq lastSeq+1 (the next UserMessage) is not after lastSeq+1: it is skipped.
    expect(seqs(next)[0]).toBe(turn.length + 2);
  });
});

describe('every transport carries the same events', () => {
  it('graphql-ws, SSE distinct connections and graphql-sse single connection agree', async () => {
    const server = await startTestServer();
    await newSession(server, 'transports');
    const streams = {
      ws: subscribeEvents(wsClient(server), 'transports', 0),
      sseDistinct: subscribeEvents(sseClient(server, 'distinct'), 'transports', 0),
      sseSingle: subscribeEvents(sseClient(server, 'single'), 'transports', 0),
    };
    await server.gql(SendMessageMutation, { input: { sessionId: 'transports', text: '/stream 500 2000' } });

    const [ws, distinct, single] = await Promise.all(Object.values(streams).map((s) => s.untilComplete()));
    expect(ws!.length).toBeGreaterThan(3);
    expect(distinct).toEqual(ws);
    expect(single).toEqual(ws);
    expect(deltaText(ws!)).toBe(streamText(500));
  });
});
