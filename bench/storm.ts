/**
 * Scenario `storm` (issue 6, "reconnect storm"): C graphql-ws clients (default 1000) subscribed
 * with `after: 0` to S sessions (default 10, so 100 each), spread over P client processes
 * (`bench/lib/storm-clients.ts`, default 2); a turn (`/stream N`, default 5,000, as fast as the
 * agent can) in every session at once; every client drops its connection partway (as soon as it
 * has a delta holding token N/2 or a later one: `ws.terminate()`, a network cut); once all have,
 * all C subscribe again AT ONCE, each on a new WebSocket with `after: <the last seq it got>`.
 *
 * Measured: per client, the time from its reconnect to the turn's CompleteEvent (p50/p99/max)
 * and to its connection_ack; the time until every client has caught up; the server's CPU time
 * over that window (and its share of the wall time: 1.0 = one core busy). Checked (a failure
 * fails the run): each client's seqs across both connections are 1..n with no gap and no
 * duplicate, its deltas join to exactly the streamed text, the turn ends with CompleteEvent
 * END_TURN.
 *
 * Switchboard with the memory and SQLite stores (`--stores`), a fresh server per round. The
 * baselines have no `after` replay (live only), so they are not rows.
 */
import { join, resolve } from 'node:path';
import type { CaughtUpReply } from './lib/storm-clients.js';
import { createSession, graphqlHttp, sendMessage } from './lib/gql-http.js';
import { makeTempDir, removeTempDir, spawnTs, type BenchChild } from './lib/processes.js';
import type { ScenarioResult, Table } from './lib/results.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { fmt, median, percentile } from './lib/stats.js';
import type { ServerUsage } from './server.js';

type StormStore = 'memory' | 'sqlite';

export interface StormOptions {
  clients: number;
  sessions: number;
  clientProcesses: number;
  tokens: number;
  repeats: number;
  stores: StormStore[];
  timeoutMs: number;
  /** Storm as soon as every client has dropped, while the turns may still run (default: once they have ended). */
  midTurn: boolean;
  /** Extra node flags for the server (BENCH_SERVER_NODE_ARGS). */
  serverNodeArgs: string[];
  /** A CPU profile of the server during each storm goes here (BENCH_PROFILE_DIR): `storm-<store>-round<N>.cpuprofile`. */
  profileDir: string | null;
}

export const defaultStormOptions: StormOptions = {
  clients: 1000,
  sessions: 10,
  clientProcesses: 2,
  tokens: 5_000,
  repeats: 3,
  stores: ['memory', 'sqlite'],
  timeoutMs: 60_000,
  midTurn: process.env.BENCH_STORM_MID_TURN === '1',
  serverNodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [],
  profileDir: process.env.BENCH_PROFILE_DIR ? resolve(process.env.BENCH_PROFILE_DIR) : null,
};
const quickStormOptions: StormOptions = { ...defaultStormOptions, clients: 200, repeats: 1 };

const serverModule = new URL('./server.ts', import.meta.url);
const clientModule = new URL('./lib/storm-clients.ts', import.meta.url);

export interface StormRun {
  store: StormStore;
  repeat: number;
  clients: number;
  caughtUp: number;
  failed: number;
  failures: string[];
  /** Reconnect → CompleteEvent, per client (summary). */
  catchUpMs: { p50: number; p99: number; max: number };
  ackMs: { p50: number; p99: number; max: number };
  /** From asking every client process to reconnect to the last client's CompleteEvent. */
  allMs: number;
  /** Events each client got on its second connection, median; the seq it resumed after, median. */
  replayedMedian: number;
  resumedAfterMedian: number;
  serverCpuMs: number;
  serverCpuShare: number;
  /** The busiest client process's CPU time over its storm / its wall time (1.0: a core; the clients are then the bottleneck). */
  clientCpuShareMax: number;
  eventLoopDelayMaxMs: number;
  /** Until every client had dropped its first connection (from sending the turn). */
  disconnectMs: number;
  /** Sessions whose turn was still RUNNING just before the storm (else it replays a finished turn). */
  runningAtReconnect: number;
  /** Events in a session's log after the turn (lastSeq), median. */
  lastSeqMedian: number;
}

const summary = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: values.length ? Math.max(...values) : NaN });

async function runRound(store: StormStore, repeat: number, opts: StormOptions, log: (l: string) => void): Promise<StormRun> {
  const dataDir = makeTempDir(`switchboard-bench-storm-${store}-`);
  const server = spawnTs(serverModule, ['--store', store, '--port', '0', '--data-dir', dataDir], { nodeArgs: opts.serverNodeArgs });
  const procs: BenchChild[] = Array.from({ length: opts.clientProcesses }, () => spawnTs(clientModule, []));
  try {
    const listening = Promise.all(procs.map((p) => p.next('listening', 60_000)));
    const [, url] = await server.waitForLine(/listening on (http:\/\/\S+)/, 60_000);
    await listening;
    const sessionIds = Array.from({ length: opts.sessions }, (_, i) => `storm-${repeat}-${i}`);
    for (const id of sessionIds) await createSession(url!, id);
    // Client i of the run is subscribed to session i mod S, whichever process holds it.
    const shares = procs.map((_, i) => Math.floor(opts.clients / procs.length) + (i < opts.clients % procs.length ? 1 : 0));
    const offsets = shares.map((_, i) => shares.slice(0, i).reduce((a, b) => a + b, 0));
    const t0 = Date.now();
    await Promise.all(
      procs.map((p, i) =>
        p.request({ type: 'open', url, sessionIds, count: shares[i], offset: offsets[i], disconnectAtToken: Math.ceil(opts.tokens / 2) }, 'opened', 120_000),
      ),
    );
    log(`storm: ${store} #${repeat + 1}: ${opts.clients} clients subscribed in ${Date.now() - t0} ms`);

    const t1 = Date.now();
    const turnIds = await Promise.all(sessionIds.map((id) => sendMessage(url!, id, `/stream ${opts.tokens}`)));
    const dropped = await Promise.all(
      procs.map((p) => p.request<{ clients: number; dropped: number; errors: string[] }>({ type: 'wait-disconnected', timeoutMs: opts.timeoutMs }, 'disconnected', opts.timeoutMs + 10_000)),
    );
    const disconnectMs = Date.now() - t1;
    const droppedCount = dropped.reduce((n, d) => n + d.dropped, 0);
    if (droppedCount !== opts.clients) {
      throw new Error(`storm (${store}): only ${droppedCount} of ${opts.clients} clients reached token ${Math.ceil(opts.tokens / 2)}: ${dropped.flatMap((d) => d.errors)[0] ?? ''}`);
    }

    // The storm starts once every turn has ended: it measures reconnecting and replaying, not the
    // rest of a turn streaming live (`midTurn` storms at once, whatever the turns are doing).
    let runningAtReconnect = 0;
    for (const deadline = Date.now() + opts.timeoutMs; ; ) {
      const status = await Promise.all(
        sessionIds.map((id) => graphqlHttp<{ session: { status: string } | null }>(url!, 'query S($id: ID!) { session(id: $id) { status } }', { id })),
      );
      runningAtReconnect = status.filter((s) => s.session?.status !== 'IDLE').length;
      if (opts.midTurn || runningAtReconnect === 0) break;
      if (Date.now() > deadline) throw new Error(`storm (${store}): ${runningAtReconnect} turns still running after ${opts.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (opts.profileDir) await server.request({ type: 'profile', action: 'start' }, 'profiled', 10_000);
    const before = await server.request<ServerUsage>({ type: 'usage' }, 'usage', 10_000);
    const replies = await Promise.all(
      procs.map((p) => p.request<CaughtUpReply>({ type: 'reconnect', turnIds, tokens: opts.tokens, timeoutMs: opts.timeoutMs }, 'caught-up', opts.timeoutMs + 30_000)),
    );
    const after = await server.request<ServerUsage>({ type: 'usage' }, 'usage', 10_000);
    if (opts.profileDir) {
      const file = join(opts.profileDir, `storm-${store}-round${repeat + 1}.cpuprofile`);
      await server.request({ type: 'profile', action: 'stop', file }, 'profiled', 30_000);
    }
    const allMs = Math.max(...replies.map((r) => r.allMs));
    const serverCpuMs = (after.userMicros + after.systemMicros - before.userMicros - before.systemMicros) / 1000;
    const catchUp = replies.flatMap((r) => r.catchUpMs);
    const lastSeqs = await Promise.all(
      sessionIds.map((id) => graphqlHttp<{ session: { lastSeq: number } }>(url!, 'query S($id: ID!) { session(id: $id) { lastSeq } }', { id })),
    );
    return {
      store,
      repeat,
      clients: replies.reduce((n, r) => n + r.clients, 0),
      caughtUp: replies.reduce((n, r) => n + r.caughtUp, 0),
      failed: replies.reduce((n, r) => n + r.failed, 0),
      failures: replies.flatMap((r) => r.failures).slice(0, 10),
      catchUpMs: summary(catchUp),
      ackMs: summary(replies.flatMap((r) => r.ackMs)),
      allMs,
      replayedMedian: median(replies.flatMap((r) => r.replayed)),
      resumedAfterMedian: median(replies.flatMap((r) => r.resumedAfter)),
      serverCpuMs,
      // The usage requests bracket the reconnect requests: the window is about allMs long.
      serverCpuShare: serverCpuMs / allMs,
      clientCpuShareMax: Math.max(...replies.map((r) => r.cpuMicros / 1000 / r.allMs)),
      eventLoopDelayMaxMs: after.eventLoopDelay.maxMs,
      disconnectMs,
      runningAtReconnect,
      lastSeqMedian: median(lastSeqs.map((s) => s.session.lastSeq)),
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop(5_000)));
    await server.stop();
    removeTempDir(dataDir);
  }
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export async function runStorm(opts: StormOptions, log: (line: string) => void): Promise<ScenarioResult> {
  const runs: StormRun[] = [];
  for (let repeat = 0; repeat < opts.repeats; repeat++) {
    for (const store of opts.stores) {
      const run = await runRound(store, repeat, opts, log);
      runs.push(run);
      log(
        `storm: ${store} #${repeat + 1}: ${run.caughtUp}/${run.clients} caught up, reconnect → complete p50 ${fmt(run.catchUpMs.p50)} ` +
          `p99 ${fmt(run.catchUpMs.p99)} max ${fmt(run.catchUpMs.max)} ms, all in ${fmt(run.allMs)} ms, server CPU ${fmt(run.serverCpuMs)} ms` +
          (run.failed ? `; ${run.failed} FAILED: ${run.failures[0]}` : ''),
      );
    }
  }
  const failures = runs.flatMap((r) => r.failures.map((f) => `${r.store} #${r.repeat + 1}: ${f}`));
  const rows = opts.stores.map((store) => {
    const mine = runs.filter((r) => r.store === store);
    const m = (f: (r: StormRun) => number) => fmt(median(mine.map(f)));
    return [
      store,
      `${mine.reduce((n, r) => n + r.caughtUp, 0)}/${mine.reduce((n, r) => n + r.clients, 0)}`,
      m((r) => r.catchUpMs.p50),
      m((r) => r.catchUpMs.p99),
      m((r) => r.catchUpMs.max),
      m((r) => r.ackMs.p99),
      m((r) => r.allMs),
      m((r) => r.serverCpuMs),
      `${fmt(median(mine.map((r) => r.serverCpuShare)) * 100, 0)}%`,
      `${fmt(median(mine.map((r) => r.clientCpuShareMax)) * 100, 0)}%`,
      m((r) => r.eventLoopDelayMaxMs),
      `${fmt(median(mine.map((r) => r.resumedAfterMedian)), 0)} + ${fmt(median(mine.map((r) => r.replayedMedian)), 0)}`,
      `${mine.reduce((n, r) => n + r.runningAtReconnect, 0)}/${mine.length * opts.sessions}`,
      mine.every((r) => r.failed === 0) ? 'exact' : `${mine.reduce((n, r) => n + r.failed, 0)} FAILED`,
    ];
  });
  const ok = failures.length === 0 && runs.every((r) => r.caughtUp === r.clients);
  const table: Table = {
    title:
      `Reconnect storm (${fmt(opts.clients, 0)} graphql-ws clients on ${opts.sessions} sessions, ${opts.clientProcesses} client processes; /stream ${fmt(opts.tokens, 0)} in every session; ` +
      `every client drops its connection at token ${fmt(Math.ceil(opts.tokens / 2), 0)}, then all resubscribe at once with \`after\`; a fresh server per round; median of ${plural(opts.repeats, 'round')})`,
    columns: [
      'store',
      'caught up',
      'reconnect → complete p50 (ms)',
      'p99 (ms)',
      'max (ms)',
      'reconnect → ack p99 (ms)',
      'all caught up (ms)',
      'server CPU in storm (ms)',
      'server CPU share',
      'busiest client process CPU share',
      'event-loop delay max (ms)',
      'events per client (1st + 2nd connection)',
      'turns running at the storm',
      'streams',
    ],
    rows,
    notes: [
      `Per client: from opening its new WebSocket to the turn's CompleteEvent (first-connection events: up to the drop; the second connection replays the rest from the store, then continues live if the turn is still running; ` +
        `"turns running at the storm": sessions whose turn was still RUNNING just before the reconnects, over all rounds). ` +
        `Server CPU: user + system over the storm window (about "all caught up" long); share 100% = one core ` +
        `(likewise the busiest client process: near 100%, the clients, not the server, set the pace). The storm starts once every turn has ended ` +
        `(BENCH_STORM_MID_TURN=1: as soon as every client has dropped).`,
      `Checked for every client: seqs 1..n across both connections, no gap, no duplicate; deltas joining to exactly the streamed text; CompleteEvent END_TURN last.` +
        (ok ? ' All exact.' : ` FAILURES: ${failures.slice(0, 3).join(' | ')}`),
      'The baselines (naive-yoga, raw-ws) are not rows: they are live only (no `after` replay), so a reconnecting client cannot catch up on them.',
      `Target: every client caught up with the exact stream: ${ok ? 'met' : 'NOT MET'}. (No timing target in issue 6 for the storm: the times are reported, not judged.)`,
    ],
  };
  return {
    name: 'storm',
    ok,
    targets: [{ name: `storm: all ${opts.clients} reconnecting clients catch up exactly`, met: ok }],
    tables: [table],
    data: { options: opts, runs },
  };
}

export const stormScenario: Scenario = {
  name: 'storm',
  description: '1000 subscribers drop mid-turn and all resubscribe at once with `after`: time to catch up, server CPU, exact streams (memory vs SQLite)',
  run(ctx: ScenarioContext) {
    const base = ctx.quick ? quickStormOptions : defaultStormOptions;
    const stores = (ctx.stores ?? base.stores) as StormStore[];
    for (const s of stores) if (s !== 'memory' && s !== 'sqlite') throw new Error(`storm: unknown store ${s}; known: memory, sqlite`);
    if (ctx.servers && !ctx.servers.includes('switchboard')) {
      ctx.log('storm: skipped: only Switchboard has rows (the baselines have no `after` replay), and --servers leaves it out');
      return Promise.resolve({ name: 'storm', ok: true, targets: [], tables: [], data: { skipped: 'no switchboard in --servers' } });
    }
    return runStorm({ ...base, repeats: ctx.repeats ?? base.repeats, stores }, ctx.log);
  },
};
