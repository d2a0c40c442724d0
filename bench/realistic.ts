/**
 * Realistic (issue 6): S sessions × 5 graphql-ws subscribers, `/stream 300 100` (300 tokens at
 * 100 tokens/s) in every session at once, S = 100 then 1000; Switchboard (memory store) and the
 * naive-yoga baseline and raw ws joining deltas in 50 ms windows as Switchboard does
 * (`--servers switchboard,naive-yoga,raw-ws,raw-ws-50ms`; raw-ws only when asked).
 * A fresh server and load generator per row, one measured round each (after a short unpaced
 * warm-up turn that also proves every subscription is live). Reports delivered tokens/s, lag
 * behind the token schedule (token i is due at the session's sendMessage + i/100 s), time to first
 * token, latency from each delta's `at` to its receipt, WebSocket messages per subscriber, server
 * and load-generator CPU; checks correctness exactly as `fanout` does (seqs 1..n without a gap,
 * deltas joining to exactly the streamed text, each turn ending with CompleteEvent END_TURN).
 *
 * Issue 6 targets, for Switchboard at 1000 sessions × 5 subscribers × 100 tokens/s: lag p99 ≤ 100 ms
 * and time to first token p99 ≤ 50 ms. All 5000 subscribers live in ONE load-generator process
 * (one graphql-ws client and WebSocket each): when its CPU share nears 100% the latencies include
 * the client's own queueing; the table shows that share.
 */
import type { LoadConfig, LoadResult } from './load.js';
import type { LatencyPanel } from './lib/chart.js';
import { spawnTs } from './lib/processes.js';
import type { ScenarioResult, Table } from './lib/results.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { fmt } from './lib/stats.js';
import type { ServerUsage } from './server.js';

type ServerKind = 'memory' | 'naive-yoga' | 'raw-ws' | 'raw-ws-50ms';

interface RealisticOptions {
  sessionCounts: number[];
  subscribersPerSession: number;
  tokens: number;
  rate: number;
  warmupTokens: number;
  servers: ServerKind[];
  targetLagP99Ms: number;
  targetFirstTokenP99Ms: number;
}

const defaults: RealisticOptions = {
  sessionCounts: [100, 1000],
  subscribersPerSession: 5,
  tokens: 300,
  rate: 100,
  warmupTokens: 20,
  servers: ['memory', 'naive-yoga', 'raw-ws-50ms'],
  targetLagP99Ms: 100,
  targetFirstTokenP99Ms: 50,
};

interface RealisticRun {
  server: ServerKind;
  sessions: number;
  subscribers: number;
  prepareMs: number;
  ok: boolean;
  error: string | null;
  load: Omit<LoadResult, 'type'> | null;
  serverCpuMicros: number | null;
  serverRssBytes: number | null;
  serverEventLoopDelayP99Ms: number | null;
}

const modules: Record<ServerKind, URL> = {
  memory: new URL('./server.ts', import.meta.url),
  'naive-yoga': new URL('./baselines/naive-yoga.ts', import.meta.url),
  'raw-ws': new URL('./baselines/raw-ws.ts', import.meta.url),
  'raw-ws-50ms': new URL('./baselines/raw-ws.ts', import.meta.url),
};
const serverArgs: Record<ServerKind, string[]> = {
  memory: ['--store', 'memory'],
  'naive-yoga': [],
  'raw-ws': [],
  // The messages Switchboard sends, from raw ws: deltas joined in 50 ms windows.
  'raw-ws-50ms': ['--coalesce-ms', '50'],
};
const loadModule = new URL('./load.ts', import.meta.url);

async function runOne(kind: ServerKind, sessions: number, opts: RealisticOptions): Promise<RealisticRun> {
  const server = spawnTs(modules[kind], [...serverArgs[kind], '--port', '0']);
  const load = spawnTs(loadModule, []);
  const run: RealisticRun = {
    server: kind,
    sessions,
    subscribers: sessions * opts.subscribersPerSession,
    prepareMs: NaN,
    ok: false,
    error: null,
    load: null,
    serverCpuMicros: null,
    serverRssBytes: null,
    serverEventLoopDelayP99Ms: null,
  };
  try {
    const loadListening = load.next('listening', 60_000);
    const [, url] = await server.waitForLine(/listening on (http:\/\/\S+)/, 60_000);
    const config: LoadConfig = {
      url: url!,
      sessions,
      subscribersPerSession: opts.subscribersPerSession,
      warmupTokens: opts.warmupTokens,
      tokens: opts.tokens,
      rate: opts.rate,
      // The nominal turn is 3 s; a server far behind real time still gets to finish (and be measured).
      timeoutMs: 240_000,
    };
    await loadListening;
    await load.request({ type: 'start', config }, 'started', 10_000);
    const r0 = Date.now();
    await load.request({ type: 'round', round: 0 }, 'ready', 300_000);
    run.prepareMs = Date.now() - r0;
    const before = await server.request<ServerUsage>({ type: 'usage' }, 'usage', 10_000);
    const result = await load.request<LoadResult>({ type: 'go' }, 'result', config.timeoutMs + 30_000);
    const after = await server.request<ServerUsage>({ type: 'usage' }, 'usage', 10_000);
    const { type: _type, ...loadResult } = result;
    run.load = loadResult;
    run.ok = result.ok;
    if (!result.ok) run.error = result.failures.join('; ');
    run.serverCpuMicros = after.userMicros + after.systemMicros - before.userMicros - before.systemMicros;
    run.serverRssBytes = after.rssBytes;
    run.serverEventLoopDelayP99Ms = after.eventLoopDelay?.p99Ms ?? null;
  } catch (error) {
    run.error = error instanceof Error ? error.message : String(error);
  } finally {
    await load.stop();
    await server.stop();
  }
  return run;
}

function options(ctx: ScenarioContext): RealisticOptions {
  const base: RealisticOptions = ctx.quick ? { ...defaults, sessionCounts: [10, 50], tokens: 100 } : defaults;
  const servers = ctx.servers ?? ['switchboard', 'naive-yoga', 'raw-ws-50ms'];
  const known = ['switchboard', 'naive-yoga', 'raw-ws', 'raw-ws-50ms'];
  for (const s of servers) if (!known.includes(s)) throw new Error(`realistic: unknown server ${s}; known: ${known.join(', ')}`);
  return {
    ...base,
    servers: [
      ...(servers.includes('switchboard') ? (['memory'] as const) : []),
      ...(['naive-yoga', 'raw-ws', 'raw-ws-50ms'] as const).filter((b) => servers.includes(b)),
    ],
  };
}

async function runRealistic(ctx: ScenarioContext): Promise<ScenarioResult> {
  const opts = options(ctx);
  const runs: RealisticRun[] = [];
  for (const sessions of opts.sessionCounts) {
    for (const kind of opts.servers) {
      const run = await runOne(kind, sessions, opts);
      const l = run.load;
      ctx.log(
        `realistic: ${kind} ${sessions}×${opts.subscribersPerSession}: ` +
          (l
            ? `${fmt(l.tokensPerSecond)} tokens/s, lag p99 ${fmt(l.lagMs?.p99 ?? NaN)} ms, TTFT p99 ${fmt(l.firstTokenMs.p99)} ms, ` +
              `latency p50/p99 ${fmt(l.latencyMs.p50)}/${fmt(l.latencyMs.p99)} ms, all complete ${fmt(l.elapsedMs)} ms, load gen CPU ${fmt((l.loadCpuMicros / 1000 / l.elapsedMs) * 100, 0)}%`
            : 'no result') +
          (run.error ? ` — FAILED: ${run.error}` : '') +
          ` (prepared in ${fmt(run.prepareMs, 0)} ms)`,
      );
      runs.push(run);
    }
  }

  const label = (k: ServerKind) => (k === 'memory' ? 'switchboard (memory)' : k);
  const nominalMs = (opts.tokens / opts.rate) * 1000;
  const table: Table = {
    title:
      `Realistic (S sessions × ${opts.subscribersPerSession} graphql-ws subscribers; /stream ${opts.tokens} ${opts.rate} ` +
      `(${opts.tokens} tokens at ${opts.rate} tokens/s, nominally ${fmt(nominalMs / 1000, 1)} s) in every session at once; one round per row)`,
    columns: [
      'server',
      'sessions × subs',
      'delivered tokens/s (ideal)',
      'all complete (ms)',
      'lag p50 / p99 (ms)',
      'TTFT p50 / p99 (ms)',
      'latency p50 / p99 (ms)',
      'WS msgs/subscriber',
      'server CPU share',
      'load gen CPU share',
      'correct',
    ],
    rows: runs.map((r) => {
      const l = r.load;
      const ideal = r.subscribers * opts.rate;
      if (!l) return [label(r.server), `${r.sessions} × ${opts.subscribersPerSession}`, '–', '–', '–', '–', '–', '–', '–', '–', `FAILED`];
      return [
        label(r.server),
        `${r.sessions} × ${opts.subscribersPerSession}`,
        `${fmt(l.tokensPerSecond)} (${fmt(ideal)})`,
        fmt(l.elapsedMs),
        `${fmt(l.lagMs?.p50 ?? NaN)} / ${fmt(l.lagMs?.p99 ?? NaN)}`,
        `${fmt(l.firstTokenMs.p50)} / ${fmt(l.firstTokenMs.p99)}`,
        `${fmt(l.latencyMs.p50)} / ${fmt(l.latencyMs.p99)}`,
        fmt(l.messagesPerSubscriber.median),
        r.serverCpuMicros === null ? '–' : `${fmt((r.serverCpuMicros / 1000 / l.elapsedMs) * 100, 0)}%`,
        `${fmt((l.loadCpuMicros / 1000 / l.elapsedMs) * 100, 0)}%`,
        r.ok ? 'yes' : 'NO',
      ];
    }),
    notes: [],
  };
  const notes = table.notes!;
  notes.push(
    `Ideal delivered tokens/s = subscribers × ${opts.rate} (the streams' own pace; "delivered tokens/s" divides by the time until the last CompleteEvent, so it also counts the tail).`,
    `Lag: per token i and subscriber, receipt of the delta holding it − (the session's sendMessage request + i/${opts.rate} s). ` +
      `TTFT: sendMessage request → a subscriber's first delta. Latency: per delta, receipt − its \`at\` (same machine's clock, \`at\` to the ms).`,
    `All ${fmt(Math.max(...opts.sessionCounts) * opts.subscribersPerSession, 0)} subscribers at the largest S share ONE load-generator process (one graphql-ws client and WebSocket each); ` +
      `where its CPU share nears 100% the lag, TTFT and latency include the client's own queueing, not only the server's.`,
  );
  const targetSessions = Math.max(...opts.sessionCounts);
  const sb = runs.find((r) => r.server === 'memory' && r.sessions === targetSessions);
  const targets: { name: string; met: boolean }[] = [];
  if (sb && !ctx.quick) {
    const lag = sb.load?.lagMs?.p99 ?? NaN;
    const ttft = sb.load?.firstTokenMs.p99 ?? NaN;
    const lagMet = lag <= opts.targetLagP99Ms;
    const ttftMet = ttft <= opts.targetFirstTokenP99Ms;
    targets.push(
      { name: `realistic ${targetSessions}×${opts.subscribersPerSession}: lag p99 ≤ ${opts.targetLagP99Ms} ms`, met: lagMet },
      { name: `realistic ${targetSessions}×${opts.subscribersPerSession}: TTFT p99 ≤ ${opts.targetFirstTokenP99Ms} ms`, met: ttftMet },
    );
    notes.push(
      `Issue 6 targets at ${targetSessions} sessions × ${opts.subscribersPerSession} subscribers × ${opts.rate} tokens/s (Switchboard): ` +
        `lag p99 ${fmt(lag)} ms (target ≤ ${opts.targetLagP99Ms} ms: ${lagMet ? 'met' : 'NOT MET'}); ` +
        `TTFT p99 ${fmt(ttft)} ms (target ≤ ${opts.targetFirstTokenP99Ms} ms: ${ttftMet ? 'met' : 'NOT MET'}).`,
    );
  }
  for (const r of runs.filter((x) => x.error)) notes.push(`${label(r.server)} ${r.sessions} × ${opts.subscribersPerSession} FAILED: ${r.error}`);
  notes.push(
    'Every run checked (nothing relaxed): each subscriber got seqs 1..n without a gap, deltas that join to exactly the streamed text, and each turn ending with CompleteEvent END_TURN.',
  );
  // The chart's panel (bench/lib/chart.ts): one line per server and S.
  const latency: LatencyPanel = {
    scenario: 'realistic',
    subtitle: `S sessions × ${opts.subscribersPerSession} subscribers, /stream ${opts.tokens} ${opts.rate}; one round per line`,
    series: runs.flatMap((r) =>
      r.load ? [{ label: `${label(r.server)} ${r.sessions} × ${opts.subscribersPerSession}`, server: label(r.server), percentiles: r.load.latencyMs.percentiles, count: r.load.latencyMs.count }] : [],
    ),
  };
  return {
    name: 'realistic',
    // A baseline that cannot finish (it falls over, or drops its clients) is a finding about
    // it, reported in its row, as in \`slow\`; wrong data from any row, or any Switchboard
    // failure, fails the run.
    ok: runs.every((r) => r.ok || (r.server !== 'memory' && r.load === null)),
    targets,
    tables: [table],
    latency,
    data: { options: opts, runs },
  };
}

export const realisticScenario: Scenario = {
  name: 'realistic',
  description: 'S = 100 then 1000 sessions × 5 subscribers, /stream 300 100 everywhere; lag, TTFT, latency; Switchboard (memory) vs naive-yoga',
  run: runRealistic,
};
