import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { deltaText, seqs, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import { MiB, rssBytes, sampleRss } from '../utils/memory.js';
import { SessionEventsSubscription } from '../utils/operations.js';
import { startServerProcess } from '../utils/process.js';
import { openRawSocket } from '../utils/raw-ws.js';
import { streamText } from '../utils/events-of.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';

const TOKENS = 200_000;
/**
 * What the turn may cost the server process, with a subscriber that stopped reading, over
 * what the same turn cost it with none. A coarse guard: V8 alone moves the peak by 40-100 MiB
 * from one run of this turn to the next (measured), while all a stalled reader could ever be
 * owed here is ~3 MiB. The exact bound on what is held for it is the next test's.
 */
const RSS_BOUND = 200 * MiB;

async function post(url: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

function expectGapFree(events: readonly Event[], from = 1) {
  expect(seqs(events)).toEqual(events.map((_, i) => from + i));
}

/** Polls /healthz until stopped; fails on the first answer that is not 200. */
function watchHealth(origin: string, intervalMs = 100) {
  let running = true;
  let checks = 0;
  let slowestMs = 0;
  let failure: unknown = null;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(5000) });
        if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
        await res.arrayBuffer();
      } catch (error) {
        failure ??= error;
      }
      checks++;
      slowestMs = Math.max(slowestMs, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      if (failure) throw failure;
      return { checks, slowestMs };
    },
  };
}

describe('a subscriber that stops reading', () => {
  it('costs the server bounded memory and nobody else any pace, then resumes with after and loses nothing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'switchboard-slow-'));
    onCleanup(() => rm(dataDir, { recursive: true, force: true }));
    const proc = await startServerProcess({ DATA_DIR: dataDir });
    const pid = proc.child.pid!;
    const origin = new URL(proc.url).origin;
    const server = { wsUrl: proc.url.replace(/^http/, 'ws') };

    // Warm up with the same turn and a reader that keeps pace (module loading, JIT, V8's heap
    // sized for this allocation rate); that turn's peak is the baseline: what the same turn
    // costs with no one stalled. (On loopback the kernel's socket buffers, ~4 MiB, take all
    // this turn sends the stalled reader; the next test stalls the server itself.)
    await post(proc.url, 'mutation { createSession(input: { id: "warm-up" }) { id } }');
    const warm = subscribeEvents(wsClient(server), 'warm-up', 0);
    const idle = rssBytes(pid);
    const warmRss = sampleRss(pid);
    await post(proc.url, `mutation { sendMessage(input: { sessionId: "warm-up", text: "/stream ${TOKENS}" }) { turnId } }`);
    await warm.untilComplete(60_000);
    warm.unsubscribe();
    const baseline = Math.max(warmRss.stop(), rssBytes(pid));

    await post(proc.url, 'mutation { createSession(input: { id: "s" }) { id } }');
    const query = print(SessionEventsSubscription);

    // The slow one: a raw graphql-transport-ws socket that processes the first event, then
    // stops reading its TCP socket altogether.
    const slow = await openRawSocket(server.wsUrl);
    await slow.init();
    slow.subscribe('slow', query, { sessionId: 's', after: 0 });
    const processed: Event[] = [];
    let reading = true;
    const firstEvent = new Promise<void>((resolve) => {
      slow.ws.on('message', (data) => {
        if (!reading) return;
        const message = JSON.parse(String(data)) as { type: string; payload?: { data?: { sessionEvents: Event } } };
        if (message.type !== 'next') return;
        processed.push(message.payload!.data!.sessionEvents);
        reading = false;
        slow.pauseReading();
        resolve();
      });
    });

    // The fast one: an ordinary graphql-ws client, reading as it comes.
    const fast = subscribeEvents(wsClient(server), 's', 0);

    const health = watchHealth(origin);
    const rss = sampleRss(pid);
    const started = performance.now();
    await post(proc.url, `mutation { sendMessage(input: { sessionId: "s", text: "/stream ${TOKENS}" }) { turnId } }`);
    await firstEvent;

    const turn = await fast.untilComplete(60_000);
    const fastMs = performance.now() - started;
    const peak = rss.stop();
    const afterTurn = rssBytes(pid);
    const { checks, slowestMs } = await health.stop();

    const measured = `idle ${(idle / MiB).toFixed(1)} MiB, same turn with no one stalled peaked at ${(baseline / MiB).toFixed(1)} MiB, with a stalled reader at ${(peak / MiB).toFixed(1)} MiB (+${((peak - baseline) / MiB).toFixed(1)}), after the turn ${(afterTurn / MiB).toFixed(1)} MiB; fast subscriber done in ${fastMs.toFixed(0)} ms; ${checks} health checks, slowest ${slowestMs.toFixed(0)} ms`;
    console.info(`[slow-consumer] ${measured}`);

    // The fast subscriber got the whole turn, in order, on time.
    expect(turn.at(-1), measured).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
    expectGapFree(turn);
    expect(deltaText(turn)).toBe(streamText(TOKENS));
    expect(turn.find((e) => e.__typename === 'TextCompleteEvent')).toMatchObject({ text: streamText(TOKENS) });
    expect(fastMs, measured).toBeLessThan(30_000);
    // The server stayed up and kept answering, and the stalled socket cost it bounded memory.
    expect(checks).toBeGreaterThan(0);
    expect(slowestMs, measured).toBeLessThan(2000);
    expect(peak - baseline, measured).toBeLessThan(RSS_BOUND);
    expect(proc.child.exitCode).toBeNull();

    // The slow one comes back: a fresh subscription from the last event it processed.
    expect(processed).toHaveLength(1);
    slow.terminate();
    const lastSeq = seqs(processed).at(-1)!;
    const rest = await subscribeEvents(wsClient(server), 's', lastSeq).untilComplete(30_000);
    const all = [...processed, ...rest];
    expectGapFree(all);
    expect(all).toEqual(turn);
    expect(deltaText(all)).toBe(streamText(TOKENS));

    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
  }, 120_000);
});

/** The server's end of a client's TCP connection, found by the client's local port. */
function serverSide(server: TestServer) {
  const sockets: Socket[] = [];
  server.app.server.on('connection', (socket) => sockets.push(socket));
  return (clientPort: number) => {
    const socket = sockets.find((s) => s.remotePort === clientPort);
    if (!socket) throw new Error(`no server socket for client port ${clientPort}`);
    return socket;
  };
}

const clientPort = (raw: { ws: unknown }) => (raw.ws as { _socket: Socket })._socket.localPort!;

describe('what the server holds for a socket that stops reading', () => {
  it('is at most one burst (16 KiB) and one frame per subscription: nothing more is taken for a socket that has not flushed', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    onCleanup(() => process.off('warning', onWarning));
    const server = await startTestServer();
    const findServerSocket = serverSide(server);
    await server.request('mutation { createSession(input: { id: "s" }) { id } }');

    // Ten subscriptions on one socket ask for ten copies of the turn, far more than the
    // kernel's socket buffers take (a few MiB on loopback), so the rest has to wait in the
    // server unless the server stops pulling events for them.
    const SUBSCRIPTIONS = 10;
    const slow = await openRawSocket(server.wsUrl);
    await slow.init();
    for (let i = 0; i < SUBSCRIPTIONS; i++) slow.subscribe(`s${i}`, print(SessionEventsSubscription), { sessionId: 's', after: 0 });
    const socket = findServerSocket(clientPort(slow));
    slow.pauseReading();

    let maxPending = 0;
    const sampler = setInterval(() => (maxPending = Math.max(maxPending, socket.writableLength)), 2);
    onCleanup(() => clearInterval(sampler));
    const fast = subscribeEvents(wsClient(server), 's', 0);
    const started = performance.now();
    await server.request(`mutation { sendMessage(input: { sessionId: "s", text: "/stream ${TOKENS}" }) { turnId } }`);
    const turn = await fast.untilComplete(30_000);
    const fastMs = performance.now() - started;
    // Let whatever the server would still queue for the stalled socket be queued.
    await new Promise((resolve) => setTimeout(resolve, 300));
    clearInterval(sampler);
    maxPending = Math.max(maxPending, socket.writableLength);

    const frameBytes = turn.map((e) => JSON.stringify({ id: 's0', type: 'next', payload: { data: { sessionEvents: e } } }).length);
    const asked = SUBSCRIPTIONS * frameBytes.reduce((a, b) => a + b, 0);
    const measured = `asked ${(asked / MiB).toFixed(1)} MiB, the kernel took ${(socket.bytesWritten / MiB).toFixed(1)} MiB, the server held at most ${(maxPending / MiB).toFixed(2)} MiB; fast reader done in ${fastMs.toFixed(0)} ms`;
    console.info(`[slow-consumer] ${measured}`);

    expect(turn.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
    expect(deltaText(turn)).toBe(streamText(TOKENS));
    // The stall was real: most of what was asked never left the server...
    expect(asked - socket.bytesWritten, measured).toBeGreaterThan(10 * MiB);
    // ...and was not queued in it either (unbounded queuing would hold asked - bytesWritten).
    expect(maxPending, measured).toBeLessThan(4 * MiB);
    expect(fastMs, measured).toBeLessThan(20_000);
    // Eleven subscriptions are no leak for Node to warn about.
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });

  it('ends with the keep-alive: a socket that reads nothing answers no ping and is dropped; the client resumes with after', async () => {
    const server = await startTestServer({ limits: { keepAliveMs: 200 } });
    const findServerSocket = serverSide(server);
    await server.request('mutation { createSession(input: { id: "s" }) { id } }');
    const slow = await openRawSocket(server.wsUrl);
    await slow.init();
    slow.subscribe('slow', print(SessionEventsSubscription), { sessionId: 's', after: 0 });
    const socket = findServerSocket(clientPort(slow));
    const dropped = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    slow.pauseReading();

    await server.request(`mutation { sendMessage(input: { sessionId: "s", text: "/stream ${TOKENS}" }) { turnId } }`);
    await dropped;
    slow.terminate();

    const all = await subscribeEvents(wsClient(server), 's', 0).untilComplete(30_000);
    expectGapFree(all);
    expect(deltaText(all)).toBe(streamText(TOKENS));
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
  });
});
