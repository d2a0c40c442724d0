import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient as createWsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import {
  fromGraphqlSse,
  fromGraphqlWs,
  reduceAll,
  emptyView,
  sessionEvents,
  type ClientEvent,
  type SessionEventsError,
  type SessionEventsOptions,
  type SessionEventsTransport,
} from '../../src/client/index.js';
import { CreateSessionMutation, DeleteSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { createManualClock } from '../utils/manual-clock.js';
import { createQueue } from '../utils/queue.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';
import { startTcpProxy } from '../utils/tcp-proxy.js';
import { waitUntil } from '../utils/wait.js';

/** The `after` of every sessionEvents subscribe a client put on the wire. */
type Sent = number[];

function recordWsSubscribes(sent: Sent) {
  return (key: string, value: unknown) => {
    const m = value as { type?: string; payload?: { query?: string; variables?: { after?: number } } };
    if (key === '' && m?.type === 'subscribe' && m.payload?.query?.includes('sessionEvents')) sent.push(m.payload.variables?.after ?? -1);
    return value;
  };
}

function wsTransport(url: string | (() => string), sent: Sent, retryAttempts: number): SessionEventsTransport {
  const client = createWsClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts,
    retryWait: async () => new Promise((resolve) => setTimeout(resolve, 10)),
    shouldRetry: () => true,
    jsonMessageReplacer: recordWsSubscribes(sent),
  });
  onCleanup(() => client.dispose());
  return fromGraphqlWs(client);
}

function sseTransport(url: string, sent: Sent, retryAttempts = 0): SessionEventsTransport {
  const client = createSseClient({
    url,
    retryAttempts,
    retry: async () => new Promise((resolve) => setTimeout(resolve, 10)),
    fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { query?: string; variables?: { after?: number } }) : null;
      if (body?.query?.includes('sessionEvents')) sent.push(body.variables?.after ?? -1);
      return fetch(input, init);
    },
  });
  onCleanup(() => client.dispose());
  return fromGraphqlSse(client);
}

/** Follows a session, queueing what the caller is handed. */
function follow(transport: SessionEventsTransport, sessionId: string, options: Partial<SessionEventsOptions> = {}) {
  const events = createQueue<ClientEvent>();
  const errors: SessionEventsError[] = [];
  const resubscribes: number[] = [];
  const handle = sessionEvents(transport, sessionId, {
    after: 0,
    onEvent: (e) => events.push(e),
    onError: (e) => errors.push(e),
    onResubscribe: (after) => resubscribes.push(after),
    retryDelay: () => 10,
    ...options,
  });
  onCleanup(() => handle.dispose());
  return { events, errors, resubscribes, handle };
}

async function newSession(server: TestServer) {
  return (await server.gql(CreateSessionMutation, { input: {} })).createSession.id;
}

const send = (server: TestServer, sessionId: string, text: string) => server.gql(SendMessageMutation, { input: { sessionId, text } });

/** Every seq exactly once, 1..n in order. */
function expectExactlyOnce(events: readonly ClientEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
}

const isComplete = (e: ClientEvent) => e.__typename === 'CompleteEvent';

describe('sessionEvents: resuming with the current after', () => {
  describe.each([
    ['graphql-ws without retries', 0],
    ['graphql-ws with its own retries (which would re-send the first variables)', 5],
  ])('%s', (_, retryAttempts) => {
    it('a socket killed mid-stream is resubscribed with after = the last seq seen; every event is handed exactly once', async () => {
      const server = await startTestServer();
      const proxy = await startTcpProxy(Number(new URL(server.url).port));
      const sent: Sent = [];
      const id = await newSession(server);
      const { events, handle, resubscribes } = follow(wsTransport(`ws://127.0.0.1:${proxy.port}/graphql`, sent, retryAttempts), id);
      await send(server, id, '/stream 600 300');
      for (let i = 0; i < 5; i++) await events.next();
      proxy.cut();
      const seenAtCut = handle.lastSeq;
      proxy.restore();
      const rest = await events.takeUntil(isComplete, 20_000);
      expect(rest.at(-1)).toMatchObject({ reason: 'END_TURN' });
      expectExactlyOnce(events.all);
      expect(seenAtCut).toBeGreaterThanOrEqual(5);
      expect(resubscribes[0]).toBe(seenAtCut);
      // On the wire: the first subscribe from 0, then only the current after, never 0 again.
      expect(sent[0]).toBe(0);
      expect(sent.slice(1)).toContain(seenAtCut);
      expect(sent.slice(1).every((after) => after >= seenAtCut)).toBe(true);
      const text = reduceAll(emptyView, events.all).items.find((i) => i.kind === 'text');
      expect(text).toMatchObject({ state: 'complete' });
      expect((text as { text: string }).text.split(' ').filter(Boolean)).toHaveLength(600);
    }, 30_000);
  });

  it('graphql-sse: a stream cut mid-turn is resubscribed with the current after; every event exactly once', async () => {
    const server = await startTestServer();
    const proxy = await startTcpProxy(Number(new URL(server.url).port));
    const sent: Sent = [];
    const id = await newSession(server);
    const { events, handle } = follow(sseTransport(`http://127.0.0.1:${proxy.port}/graphql`, sent), id);
    await send(server, id, '/stream 600 300');
    for (let i = 0; i < 5; i++) await events.next();
    proxy.cut();
    const seenAtCut = handle.lastSeq;
    proxy.restore();
    await events.takeUntil(isComplete, 20_000);
    expectExactlyOnce(events.all);
    expect(sent[0]).toBe(0);
    expect(sent.slice(1)).toContain(seenAtCut);
    expect(sent.slice(1).every((after) => after >= seenAtCut)).toBe(true);
  }, 30_000);

  it('graphql-sse with its own retries, which replay from the first after: the replayed events are not handed twice', async () => {
    const server = await startTestServer();
    const proxy = await startTcpProxy(Number(new URL(server.url).port));
    const sent: Sent = [];
    const id = await newSession(server);
    const { events } = follow(sseTransport(`http://127.0.0.1:${proxy.port}/graphql`, sent, 3), id);
    await send(server, id, '/stream 600 300');
    for (let i = 0; i < 5; i++) await events.next();
    proxy.cut();
    proxy.restore();
    await events.takeUntil(isComplete, 20_000);
    // graphql-sse re-sent the first request (after: 0): the server replayed from the start.
    expect(sent.filter((after) => after === 0).length).toBeGreaterThan(1);
    expectExactlyOnce(events.all);
  }, 30_000);

  it('resumes after a server restart on the same data dir, from the last seq seen', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'switchboard-client-'));
    onCleanup(() => rm(dataDir, { recursive: true, force: true }));
    let server = await startTestServer({ dataDir });
    const sent: Sent = [];
    const id = await newSession(server);
    const { events, handle } = follow(wsTransport(() => server.wsUrl, sent, 0), id);
    await send(server, id, '/stream 600 300');
    for (let i = 0; i < 5; i++) await events.next();
    await server.stop();
    // The running turn ends INTERRUPTED, whether the client saw it before the stop or replays it after.
    server = await startTestServer({ dataDir });
    await events.takeUntil((e) => isComplete(e) && e.reason === 'INTERRUPTED', 20_000);
    const before = handle.lastSeq;
    await send(server, id, 'after the restart');
    await events.takeUntil(isComplete, 20_000);
    expectExactlyOnce(events.all);
    expect(sent.slice(1).every((after) => after > 0)).toBe(true);
    expect(events.all.at(-1)!.seq).toBeGreaterThan(before);
  }, 40_000);

  it('stops and reports NOT_FOUND when the session is deleted; no further resubscribes', async () => {
    const server = await startTestServer();
    const sent: Sent = [];
    const id = await newSession(server);
    const { events, errors, resubscribes } = follow(wsTransport(server.wsUrl, sent, 0), id);
    await send(server, id, 'hello');
    await events.takeUntil(isComplete);
    await server.gql(DeleteSessionMutation, { id });
    await waitUntil(() => errors.length > 0, 'the error is reported');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'NOT_FOUND' });
    const count = sent.length;
    await events.nothingWithin(200);
    expect(sent).toHaveLength(count);
    expect(resubscribes.length).toBeLessThanOrEqual(1);
  });

  it('backs off between failed resubscribes on the injected timers, then resumes without duplicates', async () => {
    const server = await startTestServer();
    const proxy = await startTcpProxy(Number(new URL(server.url).port));
    const clock = createManualClock();
    const sent: Sent = [];
    const id = await newSession(server);
    await send(server, id, 'hello');
    const { events, resubscribes } = follow(wsTransport(`ws://127.0.0.1:${proxy.port}/graphql`, sent, 0), id, {
      timers: clock,
      retryDelay: (attempt) => 100 * 2 ** attempt,
    });
    await events.takeUntil(isComplete);
    const last = events.all.at(-1)!.seq;
    proxy.cut();
    await waitUntil(() => clock.pending() === 1, 'a resubscribe is scheduled');
    clock.advance(99);
    expect(resubscribes).toEqual([]);
    clock.advance(1);
    expect(resubscribes).toEqual([last]);
    // The proxy refuses it: the next waits twice as long.
    await waitUntil(() => clock.pending() === 1, 'the second resubscribe is scheduled');
    clock.advance(199);
    expect(resubscribes).toHaveLength(1);
    clock.advance(1);
    expect(resubscribes).toEqual([last, last]);
    await waitUntil(() => clock.pending() === 1, 'the third resubscribe is scheduled');
    proxy.restore();
    clock.advance(400);
    expect(resubscribes).toEqual([last, last, last]);
    // The refused attempts never reached a connection: on the wire, the first subscribe and this one.
    await waitUntil(() => sent.length === 2, 'the third subscribe is sent');
    expect(sent).toEqual([0, last]);
    await send(server, id, 'again');
    await events.takeUntil(isComplete);
    expectExactlyOnce(events.all);
  }, 30_000);

  it('dispose() and an aborted signal stop it: nothing more is handed over', async () => {
    const server = await startTestServer();
    const id = await newSession(server);
    const controller = new AbortController();
    const aborted = follow(wsTransport(server.wsUrl, [], 0), id, { signal: controller.signal });
    const disposed = follow(wsTransport(server.wsUrl, [], 0), id);
    const watcher = follow(wsTransport(server.wsUrl, [], 0), id);
    await send(server, id, '/stream 600 300');
    await aborted.events.next();
    await disposed.events.next();
    controller.abort();
    disposed.handle.dispose();
    const counts = [aborted.events.all.length, disposed.events.all.length];
    // The turn goes on (another follower sees it end); the stopped ones get nothing of it.
    await watcher.events.takeUntil(isComplete, 20_000);
    expect([aborted.events.all.length, disposed.events.all.length]).toEqual(counts);
  }, 30_000);
});
