/**
 * Agents (issue 12, "provider streams vs the demo agent"): what parsing a real provider's
 * stream costs Switchboard, beside the demo agent in the same run. 10 sessions × 100
 * graphql-ws subscribers, every session's turn streaming 1000 tokens at 1000 tokens/s, with
 * three rows, all on the memory store (as `fast`'s memory row):
 *
 * - `demo`: the demo agent's `/stream 1000 1000`;
 * - `anthropic`: `AGENT=anthropic`, its base URL a fake Anthropic API (bench/provider.ts, the
 *   tests' fake provider in a process of its own) that streams the same tokens at the same
 *   pace as `content_block_delta` events, one per token;
 * - `openai`: `AGENT=openai`, the same tokens as `chat.completion.chunk`s.
 *
 * Each row is a server, a load generator (bench/load.ts) and, for the provider rows, a fake
 * provider process, all started at once and living for the whole run; rounds (fresh sessions
 * and clients each, plus a warm-up turn) alternate between the rows as in `fast`. The provider
 * rows' messages carry the session id (`/stream 1000 1000 #<session>`), so the fake provider
 * can say when it wrote each session's first token: their time to first token is measured
 * from there (and from the sendMessage request, as the demo row's). The fake provider's CPU
 * time is reported on its own, never as the server's.
 *
 * Issue 12 targets, per provider row: lag p99 behind the token schedule and server CPU per
 * delivered token ≤ 1.2× the demo row's; the first token reaches subscribers ≤ 5 ms (p50)
 * after the fake provider sends it, beyond the demo agent's own time to first token.
 */
import { join, resolve } from 'node:path';
import type { LoadConfig, LoadResult } from './load.js';
import type { LatencyPanel } from './lib/chart.js';
import { makeTempDir, removeTempDir, spawnTs, type BenchChild } from './lib/processes.js';
import type { ScenarioResult, Table } from './lib/results.js';
import { alternateRounds, skipAfterFailure, type RoundFailure } from './lib/rounds.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { fmt, median, medianVector, percentile, type PercentileVector } from './lib/stats.js';
import { atMost } from './lib/wide-fanout.js';
import type { ProviderUsage } from './provider.js';
import type { ServerUsage } from './server.js';

/** A row: the server's `AGENT`. */
export type AgentKind = 'demo' | 'anthropic' | 'openai';
const agentKinds: readonly AgentKind[] = ['demo', 'anthropic', 'openai'];

export interface AgentsOptions {
  sessions: number;
  subscribersPerSession: number;
  /** Tokens of the measured turn, per session. */
  tokens: number;
  /** Their pace, tokens/s (the demo agent's `/stream N R`, and the fake provider's). */
  rate: number;
  /** Tokens of each round's warm-up turn (unpaced). */
  warmupTokens: number;
  repeats: number;
  /** Rounds run first on every row and not counted. */
  warmupRounds: number;
  /** Deadline of a turn (warm-up or measured), ms. */
  roundTimeoutMs: number;
  /** Extra node flags for the servers, e.g. `--cpu-prof` (BENCH_SERVER_NODE_ARGS). */
  serverNodeArgs: string[];
  /** Write a CPU profile of the server during each measured round here (BENCH_PROFILE_DIR). */
  profileDir: string | null;
  /** Provider rows over the demo row, at most: lag p99, and server CPU per delivered token. */
  maxRatio: number;
  /** Fake provider's send → first delta p50, over the demo row's TTFT p50, at most (ms). */
  maxFirstTokenExtraMs: number;
}

export const defaultAgentsOptions: AgentsOptions = {
  sessions: 10,
  subscribersPerSession: 100,
  tokens: 1000,
  rate: 1000,
  warmupTokens: 20,
  repeats: 3,
  // The first round of a row ran visibly slower in trials (JIT of the provider path): not counted.
  warmupRounds: 1,
  roundTimeoutMs: 60_000,
  serverNodeArgs: [],
  profileDir: null,
  maxRatio: 1.2,
  maxFirstTokenExtraMs: 5,
};

const quickAgentsOptions: AgentsOptions = { ...defaultAgentsOptions, sessions: 2, subscribersPerSession: 5, tokens: 200, repeats: 1, warmupRounds: 0 };

export interface AgentsRun {
  agent: AgentKind;
  round: number;
  /** Sessions, connections, subscriptions and the warm-up turn (ms, not measured). */
  prepareMs: number;
  /** The load generator's result (without its per-subscriber first-delta times). */
  load: Omit<LoadResult, 'type' | 'firstDeltaAt'>;
  server: { cpuMicros: number; rssBytes: number; eventLoopDelayP99Ms: number };
  /** The fake provider (provider rows). */
  provider: {
    cpuMicros: number;
    streams: number;
    /** Its own lateness behind its schedule, per token (ms). */
    lateMs: ProviderUsage['lateMs'];
  } | null;
  /** Provider rows: per subscriber, its first delta's receipt − when the fake provider wrote that session's first token (ms). */
  firstTokenFromSendMs: { p50: number; p99: number; max: number } | null;
  serverCpuPerMessageMicros: number;
  /** Server CPU time per million tokens delivered (summed over subscribers), ms. */
  serverCpuPerMillionTokensMs: number;
  serverCpuShare: number;
}

const serverModule = new URL('./server.ts', import.meta.url);
const loadModule = new URL('./load.ts', import.meta.url);
const providerModule = new URL('./provider.ts', import.meta.url);

interface AgentsTarget {
  agent: AgentKind;
  startMs: number;
  round(round: number): Promise<AgentsRun>;
  stop(): Promise<void>;
}

/** Starts a row's fake provider (first: the server needs its URL), server and load generator; stop() ends them all, always. */
async function startTarget(agent: AgentKind, opts: AgentsOptions): Promise<AgentsTarget> {
  const t0 = Date.now();
  const dataDir = makeTempDir(`switchboard-bench-agents-${agent}-`);
  let server: BenchChild | null = null;
  let load: BenchChild | null = null;
  let provider: BenchChild | null = null;
  const stop = async () => {
    // Load generator first (its clients close), then the server (a clean stop writes --cpu-prof), then the provider.
    await load?.stop();
    await server?.stop();
    await provider?.stop();
    removeTempDir(dataDir);
  };
  try {
    load = spawnTs(loadModule, []);
    const loadListening = load.next('listening', 60_000);
    let providerUrl: string | null = null;
    if (agent !== 'demo') {
      provider = spawnTs(providerModule, []);
      providerUrl = (await provider.waitForLine(/fake provider listening on (http:\/\/\S+)/, 60_000))[1]!;
    }
    server = spawnTs(
      serverModule,
      ['--store', 'memory', '--port', '0', '--data-dir', dataDir, '--agent', agent, ...(providerUrl ? ['--provider-url', providerUrl] : [])],
      { nodeArgs: opts.serverNodeArgs },
    );
    const [, url] = await server.waitForLine(/listening on (http:\/\/\S+)/, 60_000);
    const config: LoadConfig = {
      url: url!,
      sessions: opts.sessions,
      subscribersPerSession: opts.subscribersPerSession,
      warmupTokens: opts.warmupTokens,
      tokens: opts.tokens,
      rate: opts.rate,
      timeoutMs: opts.roundTimeoutMs,
      tagMessages: agent !== 'demo',
      reportFirstDeltas: agent !== 'demo',
    };
    await loadListening;
    await load.request({ type: 'start', config }, 'started', 10_000);
    const startMs = Date.now() - t0;
    const theServer = server;
    const theLoad = load;
    const theProvider = provider;

    const round = async (round: number): Promise<AgentsRun> => {
      const r0 = Date.now();
      await theLoad.request({ type: 'round', round }, 'ready', 90_000);
      const prepareMs = Date.now() - r0;
      if (opts.profileDir) await theServer.request({ type: 'profile', action: 'start' }, 'profiled', 10_000);
      // The provider's window encloses the server's; its first `usage` also forgets the warm-up's streams.
      const providerBefore = theProvider ? await theProvider.request<ProviderUsage>({ type: 'usage' }, 'usage', 5_000) : null;
      const before = await theServer.request<ServerUsage>({ type: 'usage' }, 'usage', 5_000);
      const result = await theLoad.request<LoadResult>({ type: 'go' }, 'result', config.timeoutMs + 10_000);
      const after = await theServer.request<ServerUsage>({ type: 'usage' }, 'usage', 5_000);
      const providerAfter = theProvider ? await theProvider.request<ProviderUsage>({ type: 'usage' }, 'usage', 5_000) : null;
      if (opts.profileDir) {
        const file = join(opts.profileDir, `agents-${agent}-round${round}.cpuprofile`);
        await theServer.request({ type: 'profile', action: 'stop', file }, 'profiled', 30_000);
      }
      await theLoad.request({ type: 'close' }, 'closed', 30_000);
      if (!result.ok) throw new Error(`agents (${agent}, round ${round}) delivered wrong results:\n  ${result.failures.join('\n  ')}`);

      let firstTokenFromSendMs: AgentsRun['firstTokenFromSendMs'] = null;
      if (providerAfter) {
        // Each session's stream, by the tag its message carried; exactly one per session.
        const sentAt = new Map<string, number>();
        for (const s of providerAfter.streams) {
          if (s.tag === null || sentAt.has(s.tag)) throw new Error(`agents (${agent}, round ${round}): the fake provider sent an unexpected stream (tag ${s.tag})`);
          sentAt.set(s.tag, s.firstTokenAt);
        }
        const values: number[] = [];
        for (const [sessionId, receipts] of Object.entries(result.firstDeltaAt ?? {})) {
          const sent = sentAt.get(sessionId);
          if (sent === undefined) throw new Error(`agents (${agent}, round ${round}): the fake provider sent no stream for session ${sessionId}`);
          for (const at of receipts) values.push(at - sent);
        }
        if (values.length !== result.subscribers) throw new Error(`agents (${agent}, round ${round}): ${values.length} first deltas for ${result.subscribers} subscribers`);
        firstTokenFromSendMs = { p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) };
      }
      const cpuMicros = after.userMicros + after.systemMicros - before.userMicros - before.systemMicros;
      const { type: _type, firstDeltaAt: _firstDeltaAt, ...loadResult } = result;
      return {
        agent,
        round,
        prepareMs,
        load: loadResult,
        server: { cpuMicros, rssBytes: after.rssBytes, eventLoopDelayP99Ms: after.eventLoopDelay.p99Ms },
        provider:
          providerBefore && providerAfter
            ? {
                cpuMicros: providerAfter.userMicros + providerAfter.systemMicros - providerBefore.userMicros - providerBefore.systemMicros,
                streams: providerAfter.streams.length,
                lateMs: providerAfter.lateMs,
              }
            : null,
        firstTokenFromSendMs,
        serverCpuPerMessageMicros: cpuMicros / result.wsMessages,
        serverCpuPerMillionTokensMs: (cpuMicros / 1000 / result.deliveredTokens) * 1e6,
        serverCpuShare: cpuMicros / 1000 / result.elapsedMs,
      };
    };
    return { agent, startMs, round, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface RowSummary {
  agent: AgentKind;
  label: string;
  runs: number;
  tokensPerSecond: number;
  idealTokensPerSecond: number;
  messagesPerSubscriber: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  lagP50Ms: number;
  lagP99Ms: number;
  /** sendMessage request → a subscriber's first delta. */
  firstTokenP50Ms: number;
  firstTokenP99Ms: number;
  /** The fake provider's first token write → a subscriber's first delta (provider rows). */
  fromSendP50Ms: number | null;
  fromSendP99Ms: number | null;
  serverCpuPerMillionTokensMs: number;
  serverCpuPerMessageMicros: number;
  serverCpuShare: number;
  providerCpuMs: number | null;
  providerCpuShare: number | null;
  providerLateP99Ms: number | null;
  loadCpuShare: number;
  latencyPercentiles: PercentileVector;
  latencySamples: number;
}

const labels: Record<AgentKind, string> = {
  demo: 'demo agent',
  anthropic: 'AGENT=anthropic (fake provider)',
  openai: 'AGENT=openai (fake provider)',
};

function summarize(agent: AgentKind, runs: AgentsRun[], opts: AgentsOptions): RowSummary {
  const mine = runs.filter((r) => r.agent === agent);
  const m = (f: (r: AgentsRun) => number) => median(mine.map(f));
  const provider = agent !== 'demo' && mine.length > 0;
  return {
    agent,
    label: labels[agent],
    runs: mine.length,
    tokensPerSecond: m((r) => r.load.tokensPerSecond),
    idealTokensPerSecond: opts.sessions * opts.subscribersPerSession * opts.rate,
    messagesPerSubscriber: m((r) => r.load.messagesPerSubscriber.median),
    latencyP50Ms: m((r) => r.load.latencyMs.p50),
    latencyP99Ms: m((r) => r.load.latencyMs.p99),
    lagP50Ms: m((r) => r.load.lagMs?.p50 ?? NaN),
    lagP99Ms: m((r) => r.load.lagMs?.p99 ?? NaN),
    firstTokenP50Ms: m((r) => r.load.firstTokenMs.p50),
    firstTokenP99Ms: m((r) => r.load.firstTokenMs.p99),
    fromSendP50Ms: provider ? m((r) => r.firstTokenFromSendMs?.p50 ?? NaN) : null,
    fromSendP99Ms: provider ? m((r) => r.firstTokenFromSendMs?.p99 ?? NaN) : null,
    serverCpuPerMillionTokensMs: m((r) => r.serverCpuPerMillionTokensMs),
    serverCpuPerMessageMicros: m((r) => r.serverCpuPerMessageMicros),
    serverCpuShare: m((r) => r.serverCpuShare),
    providerCpuMs: provider ? m((r) => (r.provider?.cpuMicros ?? NaN) / 1000) : null,
    providerCpuShare: provider ? m((r) => (r.provider?.cpuMicros ?? NaN) / 1000 / r.load.elapsedMs) : null,
    providerLateP99Ms: provider ? m((r) => r.provider?.lateMs?.p99 ?? NaN) : null,
    loadCpuShare: m((r) => r.load.loadCpuMicros / 1000 / r.load.elapsedMs),
    latencyPercentiles: medianVector(mine.map((r) => r.load.latencyMs.percentiles)),
    latencySamples: m((r) => r.load.latencyMs.count),
  };
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const pair = (a: number | null, b: number | null) => (a === null || b === null ? '–' : `${fmt(a)} / ${fmt(b)}`);
const roundName = (round: number) => (round < 0 ? `warm-up round ${-round}` : `round ${round + 1}`);

const describe = (run: AgentsRun) =>
  `${fmt(run.load.tokensPerSecond)} tokens/s, lag p99 ${fmt(run.load.lagMs?.p99 ?? NaN)} ms, TTFT p50 ${fmt(run.load.firstTokenMs.p50)} ms` +
  (run.firstTokenFromSendMs ? ` (from the provider's send ${fmt(run.firstTokenFromSendMs.p50)} ms)` : '') +
  `, server CPU ${fmt(run.server.cpuMicros / 1000)} ms (${fmt(run.serverCpuPerMillionTokensMs)} ms per 1M tokens)` +
  (run.provider ? `, fake provider CPU ${fmt(run.provider.cpuMicros / 1000)} ms, its lateness p99 ${fmt(run.provider.lateMs?.p99 ?? NaN)} ms` : '') +
  `, load gen CPU ${fmt((run.load.loadCpuMicros / 1000 / run.load.elapsedMs) * 100, 0)}%`;

export async function runAgents(ctx: ScenarioContext, opts: AgentsOptions): Promise<ScenarioResult> {
  const failures = new Map<AgentKind, RoundFailure>();
  const targets: AgentsTarget[] = [];
  let runs: AgentsRun[];
  try {
    const started = await Promise.allSettled(agentKinds.map((agent) => startTarget(agent, opts)));
    for (const s of started) if (s.status === 'fulfilled') targets.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    ctx.log(`agents: started ${targets.map((t) => `${t.agent} in ${t.startMs} ms`).join(', ')}`);
    // A failed row is reported as such; the other rows go on (as in `fast`).
    const all = await alternateRounds<AgentsTarget, AgentsRun | null>(targets, {
      warmupRounds: opts.warmupRounds,
      repeats: opts.repeats,
      ...skipAfterFailure<AgentsTarget, AgentKind, AgentsRun>({
        failures,
        key: (target) => target.agent,
        round: (target, index) => target.round(index),
        log: (target, run, index) =>
          ctx.log(index < 0 ? `agents: ${target.agent} warm-up round (not counted): ${describe(run)}` : `agents: ${target.agent} #${index + 1}: ${describe(run)} (prepared in ${run.prepareMs} ms)`),
        logFailure: (target, failure) => ctx.log(`agents: ${target.agent} ${roundName(failure.round)} FAILED (its later rounds are skipped): ${failure.error}`),
      }),
    });
    runs = all.filter((r): r is AgentsRun => r !== null);
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
  }

  const rows = agentKinds.map((agent) => summarize(agent, runs, opts));
  const correct = (r: RowSummary) => {
    const failure = failures.get(r.agent);
    if (!failure) return `yes (${plural(r.runs, 'round')})`;
    return `NO: ${roundName(failure.round)} failed${r.runs > 0 ? ` (${plural(r.runs, 'round')} before it ok)` : ''}`;
  };
  const subscribers = opts.sessions * opts.subscribersPerSession;
  const stream = `/stream ${fmt(opts.tokens, 0)} ${fmt(opts.rate, 0)}`;
  const columns = [
    'agent',
    'delivered tokens/s (ideal)',
    'WS msgs/subscriber',
    'lag p50 / p99 (ms)',
    'TTFT p50 / p99 (ms)',
    'provider send → first delta p50 / p99 (ms)',
    'server CPU per 1M tokens (ms)',
    'server CPU/msg (µs)',
    'server CPU share',
    'fake provider CPU (ms, share)',
    'fake provider late p99 (ms)',
    'load gen CPU share',
    'correct',
  ];
  const table: Table = {
    title:
      `Agents: provider streams vs the demo agent (${opts.sessions} sessions × ${opts.subscribersPerSession} graphql-ws subscribers = ${subscribers}; ` +
      `${fmt(opts.tokens, 0)} tokens at ${fmt(opts.rate, 0)} tokens/s in every session at once; memory store; ` +
      `median of ${plural(opts.repeats, 'round')} per row, after ${plural(opts.warmupRounds, 'warm-up round')})`,
    columns,
    rows: rows.map((r) =>
      r.runs === 0
        ? [r.label, ...columns.slice(2).map(() => '–'), correct(r)]
        : [
            r.label,
            `${fmt(r.tokensPerSecond)} (${fmt(r.idealTokensPerSecond)})`,
            fmt(r.messagesPerSubscriber),
            pair(r.lagP50Ms, r.lagP99Ms),
            pair(r.firstTokenP50Ms, r.firstTokenP99Ms),
            pair(r.fromSendP50Ms, r.fromSendP99Ms),
            fmt(r.serverCpuPerMillionTokensMs),
            fmt(r.serverCpuPerMessageMicros),
            `${fmt(r.serverCpuShare * 100, 0)}%`,
            r.providerCpuMs === null ? '–' : `${fmt(r.providerCpuMs)} (${fmt(r.providerCpuShare! * 100, 0)}%)`,
            r.providerLateP99Ms === null ? '–' : fmt(r.providerLateP99Ms),
            `${fmt(r.loadCpuShare * 100, 0)}%`,
            correct(r),
          ],
    ),
    notes: [],
  };
  const notes = table.notes!;
  notes.push(
    `The demo row's sessions are sent \`${stream}\`; the provider rows' \`${stream} #<session id>\`, which the fake provider (bench/provider.ts, ` +
      `its own process) answers with the same tokens at the same pace, one SSE event per token (Anthropic content_block_delta, OpenAI chat.completion.chunk).`,
    `Lag: per token i and subscriber, receipt − (the session's sendMessage request + i/${fmt(opts.rate, 0)} s), every row alike. ` +
      `TTFT: sendMessage request → a subscriber's first delta. Provider send → first delta: from just before the fake provider wrote the session's first token ` +
      `(its clock and the load generator's are both performance.timeOrigin + now on this machine). ` +
      `Server CPU per 1M tokens: the server's CPU time over tokens delivered (summed over subscribers) × 10^6; the fake provider's CPU is its own column, not the server's. ` +
      `Fake provider late: how far behind its own schedule it wrote its tokens (p99 per token).`,
  );
  for (const [agent, failure] of failures) {
    const lines = failure.error.split('\n').filter((l) => l.trim() && !/^\s*at /.test(l)).map((l) => l.trim());
    const error = lines.join(' | ');
    notes.push(`${labels[agent]} FAILED in ${roundName(failure.round)} (its later rounds skipped; no comparison with it): ${error.length > 800 ? `${error.slice(0, 800)}…` : error}`);
  }

  const judged: { name: string; met: boolean }[] = [];
  const demo = rows.find((r) => r.agent === 'demo' && r.runs > 0);
  for (const row of rows.filter((r) => r.agent !== 'demo' && r.runs > 0)) {
    if (!demo) break;
    const lagRatio = row.lagP99Ms / demo.lagP99Ms;
    const cpuRatio = row.serverCpuPerMillionTokensMs / demo.serverCpuPerMillionTokensMs;
    const extra = row.fromSendP50Ms! - demo.firstTokenP50Ms;
    judged.push(
      { name: `agents ${row.agent}: lag p99 ≤ ${opts.maxRatio}× the demo agent's`, met: lagRatio <= opts.maxRatio },
      { name: `agents ${row.agent}: server CPU per delivered token ≤ ${opts.maxRatio}× the demo agent's`, met: cpuRatio <= opts.maxRatio },
      { name: `agents ${row.agent}: first token ≤ ${opts.maxFirstTokenExtraMs} ms (p50) after the provider sends it, beyond the demo agent's TTFT`, met: extra <= opts.maxFirstTokenExtraMs },
    );
    notes.push(
      `${row.label}: lag p99 ${fmt(lagRatio, 2)}× the demo agent's (target ≤ ${opts.maxRatio}×: ${atMost(lagRatio, opts.maxRatio)}); ` +
        `server CPU per delivered token ${fmt(cpuRatio, 2)}× the demo agent's (target ≤ ${opts.maxRatio}×: ${atMost(cpuRatio, opts.maxRatio)}); ` +
        `provider send → first delta p50 ${fmt(row.fromSendP50Ms!)} ms vs the demo agent's TTFT p50 ${fmt(demo.firstTokenP50Ms)} ms: ` +
        `${extra >= 0 ? `${fmt(extra)} ms beyond it` : `${fmt(-extra)} ms less`} (target ≤ ${opts.maxFirstTokenExtraMs} ms beyond: ` +
        `${!Number.isFinite(extra) ? 'NOT MET (not measured)' : extra <= opts.maxFirstTokenExtraMs ? `met, ${fmt(opts.maxFirstTokenExtraMs - extra)} ms to spare` : `NOT MET, by ${fmt(extra - opts.maxFirstTokenExtraMs)} ms`}).`,
    );
  }
  if (ctx.quick && judged.length > 0) notes.push('  (--quick: small counts, the verdicts above are only indicative.)');
  const saturated = rows.filter((x) => x.runs > 0 && x.loadCpuShare >= 0.8).map((x) => `${x.label} ${fmt(x.loadCpuShare * 100, 0)}%`);
  if (saturated.length > 0) {
    notes.push(
      `The load generator (one process, one graphql-ws client per subscriber) is near a core for ${saturated.join(', ')}: ` +
        `that row's tokens/s, latency and lag include the client's own queueing (server CPU is still the server's own).`,
    );
  }
  notes.push(
    'Every run checked, every row alike: each subscriber got seqs 1..n without a gap, deltas that join to exactly the streamed text ' +
      '(every token exactly once, in order), and each turn ending with CompleteEvent END_TURN; each provider row\'s fake sent exactly one stream per session.',
  );

  // The demo row is `fast`'s Switchboard (memory) row: the same colour in the chart.
  const latency: LatencyPanel = {
    scenario: 'agents',
    subtitle: `${opts.sessions} sessions × ${opts.subscribersPerSession} subscribers, ${fmt(opts.tokens, 0)} tokens at ${fmt(opts.rate, 0)}/s; median of ${plural(opts.repeats, 'round')}`,
    series: rows.filter((r) => r.runs > 0).map((r) => ({ label: r.label, server: r.agent === 'demo' ? 'switchboard (memory)' : r.agent, percentiles: r.latencyPercentiles, count: r.latencySamples })),
  };
  return {
    name: 'agents',
    ok: failures.size === 0,
    targets: judged,
    tables: [table],
    latency,
    data: { options: opts, subscribers, summaries: rows, failures: Object.fromEntries(failures), runs },
  };
}

/** The options of a run: the full or `--quick` counts, with `--repeats`; `--stores` and `--servers` do not apply (every row, memory store). */
export function agentsOptions(ctx: ScenarioContext): AgentsOptions {
  const base = ctx.quick ? quickAgentsOptions : defaultAgentsOptions;
  return {
    ...base,
    repeats: ctx.repeats ?? base.repeats,
    serverNodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [],
    profileDir: process.env.BENCH_PROFILE_DIR ? resolve(process.env.BENCH_PROFILE_DIR) : null,
  };
}

export const agentsScenario: Scenario = {
  name: 'agents',
  description: '10 sessions × 100 subscribers, 1000 tokens at 1000/s: the demo agent vs AGENT=anthropic and AGENT=openai on a fake provider in its own process',
  run: (ctx) => runAgents(ctx, agentsOptions(ctx)),
};
