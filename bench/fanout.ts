/**
 * Fan-out: the server in one process, the load generator in another; S sessions × K
 * graphql-ws subscribers each; every session streams N tokens at once, as fast as the demo
 * agent can; measures delivered tokens/s (summed over subscribers), WebSocket messages per
 * subscriber, time until every subscriber has its CompleteEvent, and the server's CPU time.
 * A server per store (memory and SQLite) and a load generator per server start together and
 * live for the whole run; rounds (fresh sessions and clients each) alternate between the
 * stores, and the median of each is reported, with the ratio sqlite/memory of delivered
 * tokens/s (target ≥ 0.90).
 *
 * The two baselines of issue 6 run in the same run, as extra rows, driven by the same load
 * generator (`--servers switchboard,naive-yoga,raw-ws,raw-ws-50ms`, all by default):
 * `baselines/naive-yoga.ts` (graphql-yoga `createPubSub` + graphql-ws, one message per token)
 * and `baselines/raw-ws.ts` (raw `ws`, each event serialized once), plus raw-ws-50ms, the same
 * raw ws joining deltas in 50 ms windows as Switchboard does. Without coalescing the first two
 * send one WebSocket message per token, so they stream `baselineTokens` per session (default 2,000 instead of 50,000;
 * tokens/s is a rate, and 50,000 × 200 subscribers would take naive Yoga minutes per round).
 * Switchboard streams 50,000 so that a round lasts ~1-2 s: at 10,000 (until 2026-11-26) a
 * round had become ~0.4 s and round-to-round noise hid a 10% difference between stores.
 * The same correctness checks hold for every row, unrelaxed.
 */
import { alternateRounds, skipAfterFailure, type RoundFailure } from './lib/rounds.js';
import { join, resolve } from 'node:path';
import type { LoadConfig, LoadResult } from './load.js';
import { makeTempDir, removeTempDir, spawnTs } from './lib/processes.js';
import type { ScenarioResult, Table } from './lib/results.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { fmt, median } from './lib/stats.js';
import type { ServerUsage } from './server.js';

/** `sqlite` is the server's default (the store on its own thread); `sqlite-inline` the same store on the event loop's thread. */
export type StoreKind = 'memory' | 'sqlite' | 'sqlite-inline';
/** The baseline servers of issue 6 (`bench/baselines/`). */
export type BaselineKind = 'naive-yoga' | 'raw-ws' | 'raw-ws-50ms';
/** A row of the table: Switchboard with a store, or a baseline. */
export type TargetKind = StoreKind | BaselineKind;
export const baselineKinds: readonly BaselineKind[] = ['naive-yoga', 'raw-ws', 'raw-ws-50ms'];
const isBaseline = (kind: TargetKind): kind is BaselineKind => (baselineKinds as readonly string[]).includes(kind);

export interface FanoutOptions {
  sessions: number;
  subscribersPerSession: number;
  tokens: number;
  warmupTokens: number;
  repeats: number;
  /** Rounds run first on every server and not counted (JIT, first allocations). */
  warmupRounds: number;
  stores: StoreKind[];
  /** Baseline servers run as extra rows (`--servers`). */
  baselines: BaselineKind[];
  /** Tokens per session in the baselines' turns (one WebSocket message each, no coalescing). */
  baselineTokens: number;
  /** Target for sqlite/memory delivered tokens/s. */
  minRatio: number;
  /** Extra node flags for the server, e.g. `--cpu-prof` (BENCH_SERVER_NODE_ARGS). */
  serverNodeArgs: string[];
  /** Write a CPU profile of the server during each measured window here (BENCH_PROFILE_DIR). */
  profileDir: string | null;
  /** Scenario name in log lines, errors and profile file names (default `fanout`). */
  name?: string;
  /** Paced turns, `/stream N rate` (tokens/s); omitted: as fast as the agent can (`fanout`). */
  rate?: number;
  /** Deadline of a measured turn (default 60 s for Switchboard, 120 s for the baselines). */
  roundTimeoutMs?: number;
}

export const defaultFanoutOptions: FanoutOptions = {
  sessions: 10,
  subscribersPerSession: 20,
  tokens: 50_000,
  warmupTokens: 200,
  repeats: 7,
  warmupRounds: 1,
  stores: ['memory', 'sqlite', 'sqlite-inline'],
  baselines: ['naive-yoga', 'raw-ws'],
  baselineTokens: 2_000,
  minRatio: 0.9,
  serverNodeArgs: [],
  profileDir: null,
};

const quickFanoutOptions: FanoutOptions = { ...defaultFanoutOptions, sessions: 4, subscribersPerSession: 5, tokens: 1_000, baselineTokens: 1_000, repeats: 1, warmupRounds: 0 };

export interface FanoutRun {
  /** Switchboard's store, or the baseline's name. */
  store: TargetKind;
  round: number;
  /** Sessions, connections, subscriptions and the warm-up turn (ms, not measured). */
  prepareMs: number;
  load: Omit<LoadResult, 'type'>;
  server: {
    cpuMicros: number;
    userMicros: number;
    systemMicros: number;
    rssBytes: number;
    /** Time inside Store methods in the window (ms), total and per method. */
    storeMs: number;
    store: Record<string, { calls: number; ms: number; maxMs: number }>;
  };
  /** Server CPU time per WebSocket message delivered (µs). */
  serverCpuPerMessageMicros: number;
  /** Server CPU time over wall time in the window (1.0 = one core busy). */
  serverCpuShare: number;
}

const serverModule = new URL('./server.ts', import.meta.url);
const baselineModules: Record<BaselineKind, { module: URL; args: string[] }> = {
  'naive-yoga': { module: new URL('./baselines/naive-yoga.ts', import.meta.url), args: [] },
  'raw-ws': { module: new URL('./baselines/raw-ws.ts', import.meta.url), args: [] },
  // Raw ws sending the messages Switchboard sends: deltas joined in 50 ms windows.
  'raw-ws-50ms': { module: new URL('./baselines/raw-ws.ts', import.meta.url), args: ['--coalesce-ms', '50'] },
};
const loadModule = new URL('./load.ts', import.meta.url);

/** A server under test with its own load generator; they live for all the rounds of a run. */
export interface FanoutTarget {
  store: TargetKind;
  /** Wall time to start both processes (ms). */
  startMs: number;
  round(round: number): Promise<FanoutRun>;
  stop(): Promise<void>;
}

/** Starts the server (one store) and a load generator in parallel; stop() ends both, always. */
export async function startTarget(store: TargetKind, opts: FanoutOptions): Promise<FanoutTarget> {
  const t0 = Date.now();
  // Made and removed here, so that nothing is left behind even if the server is killed.
  const dataDir = makeTempDir(`switchboard-bench-${store}-`);
  const server = isBaseline(store)
    ? spawnTs(baselineModules[store].module, [...baselineModules[store].args, '--port', '0'], { nodeArgs: opts.serverNodeArgs })
    : spawnTs(serverModule, ['--store', store, '--port', '0', '--data-dir', dataDir], { nodeArgs: opts.serverNodeArgs });
  const load = spawnTs(loadModule, []);
  const stop = async () => {
    // Load generator first (its clients close), then the server (a clean stop writes --cpu-prof).
    await load.stop();
    await server.stop();
    removeTempDir(dataDir);
  };
  try {
    const loadListening = load.next('listening', 60_000);
    const [, url] = await server.waitForLine(/listening on (http:\/\/\S+)/, 60_000);
    const config: LoadConfig = {
      url: url!,
      sessions: opts.sessions,
      subscribersPerSession: opts.subscribersPerSession,
      warmupTokens: opts.warmupTokens,
      tokens: isBaseline(store) ? opts.baselineTokens : opts.tokens,
      rate: opts.rate,
      timeoutMs: opts.roundTimeoutMs ?? (isBaseline(store) ? 120_000 : 60_000),
    };
    await loadListening;
    await load.request({ type: 'start', config }, 'started', 10_000);
    const startMs = Date.now() - t0;

    const round = async (round: number): Promise<FanoutRun> => {
      const r0 = Date.now();
      await load.request({ type: 'round', round }, 'ready', 90_000);
      const prepareMs = Date.now() - r0;
      if (opts.profileDir) await server.request({ type: 'profile', action: 'start' }, 'profiled', 10_000);
      const before = await server.request<ServerUsage>({ type: 'usage' }, 'usage', 5_000);
      const result = await load.request<LoadResult>({ type: 'go' }, 'result', config.timeoutMs + 10_000);
      const after = await server.request<ServerUsage>({ type: 'usage' }, 'usage', 5_000);
      if (opts.profileDir) {
        const file = join(opts.profileDir, `${opts.name ?? 'fanout'}-${store}-round${round}.cpuprofile`);
        await server.request({ type: 'profile', action: 'stop', file }, 'profiled', 30_000);
      }
      await load.request({ type: 'close' }, 'closed', 30_000);
      if (!result.ok) {
        throw new Error(`${opts.name ?? 'fanout'} (${store}, round ${round}) delivered wrong results:\n  ${result.failures.join('\n  ')}`);
      }
      const userMicros = after.userMicros - before.userMicros;
      const systemMicros = after.systemMicros - before.systemMicros;
      const cpuMicros = userMicros + systemMicros;
      const storeStats: Record<string, { calls: number; ms: number; maxMs: number }> = {};
      for (const [name, a] of Object.entries(after.store)) {
        const b = before.store[name] ?? { calls: 0, ms: 0 };
        if (a.calls > b.calls) storeStats[name] = { calls: a.calls - b.calls, ms: a.ms - b.ms, maxMs: a.maxMs };
      }
      const storeMs = Object.values(storeStats).reduce((t, m) => t + m.ms, 0);
      const { type: _type, ...loadResult } = result;
      return {
        store,
        round,
        prepareMs,
        load: loadResult,
        server: { cpuMicros, userMicros, systemMicros, rssBytes: after.rssBytes, storeMs, store: storeStats },
        serverCpuPerMessageMicros: cpuMicros / result.wsMessages,
        serverCpuShare: cpuMicros / 1000 / result.elapsedMs,
      };
    };
    return { store, startMs, round, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Median calls and time per Store method over rounds, most expensive first. */
function perMethod(runs: FanoutRun[]): { name: string; calls: number; ms: number; maxMs: number }[] {
  const names = new Set(runs.flatMap((r) => Object.keys(r.server.store)));
  return [...names]
    .map((name) => ({
      name,
      calls: median(runs.map((r) => r.server.store[name]?.calls ?? 0)),
      ms: median(runs.map((r) => r.server.store[name]?.ms ?? 0)),
      maxMs: Math.max(...runs.map((r) => r.server.store[name]?.maxMs ?? 0)),
    }))
    .sort((a, b) => b.ms - a.ms);
}

interface StoreSummary {
  store: TargetKind;
  /** Tokens per session in the measured turn. */
  tokens: number;
  runs: number;
  tokensPerSecond: number;
  tokensPerSecondMin: number;
  tokensPerSecondMax: number;
  /** Delivered tokens per second of server CPU time: less sensitive to a busy machine. */
  tokensPerServerCpuSecond: number;
  elapsedMs: number;
  messagesPerSubscriber: number;
  firstTokenP50Ms: number;
  completeP99Ms: number;
  serverCpuMs: number;
  /** Time inside Store methods, and its share of the round's wall time (the event loop is blocked meanwhile). */
  storeMs: number;
  storeShare: number;
  appendsPerRound: number;
  serverCpuPerMessageMicros: number;
  serverCpuShare: number;
  loadCpuShare: number;
}

function summarize(store: TargetKind, runs: FanoutRun[], opts: FanoutOptions): StoreSummary {
  const mine = runs.filter((r) => r.store === store);
  const m = (f: (r: FanoutRun) => number) => median(mine.map(f));
  return {
    store,
    tokens: isBaseline(store) ? opts.baselineTokens : opts.tokens,
    runs: mine.length,
    tokensPerSecond: m((r) => r.load.tokensPerSecond),
    tokensPerSecondMin: Math.min(...mine.map((r) => r.load.tokensPerSecond)),
    tokensPerSecondMax: Math.max(...mine.map((r) => r.load.tokensPerSecond)),
    tokensPerServerCpuSecond: m((r) => r.load.deliveredTokens / (r.server.cpuMicros / 1e6)),
    elapsedMs: m((r) => r.load.elapsedMs),
    messagesPerSubscriber: m((r) => r.load.messagesPerSubscriber.median),
    firstTokenP50Ms: m((r) => r.load.firstTokenMs.p50),
    completeP99Ms: m((r) => r.load.completeMs.p99),
    serverCpuMs: m((r) => r.server.cpuMicros / 1000),
    storeMs: m((r) => r.server.storeMs),
    storeShare: m((r) => r.server.storeMs / r.load.elapsedMs),
    appendsPerRound: m((r) => r.server.store.appendEvents?.calls ?? 0),
    serverCpuPerMessageMicros: m((r) => r.serverCpuPerMessageMicros),
    serverCpuShare: m((r) => r.serverCpuShare),
    loadCpuShare: m((r) => r.load.loadCpuMicros / 1000 / r.load.elapsedMs),
  };
}

/**
 * Starts every row's server and load generator at once (Switchboard per store, then the
 * baselines), runs the warm-up and counted rounds alternating between them (memory, sqlite,
 * naive-yoga, raw-ws, memory, …, so that a busy spell on the machine hits all alike), stops
 * them all whatever happens, and returns the counted runs. `describe` gives the log line of a
 * counted round (also used by `fast` and `burst`). A failed round (wrong results, a deadline)
 * throws, unless `failures` is given: then the row's first error is recorded there, its later
 * rounds are skipped (its load generator may be gone) and the other rows go on.
 */
export async function runTargets(
  ctx: ScenarioContext,
  opts: FanoutOptions,
  describe: (run: FanoutRun) => string = describeRun,
  failures?: Map<TargetKind, RoundFailure>,
): Promise<FanoutRun[]> {
  const name = opts.name ?? 'fanout';
  const targets: FanoutTarget[] = [];
  try {
    const kinds: TargetKind[] = [...opts.stores, ...opts.baselines];
    const started = await Promise.allSettled(kinds.map((kind) => startTarget(kind, opts)));
    for (const s of started) if (s.status === 'fulfilled') targets.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    ctx.log(`${name}: started ${targets.map((t) => `${t.store} in ${t.startMs} ms`).join(', ')}`);
    const log = (target: FanoutTarget, run: FanoutRun, index: number) =>
      ctx.log(
        index < 0
          ? `${name}: ${target.store} warm-up round: ${fmt(run.load.tokensPerSecond)} tokens/s (not counted)`
          : `${name}: ${target.store} #${index + 1}: ${describe(run)} (prepared in ${run.prepareMs} ms)`,
      );
    const round = (target: FanoutTarget, index: number) => target.round(index);
    const runs = await alternateRounds<FanoutTarget, FanoutRun | null>(targets, {
      warmupRounds: opts.warmupRounds,
      repeats: opts.repeats,
      ...(failures
        ? skipAfterFailure<FanoutTarget, TargetKind, FanoutRun>({
            failures,
            key: (target) => target.store,
            round,
            log,
            logFailure: (target, failure) =>
              ctx.log(`${name}: ${target.store} ${failure.round < 0 ? 'warm-up round' : `#${failure.round + 1}`} FAILED (its later rounds are skipped): ${failure.error}`),
          })
        : { round, log: (target: FanoutTarget, run: FanoutRun | null, index: number) => log(target, run!, index) }),
    });
    return runs.filter((r): r is FanoutRun => r !== null);
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
  }
}

const describeRun = (run: FanoutRun) =>
  `${fmt(run.load.tokensPerSecond)} tokens/s, ${fmt(run.load.elapsedMs)} ms, ` +
  `${run.load.messagesPerSubscriber.median} msgs/subscriber, server CPU ${fmt(run.server.cpuMicros / 1000)} ms`;

export async function runFanout(ctx: ScenarioContext, opts: FanoutOptions): Promise<ScenarioResult> {
  const runs = await runTargets(ctx, opts);
  const summaries = [...opts.stores, ...opts.baselines].map((s) => summarize(s, runs, opts));
  const subscribers = opts.sessions * opts.subscribersPerSession;
  const table: Table = {
    title:
      `Fan-out (${opts.sessions} sessions × ${opts.subscribersPerSession} graphql-ws subscribers = ${subscribers}; ` +
      `/stream ${fmt(opts.tokens, 0)} in every session at once; median of ${plural(opts.repeats, 'round')} per server, after ${plural(opts.warmupRounds, 'warm-up round')})`,
    columns: [
      'server',
      'delivered tokens/s',
      'runs (min–max)',
      'tokens per server CPU-s',
      'all complete (ms)',
      'WS msgs/subscriber',
      'first token p50 (ms)',
      'server CPU (ms)',
      'in store (ms)',
      'in store / wall',
      'server CPU/msg (µs)',
      'server CPU share',
      'load gen CPU share',
    ],
    rows: summaries.map((s) => [
      isBaseline(s.store) ? `${s.store} (/stream ${fmt(s.tokens, 0)})` : s.store,
      fmt(s.tokensPerSecond),
      `${fmt(s.tokensPerSecondMin / 1000, 0)}k–${fmt(s.tokensPerSecondMax / 1000, 0)}k`,
      fmt(s.tokensPerServerCpuSecond),
      fmt(s.elapsedMs),
      fmt(s.messagesPerSubscriber),
      fmt(s.firstTokenP50Ms),
      fmt(s.serverCpuMs),
      isBaseline(s.store) ? '–' : fmt(s.storeMs),
      isBaseline(s.store) ? '–' : `${fmt(s.storeShare * 100, 1)}%`,
      fmt(s.serverCpuPerMessageMicros),
      `${fmt(s.serverCpuShare * 100, 0)}%`,
      `${fmt(s.loadCpuShare * 100, 0)}%`,
    ]),
    notes: [],
  };
  const memory = summaries.find((s) => s.store === 'memory');
  const sqlite = summaries.find((s) => s.store === 'sqlite');
  let target: { ratio: number; pairedRatio: number; cpuRatio: number; minRatio: number; met: boolean } | null = null;
  if (memory && sqlite) {
    const ratio = sqlite.tokensPerSecond / memory.tokensPerSecond;
    // Each sqlite round against the memory round just before it: less sensitive to the
    // machine getting busier or quieter over the run than the ratio of the medians.
    const pairs = runs
      .filter((r) => r.store === 'sqlite')
      .flatMap((s) => {
        const m = runs.find((r) => r.store === 'memory' && r.round === s.round);
        return m ? [s.load.tokensPerSecond / m.load.tokensPerSecond] : [];
      });
    const pairedRatio = median(pairs);
    const cpuRatio = sqlite.tokensPerServerCpuSecond / memory.tokensPerServerCpuSecond;
    target = { ratio, pairedRatio, cpuRatio, minRatio: opts.minRatio, met: ratio >= opts.minRatio };
    const cost = (r: number) => (r >= 1 ? 'no measurable cost' : `${fmt((1 - r) * 100, 1)}% less`);
    table.notes!.push(
      `sqlite/memory delivered tokens/s (ratio of the medians): ${fmt(ratio, 3)} (${cost(ratio)}; target ≥ ${opts.minRatio}: ${target.met ? 'met' : 'NOT MET'}).`,
      `  median of the per-round ratios: ${fmt(pairedRatio, 3)} (rounds: ${pairs.map((p) => fmt(p, 2)).join(', ')}); ` +
        `tokens per server CPU-second: ${fmt(cpuRatio, 3)}.`,
      `  time inside the store: sqlite ${fmt(sqlite.storeMs)} ms vs memory ${fmt(memory.storeMs)} ms per round ` +
        `(${fmt(sqlite.appendsPerRound, 0)} vs ${fmt(memory.appendsPerRound, 0)} appendEvents calls), ` +
        `i.e. the event loop spent ${fmt(sqlite.storeShare * 100, 1)}% vs ${fmt(memory.storeShare * 100, 1)}% of a round's wall time in the store.`,
    );
    const inline = summaries.find((s) => s.store === 'sqlite-inline');
    if (inline) {
      table.notes!.push(
        `  sqlite-inline (the same store on the event loop's thread, as before the store thread): ${fmt(inline.tokensPerSecond / memory.tokensPerSecond, 3)} of memory's tokens/s, ` +
          `${fmt(inline.storeMs)} ms per round in the store (${fmt(inline.storeShare * 100, 1)}% of wall time).`,
      );
    }
    for (const summary of [memory, sqlite, ...(inline ? [inline] : [])]) {
      const methods = perMethod(runs.filter((r) => r.store === summary.store));
      table.notes!.push(
        `  ${summary.store} store, median per round: ` +
          methods
            .slice(0, 3)
            .map((m) => `${m.name} ${fmt(m.calls, 0)}× ${fmt(m.ms)} ms (${fmt((m.ms * 1000) / m.calls, 0)} µs each, longest ${fmt(m.maxMs)} ms)`)
            .join(', '),
      );
    }
  }
  const naive = summaries.find((s) => s.store === 'naive-yoga');
  const raw = summaries.find((s) => s.store === 'raw-ws');
  if (naive || raw) {
    table.notes!.push(
      `Baselines (bench/baselines/): naive-yoga = graphql-yoga createPubSub + graphql-ws useServer (the Yoga docs' recipe), ` +
        `raw-ws = raw ws, each event serialized once; both send one WebSocket message per token (no coalescing), ` +
        `so they stream /stream ${fmt(opts.baselineTokens, 0)} per session (Switchboard: /stream ${fmt(opts.tokens, 0)}); ` +
        `both are live only (no store; \`after\` ignored), which the bench does not exercise (it subscribes before the first turn).`,
    );
    for (const s of summaries.filter((x) => !isBaseline(x.store))) {
      const parts: string[] = [];
      if (naive) parts.push(`${fmt(s.tokensPerSecond / naive.tokensPerSecond, 1)}× naive-yoga's delivered tokens/s (issue 6 target ≥ 20×)`);
      if (raw) {
        parts.push(
          `${fmt(s.tokensPerSecond / raw.tokensPerSecond, 2)}× raw-ws's tokens/s`,
          `server CPU per WebSocket message ${fmt(s.serverCpuPerMessageMicros / raw.serverCpuPerMessageMicros, 2)}× raw-ws's (target ≤ 1.5×)`,
          `server CPU per delivered token ${fmt(raw.tokensPerServerCpuSecond / s.tokensPerServerCpuSecond, 3)}× raw-ws's`,
        );
      }
      table.notes!.push(`  ${s.store}: ${parts.join('; ')}.`);
    }
    const saturated = summaries.filter((x) => x.loadCpuShare >= 0.8).map((x) => `${x.store} ${fmt(x.loadCpuShare * 100, 0)}%`);
    if (saturated.length > 0) {
      table.notes!.push(
        `  The load generator (one process, one graphql-ws client per subscriber) is near a core for ${saturated.join(', ')}: ` +
          `that row may measure the client more than the server (server CPU/msg is still the server's own).`,
      );
    }
  }
  table.notes!.push(
    'Every run checked (Switchboard and baselines alike, nothing relaxed): each subscriber got seqs 1..n without a gap, ' +
      'deltas that join to exactly the streamed text, and each turn ending with CompleteEvent END_TURN.',
  );
  return {
    name: 'fanout',
    ok: true,
    targets: target ? [{ name: `sqlite ≥ ${opts.minRatio * 100}% of memory delivered tokens/s`, met: target.met }] : [],
    tables: [table],
    data: { options: opts, subscribers, target, summaries, runs },
  };
}

/**
 * The options of a run: `full` or, with `--quick`, `quick`, with `--repeats`, `--stores` and
 * `--servers` applied (`fast` and `burst` pass their own defaults).
 */
export function fanoutOptions(ctx: ScenarioContext, full: FanoutOptions = defaultFanoutOptions, quick: FanoutOptions = quickFanoutOptions): FanoutOptions {
  const base = ctx.quick ? quick : full;
  const name = base.name ?? 'fanout';
  const stores = ctx.stores ?? base.stores;
  for (const s of stores) if (s !== 'memory' && s !== 'sqlite' && s !== 'sqlite-inline') throw new Error(`${name}: unknown store ${s}`);
  // `--servers switchboard,naive-yoga,raw-ws` (default: all): `switchboard` is the stores above.
  const servers = ctx.servers ?? ['switchboard', ...baselineKinds];
  for (const s of servers) {
    if (s !== 'switchboard' && !(baselineKinds as readonly string[]).includes(s)) {
      throw new Error(`${name}: unknown server ${s}; known: switchboard, ${baselineKinds.join(', ')}`);
    }
  }
  return {
    ...base,
    repeats: ctx.repeats ?? base.repeats,
    stores: servers.includes('switchboard') ? (stores as StoreKind[]) : [],
    baselines: baselineKinds.filter((b) => servers.includes(b)),
    serverNodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [],
    profileDir: process.env.BENCH_PROFILE_DIR ? resolve(process.env.BENCH_PROFILE_DIR) : null,
  };
}

export const fanoutScenario: Scenario = {
  name: 'fanout',
  description: 'S sessions × K graphql-ws subscribers, /stream N everywhere at once, memory vs SQLite vs the naive-yoga and raw-ws baselines',
  run: (ctx) => runFanout(ctx, fanoutOptions(ctx)),
};
