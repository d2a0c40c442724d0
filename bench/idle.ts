/**
 * Scenario `idle` (issue 6): memory per idle subscriber.
 *
 * For each server (Switchboard with the memory store, and the `naive-yoga` and `raw-ws`
 * baselines; `--servers` picks), in a process of its own started with `--inspect=127.0.0.1:0`
 * so that the bench can force a full GC in it (`HeapProfiler.collectGarbage` over the inspector
 * protocol; none of the servers needs a GC hook of its own):
 * 1. warm-up: 100 graphql-ws subscribers on a warm-up session get a `/stream 10` turn, then
 *    disconnect (JIT, lazily loaded modules, first allocations of every path);
 * 2. after a settle period and a forced GC, the server's VmRSS (`/proc/<pid>/status`) with 0
 *    subscribers: `before`;
 * 3. K idle subscribers (default 5,000), each its own WebSocket after `connection_ack`,
 *    subscribed to `sessionEvents(sessionId, after: 0)` on S sessions (default 10), spread over
 *    2 client processes (`bench/lib/idle-clients.ts`); a `/stream 1` turn in every session
 *    proves that every subscription is live (each must receive its CompleteEvent);
 * 4. after the same settle period and GC, VmRSS again: `after`.
 * Reported: (after − before) / K per idle subscriber, and Switchboard's ratio to raw ws (issue 6
 * target: ≤ 1). The JS heap (`heapUsed`) per subscriber is shown next to it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import type { ServerUsage } from './server.js';
import { spawnTs, type BenchChild } from './lib/processes.js';
import type { ScenarioResult, Table } from './lib/results.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { median } from './lib/stats.js';

type IdleServer = 'switchboard' | 'naive-yoga' | 'raw-ws';
const idleServers: readonly IdleServer[] = ['switchboard', 'naive-yoga', 'raw-ws'];

export interface IdleOptions {
  subscribers: number;
  sessions: number;
  clientProcesses: number;
  warmupSubscribers: number;
  /** Wait before each measurement (after the GC is forced). */
  settleMs: number;
  repeats: number;
  servers: IdleServer[];
}

export const defaultIdleOptions: IdleOptions = {
  subscribers: 5_000,
  sessions: 10,
  clientProcesses: 2,
  warmupSubscribers: 100,
  settleMs: 5_000,
  repeats: 1,
  servers: [...idleServers],
};
const quickIdleOptions: IdleOptions = { ...defaultIdleOptions, subscribers: 500, settleMs: 2_000 };

const modules: Record<IdleServer, URL> = {
  switchboard: new URL('./server.ts', import.meta.url),
  'naive-yoga': new URL('./baselines/naive-yoga.ts', import.meta.url),
  'raw-ws': new URL('./baselines/raw-ws.ts', import.meta.url),
};
const clientModule = new URL('./lib/idle-clients.ts', import.meta.url);

export interface IdleRun {
  server: IdleServer;
  subscribers: number;
  live: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  gcForced: boolean;
  rssPerSubscriberKB: number;
  heapPerSubscriberKB: number;
}

/** VmRSS of a process, bytes (the kernel's kB are KiB). */
function vmRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * Two full GCs in the server through its inspector (`--inspect`), then, with `snapshotFile`,
 * a heap snapshot written there; then the connection closes.
 */
async function forceGc(inspectorUrl: string, snapshotFile?: string): Promise<void> {
  const socket = new WebSocket(inspectorUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let id = 0;
  const chunks: string[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { method?: string; params?: { chunk: string } };
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(message.params!.chunk);
  });
  const call = (method: string, params?: object, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const mine = ++id;
      const timer = setTimeout(() => reject(new Error(`inspector: no reply to ${method}`)), timeoutMs);
      const onMessage = (data: WebSocket.RawData) => {
        const reply = JSON.parse(String(data)) as { id?: number; error?: { message: string } };
        if (reply.id !== mine) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        if (reply.error) reject(new Error(`inspector: ${method}: ${reply.error.message}`));
        else resolve();
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    if (snapshotFile) {
      await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 300_000);
      writeFileSync(snapshotFile, chunks.join(''));
    }
  } finally {
    socket.close();
  }
}

async function graphql<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (!res.ok || body.errors?.length || !body.data) throw new Error(`${query.split('(')[0]}: HTTP ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

const createSession = (url: string, id: string) =>
  graphql(url, 'mutation Create($input: CreateSessionInput) { createSession(input: $input) { id } }', { input: { id, permissionMode: 'ALLOW_ALL' } });
const send = (url: string, sessionId: string, text: string) =>
  graphql(url, 'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { turnId queued } }', { input: { sessionId, text } });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface CompletesReply {
  type: 'completes';
  subscribers: number;
  reached: number;
  errors: string[];
}

async function startClients(): Promise<BenchChild> {
  const clients = spawnTs(clientModule, []);
  await clients.next('listening', 60_000);
  return clients;
}

/**
 * Opens subscribers on `sessionIds` over `processes` client processes, then sends turns until
 * every one has a CompleteEvent (up to 3 tries: the live-only baselines miss a turn whose events
 * precede a subscription's registration). Returns the client processes and how many are live.
 */
async function openLive(url: string, sessionIds: string[], count: number, processes: number, text: string, log: (l: string) => void) {
  const clients = await Promise.all(Array.from({ length: processes }, () => startClients()));
  const shares = clients.map((_, i) => Math.floor(count / processes) + (i < count % processes ? 1 : 0));
  const t0 = Date.now();
  await Promise.all(clients.map((c, i) => c.request({ type: 'open', url, sessionIds, count: shares[i] }, 'opened', 300_000)));
  log(`  ${count} subscribers connected and subscribed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await sleep(1_000);
  let live = 0;
  let errors: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    await Promise.all(sessionIds.map((id) => send(url, id, text)));
    const replies = await Promise.all(clients.map((c) => c.request<CompletesReply>({ type: 'completes', min: 1, timeoutMs: 20_000 }, 'completes', 60_000)));
    live = replies.reduce((n, r) => n + r.reached, 0);
    errors = replies.flatMap((r) => r.errors);
    if (live === count) break;
    log(`  ${live} of ${count} subscribers live after turn ${attempt}${errors.length ? ` (${errors[0]})` : ''}`);
  }
  return { clients, live, errors };
}

async function measure(server: BenchChild, inspectorUrl: string | null, settleMs: number, snapshotFile?: string) {
  await sleep(settleMs);
  if (inspectorUrl) await forceGc(inspectorUrl);
  await sleep(500);
  const usage = await server.request<ServerUsage>({ type: 'usage' }, 'usage', 10_000);
  const measured = { rss: vmRss(server.pid), heap: usage.heapUsedBytes };
  // Only now: a snapshot's own memory would count in the RSS above.
  if (inspectorUrl && snapshotFile) await forceGc(inspectorUrl, snapshotFile);
  return measured;
}

async function runOnce(kind: IdleServer, opts: IdleOptions, round: number, log: (l: string) => void): Promise<IdleRun> {
  const args = kind === 'switchboard' ? ['--store', 'memory', '--port', '0'] : ['--port', '0'];
  const server = spawnTs(modules[kind], args, { nodeArgs: ['--inspect=127.0.0.1:0'] });
  const clients: BenchChild[] = [];
  try {
    const [, url] = await server.waitForLine(/listening on (http:\/\/\S+)/, 60_000);
    const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(server.output());
    const inspectorUrl = inspector?.[1] ?? null;
    if (!inspectorUrl) log(`  ${kind}: no inspector URL; measuring after the settle period without a forced GC`);

    const warmId = `idle-${round}-warm`;
    const sessionIds = Array.from({ length: opts.sessions }, (_, i) => `idle-${round}-${i}`);
    for (const id of [warmId, ...sessionIds]) await createSession(url!, id);

    // Warm-up: the subscribe, deliver and unsubscribe paths all run once before `before`.
    const warm = await openLive(url!, [warmId], opts.warmupSubscribers, 1, '/stream 10', log);
    if (warm.live !== opts.warmupSubscribers) throw new Error(`idle (${kind}): warm-up: ${warm.live} of ${opts.warmupSubscribers} live: ${warm.errors[0] ?? ''}`);
    await Promise.all(warm.clients.map((c) => c.stop()));

    // BENCH_HEAP_SNAPSHOT_DIR: a heap snapshot after each measurement, for `bench/tools/heap-diff.ts`.
    const snapshotDir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
    const snapshot = (when: string) => (snapshotDir ? join(resolve(snapshotDir), `idle-${kind}-${round}-${when}.heapsnapshot`) : undefined);
    const before = await measure(server, inspectorUrl, opts.settleMs, snapshot('before'));
    log(`  ${kind}: RSS ${(before.rss / 2 ** 20).toFixed(1)} MiB with 0 subscribers`);

    const opened = await openLive(url!, sessionIds, opts.subscribers, opts.clientProcesses, '/stream 1', log);
    clients.push(...opened.clients);
    const after = await measure(server, inspectorUrl, opts.settleMs, snapshot('after'));
    log(`  ${kind}: RSS ${(after.rss / 2 ** 20).toFixed(1)} MiB with ${opened.live} of ${opts.subscribers} subscribers live`);
    return {
      server: kind,
      subscribers: opts.subscribers,
      live: opened.live,
      rssBeforeBytes: before.rss,
      rssAfterBytes: after.rss,
      heapBeforeBytes: before.heap,
      heapAfterBytes: after.heap,
      gcForced: inspectorUrl !== null,
      rssPerSubscriberKB: (after.rss - before.rss) / opts.subscribers / 1024,
      heapPerSubscriberKB: (after.heap - before.heap) / opts.subscribers / 1024,
    };
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
  }
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

export async function runIdle(opts: IdleOptions, log: (line: string) => void): Promise<ScenarioResult> {
  const runs: IdleRun[] = [];
  for (let round = 1; round <= opts.repeats; round++) {
    for (const kind of opts.servers) {
      log(`idle: ${kind}, ${opts.subscribers} subscribers on ${opts.sessions} sessions, round ${round}/${opts.repeats}`);
      runs.push(await runOnce(kind, opts, round, log));
    }
  }
  const summaries = opts.servers.map((server) => {
    const mine = runs.filter((r) => r.server === server);
    return {
      server,
      live: Math.min(...mine.map((r) => r.live)),
      rssBeforeMiB: median(mine.map((r) => r.rssBeforeBytes)) / 2 ** 20,
      rssAfterMiB: median(mine.map((r) => r.rssAfterBytes)) / 2 ** 20,
      rssPerSubscriberKB: median(mine.map((r) => r.rssPerSubscriberKB)),
      heapPerSubscriberKB: median(mine.map((r) => r.heapPerSubscriberKB)),
    };
  });
  const raw = summaries.find((s) => s.server === 'raw-ws');
  const ok = runs.every((r) => r.live === r.subscribers);
  const table: Table = {
    title: `Idle subscribers (${fmt(opts.subscribers, 0)} graphql-ws subscriptions on ${opts.sessions} sessions, each its own WebSocket; median of ${opts.repeats})`,
    columns: ['server', 'live', 'RSS before MiB', 'RSS after MiB', 'RSS KB/subscriber', 'heap KB/subscriber', 'RSS vs raw-ws'],
    rows: summaries.map((s) => [
      s.server === 'switchboard' ? 'switchboard (memory)' : s.server,
      fmt(s.live, 0),
      fmt(s.rssBeforeMiB),
      fmt(s.rssAfterMiB),
      fmt(s.rssPerSubscriberKB, 2),
      fmt(s.heapPerSubscriberKB, 2),
      raw ? `${fmt(s.rssPerSubscriberKB / raw.rssPerSubscriberKB, 2)}×` : '–',
    ]),
    notes: [
      `(VmRSS after − before) / subscribers, KB = 1024 bytes; before: after a warm-up of ${opts.warmupSubscribers} subscribers and a turn, with 0 subscribers; ` +
        `after: every subscriber proven live by a /stream 1 turn in every session; each measured ${opts.settleMs / 1000} s later, after a full GC forced through the inspector` +
        (runs.every((r) => r.gcForced) ? '' : ' (not every server: see the log)') +
        `. Clients in ${opts.clientProcesses} processes of their own.`,
    ],
  };
  const sb = summaries.find((s) => s.server === 'switchboard');
  const targets: { name: string; met: boolean }[] = [];
  if (sb && raw) {
    const met = sb.rssPerSubscriberKB <= raw.rssPerSubscriberKB;
    targets.push({ name: 'idle: RSS per idle subscriber ≤ raw ws', met });
    table.notes!.push(
      `Switchboard: ${fmt(sb.rssPerSubscriberKB, 2)} KB per idle subscriber, ${fmt(sb.rssPerSubscriberKB / raw.rssPerSubscriberKB, 2)}× raw-ws's ${fmt(raw.rssPerSubscriberKB, 2)} KB ` +
        `(issue 6 target ≤ 1×: ${met ? 'met' : 'MISSED'}).`,
    );
  }
  if (!ok) table.notes!.push(`NOT every subscription was live: ${runs.filter((r) => r.live !== r.subscribers).map((r) => `${r.server} ${r.live}/${r.subscribers}`).join(', ')}`);
  return { name: 'idle', ok, targets, tables: [table], data: { options: opts, runs, summaries } };
}

export const idleScenario: Scenario = {
  name: 'idle',
  description: 'memory per idle subscriber: VmRSS with 0 and with 5,000 idle graphql-ws subscriptions, Switchboard vs naive-yoga vs raw-ws',
  async run(ctx: ScenarioContext) {
    const base = ctx.quick ? quickIdleOptions : defaultIdleOptions;
    const servers = (ctx.servers ?? [...idleServers]) as IdleServer[];
    for (const s of servers) if (!idleServers.includes(s)) throw new Error(`idle: unknown server ${s}; known: ${idleServers.join(', ')}`);
    return runIdle({ ...base, repeats: ctx.repeats ?? base.repeats, servers }, ctx.log);
  },
};
