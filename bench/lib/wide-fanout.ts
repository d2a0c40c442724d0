/**
 * What the `fast` and `burst` scenarios share (bench/fast.ts, bench/burst.ts): the fan-out of
 * `bench/fanout.ts` (the same servers, load generators and alternating rounds, through its
 * `runTargets`) at 10 sessions × 100 graphql-ws subscribers, with every row, Switchboard and
 * baselines alike, streaming the same turn, paced (`/stream N R`, `fast`) or not (`burst`);
 * then one table of per-row medians (delivered tokens/s, WS messages per subscriber, latency,
 * lag behind the token schedule when paced, time to first token, server CPU per WebSocket
 * message and per million delivered tokens), the issue 6 targets when asked for, and the
 * latency panel of the chart (`bench/lib/chart.ts`).
 */
import { baselineKinds, runTargets, type FanoutOptions, type FanoutRun, type TargetKind } from '../fanout.js';
import type { LatencyPanel } from './chart.js';
import type { ScenarioResult, Table } from './results.js';
import type { ScenarioContext } from './scenario.js';
import { fmt, median, medianVector, type PercentileVector } from './stats.js';

export interface WideFanoutTargets {
  /** Switchboard's lag p99 behind the token schedule, at most (ms; paced runs only). */
  maxLagP99Ms: number;
  /** Switchboard's delivered tokens/s over naive-yoga's, at least. */
  minNaiveRatio: number;
  /** Switchboard's server CPU per WebSocket message over raw-ws's, at most. */
  maxRawCpuPerMessageRatio: number;
}

export interface WideFanoutSpec {
  /** The scenario (`fast`, `burst`): log lines, errors, the result. */
  name: string;
  /** The table's title, before the counts. */
  title: string;
  /** Options after `fanoutOptions` (counts, rows, `rate` for paced turns). */
  opts: FanoutOptions;
  /** Issue 6 targets to check (null: the ratios are reported, nothing is judged). */
  targets: WideFanoutTargets | null;
}

export interface RowSummary {
  store: TargetKind;
  label: string;
  runs: number;
  tokens: number;
  tokensPerSecond: number;
  /** Subscribers × rate for a paced turn (what a server keeping up delivers over the turn); null unpaced. */
  idealTokensPerSecond: number | null;
  elapsedMs: number;
  messagesPerSubscriber: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  firstTokenP50Ms: number;
  firstTokenP99Ms: number;
  serverCpuMs: number;
  serverCpuPerMessageMicros: number;
  /** Server CPU time per million tokens delivered (summed over subscribers), ms. */
  serverCpuPerMillionTokensMs: number;
  serverCpuShare: number;
  loadCpuShare: number;
  /** Point-wise median over the rounds of the latency distribution (for the chart). */
  latencyPercentiles: PercentileVector;
  latencySamples: number;
}

const isBaseline = (kind: TargetKind) => (baselineKinds as readonly string[]).includes(kind);
const label = (kind: TargetKind) => (isBaseline(kind) ? kind : `switchboard (${kind})`);
const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const pair = (a: number | null, b: number | null) => (a === null || b === null ? '–' : `${fmt(a)} / ${fmt(b)}`);

function summarize(store: TargetKind, runs: FanoutRun[], opts: FanoutOptions): RowSummary {
  const mine = runs.filter((r) => r.store === store);
  const m = (f: (r: FanoutRun) => number) => median(mine.map(f));
  const paced = opts.rate !== undefined;
  const subscribers = opts.sessions * opts.subscribersPerSession;
  return {
    store,
    label: label(store),
    runs: mine.length,
    tokens: isBaseline(store) ? opts.baselineTokens : opts.tokens,
    tokensPerSecond: m((r) => r.load.tokensPerSecond),
    idealTokensPerSecond: paced ? subscribers * opts.rate! : null,
    elapsedMs: m((r) => r.load.elapsedMs),
    messagesPerSubscriber: m((r) => r.load.messagesPerSubscriber.median),
    latencyP50Ms: m((r) => r.load.latencyMs.p50),
    latencyP99Ms: m((r) => r.load.latencyMs.p99),
    lagP50Ms: paced ? m((r) => r.load.lagMs?.p50 ?? NaN) : null,
    lagP99Ms: paced ? m((r) => r.load.lagMs?.p99 ?? NaN) : null,
    firstTokenP50Ms: m((r) => r.load.firstTokenMs.p50),
    firstTokenP99Ms: m((r) => r.load.firstTokenMs.p99),
    serverCpuMs: m((r) => r.server.cpuMicros / 1000),
    serverCpuPerMessageMicros: m((r) => r.serverCpuPerMessageMicros),
    serverCpuPerMillionTokensMs: m((r) => (r.server.cpuMicros / 1000 / r.load.deliveredTokens) * 1e6),
    serverCpuShare: m((r) => r.serverCpuShare),
    loadCpuShare: m((r) => r.load.loadCpuMicros / 1000 / r.load.elapsedMs),
    latencyPercentiles: medianVector(mine.map((r) => r.load.latencyMs.percentiles)),
    latencySamples: m((r) => r.load.latencyMs.count),
  };
}

/** `value` against an upper bound: "met, 39% under (39.3 ms to spare)" / "NOT MET, 34% over (by 33.8 ms)" / "NOT MET, 12.2× the bound". */
export function atMost(value: number, bound: number, unit = ''): string {
  if (!Number.isFinite(value)) return 'NOT MET (not measured)';
  const by = unit ? ` (${value <= bound ? `${fmt(bound - value)}${unit} to spare` : `by ${fmt(value - bound)}${unit}`})` : '';
  if (value <= bound) return `met, ${fmt((1 - value / bound) * 100, 0)}% under${by}`;
  return value / bound < 2 ? `NOT MET, ${fmt((value / bound - 1) * 100, 0)}% over${by}` : `NOT MET, ${fmt(value / bound, 1)}× the bound${by}`;
}

/** `value` against a lower bound: "met, 1.6× the bound" / "NOT MET, 38% short". */
function atLeast(value: number, bound: number): string {
  if (!Number.isFinite(value)) return 'NOT MET (not measured)';
  if (value >= bound) return `met, ${fmt(value / bound, 2)}× the bound`;
  return `NOT MET, ${fmt((1 - value / bound) * 100, 0)}% short`;
}

const describe = (run: FanoutRun) =>
  `${fmt(run.load.tokensPerSecond)} tokens/s, all complete ${fmt(run.load.elapsedMs)} ms, ${run.load.messagesPerSubscriber.median} msgs/subscriber, ` +
  `latency p50/p99 ${fmt(run.load.latencyMs.p50)}/${fmt(run.load.latencyMs.p99)} ms` +
  (run.load.lagMs ? `, lag p99 ${fmt(run.load.lagMs.p99)} ms` : '') +
  `, TTFT p99 ${fmt(run.load.firstTokenMs.p99)} ms, server CPU ${fmt(run.server.cpuMicros / 1000)} ms (${fmt(run.serverCpuPerMessageMicros)} µs/msg), ` +
  `load gen CPU ${fmt((run.load.loadCpuMicros / 1000 / run.load.elapsedMs) * 100, 0)}%`;

export async function runWideFanout(ctx: ScenarioContext, spec: WideFanoutSpec): Promise<ScenarioResult> {
  const { opts } = spec;
  // A failed row (wrong results, a deadline, a subscription that died) is reported as such;
  // the other rows go on, so that one bad round does not throw away a long run.
  const failures = new Map<TargetKind, { round: number; error: string }>();
  const runs = await runTargets(ctx, opts, describe, failures);
  const rows = [...opts.stores, ...opts.baselines].map((s) => summarize(s, runs, opts));
  const roundName = (round: number) => (round < 0 ? `warm-up round ${-round}` : `round ${round + 1}`);
  const correct = (r: RowSummary) => {
    const failure = failures.get(r.store);
    if (!failure) return `yes (${plural(r.runs, 'round')})`;
    return `NO: ${roundName(failure.round)} failed${r.runs > 0 ? ` (${plural(r.runs, 'round')} before it ok)` : ''}`;
  };
  const paced = opts.rate !== undefined;
  const subscribers = opts.sessions * opts.subscribersPerSession;
  const stream = paced ? `/stream ${fmt(opts.tokens, 0)} ${fmt(opts.rate!, 0)}` : `/stream ${fmt(opts.tokens, 0)}`;
  const sameTurn = opts.baselineTokens === opts.tokens;
  const table: Table = {
    title:
      `${spec.title} (${opts.sessions} sessions × ${opts.subscribersPerSession} graphql-ws subscribers = ${subscribers}; ` +
      `${stream} in every session at once${sameTurn ? ', every row' : `, baselines /stream ${fmt(opts.baselineTokens, 0)}`}; ` +
      `median of ${plural(opts.repeats, 'round')} per server, after ${plural(opts.warmupRounds, 'warm-up round')})`,
    columns: [
      'server',
      paced ? 'delivered tokens/s (ideal)' : 'delivered tokens/s',
      'all complete (ms)',
      'WS msgs/subscriber',
      'latency p50 / p99 (ms)',
      ...(paced ? ['lag p50 / p99 (ms)'] : []),
      'TTFT p50 / p99 (ms)',
      'server CPU/msg (µs)',
      'server CPU per 1M tokens (ms)',
      'server CPU share',
      'load gen CPU share',
      'correct',
    ],
    rows: rows.map((r) => r.runs === 0 ? [r.label, ...Array.from({ length: paced ? 10 : 9 }, () => '–'), correct(r)] : [
      r.label,
      paced ? `${fmt(r.tokensPerSecond)} (${fmt(r.idealTokensPerSecond!)})` : fmt(r.tokensPerSecond),
      fmt(r.elapsedMs),
      fmt(r.messagesPerSubscriber),
      pair(r.latencyP50Ms, r.latencyP99Ms),
      ...(paced ? [pair(r.lagP50Ms, r.lagP99Ms)] : []),
      pair(r.firstTokenP50Ms, r.firstTokenP99Ms),
      fmt(r.serverCpuPerMessageMicros),
      fmt(r.serverCpuPerMillionTokensMs),
      `${fmt(r.serverCpuShare * 100, 0)}%`,
      `${fmt(r.loadCpuShare * 100, 0)}%`,
      correct(r),
    ]),
    notes: [],
  };
  const notes = table.notes!;
  notes.push(
    `Delivered tokens/s: tokens received, summed over subscribers, over the time from the sendMessage requests to the last CompleteEvent` +
      (paced ? `; ideal = subscribers × ${fmt(opts.rate!, 0)} tokens/s (the stream's own pace).` : '.') +
      ` Latency: per delta, receipt − its \`at\` (same clock, \`at\` to the ms). ` +
      (paced ? `Lag: per token i and subscriber, receipt − (the session's sendMessage request + i/${fmt(opts.rate!, 0)} s). ` : '') +
      `TTFT: sendMessage request → a subscriber's first delta. Server CPU per 1M tokens: the server's CPU time over tokens delivered (summed over subscribers) × 10^6.`,
  );

  for (const [store, failure] of failures) {
    // The messages without their stack frames.
    const lines = failure.error.split('\n').filter((l) => l.trim() && !/^\s*at /.test(l)).map((l) => l.trim());
    const error = lines.join(' | ');
    notes.push(`${label(store)} FAILED in ${roundName(failure.round)} (its later rounds skipped; no comparison with it): ${error.length > 800 ? `${error.slice(0, 800)}…` : error}`);
  }
  // Rows without a measured round take no part in the comparisons.
  const naive = rows.find((r) => r.store === 'naive-yoga' && r.runs > 0);
  const raw = rows.find((r) => r.store === 'raw-ws' && r.runs > 0);
  const rawJoined = rows.find((r) => r.store === 'raw-ws-50ms' && r.runs > 0);
  const targets: { name: string; met: boolean }[] = [];
  for (const sb of rows.filter((r) => !isBaseline(r.store) && r.runs > 0)) {
    const parts: string[] = [];
    const t = spec.targets;
    if (t && paced) {
      const met = sb.lagP99Ms !== null && sb.lagP99Ms <= t.maxLagP99Ms;
      targets.push({ name: `${spec.name} ${sb.label}: lag p99 ≤ ${t.maxLagP99Ms} ms`, met });
      parts.push(`lag p99 ${fmt(sb.lagP99Ms ?? NaN)} ms (target ≤ ${t.maxLagP99Ms} ms: ${atMost(sb.lagP99Ms ?? NaN, t.maxLagP99Ms, ' ms')})`);
    }
    if (naive) {
      const ratio = sb.tokensPerSecond / naive.tokensPerSecond;
      if (t) {
        targets.push({ name: `${spec.name} ${sb.label}: delivered tokens/s ≥ ${t.minNaiveRatio}× naive-yoga's`, met: ratio >= t.minNaiveRatio });
        parts.push(`delivered tokens/s ${fmt(ratio, 2)}× naive-yoga's (target ≥ ${t.minNaiveRatio}×: ${atLeast(ratio, t.minNaiveRatio)})`);
      } else parts.push(`delivered tokens/s ${fmt(ratio, 2)}× naive-yoga's`);
    }
    if (raw) {
      const ratio = sb.serverCpuPerMessageMicros / raw.serverCpuPerMessageMicros;
      const perToken = sb.serverCpuPerMillionTokensMs / raw.serverCpuPerMillionTokensMs;
      if (t) {
        targets.push({ name: `${spec.name} ${sb.label}: server CPU per WS message ≤ ${t.maxRawCpuPerMessageRatio}× raw-ws's`, met: ratio <= t.maxRawCpuPerMessageRatio });
        parts.push(`server CPU per WS message ${fmt(ratio, 2)}× raw-ws's (target ≤ ${t.maxRawCpuPerMessageRatio}×: ${atMost(ratio, t.maxRawCpuPerMessageRatio)})`);
      } else parts.push(`server CPU per WS message ${fmt(ratio, 2)}× raw-ws's`);
      parts.push(`per delivered token ${fmt(perToken, 3)}× raw-ws's`);
    }
    if (rawJoined) {
      // Reported, not judged: the issue's target names raw-ws; this is the same messages' cost.
      parts.push(`server CPU per WS message ${fmt(sb.serverCpuPerMessageMicros / rawJoined.serverCpuPerMessageMicros, 2)}× raw-ws-50ms's (the messages Switchboard sends)`);
    }
    if (parts.length > 0) notes.push(`${sb.label}: ${parts.join('; ')}.`);
  }
  if (spec.targets && ctx.quick && targets.length > 0) notes.push('  (--quick: small counts, the verdicts above are only indicative.)');
  if (naive || raw || rawJoined) {
    notes.push(
      `Baselines (bench/baselines/): naive-yoga = graphql-yoga createPubSub + graphql-ws useServer, raw-ws = raw ws with each event serialized once; ` +
        `both send one WebSocket message per token (no coalescing; Switchboard joins deltas in 50 ms windows), and both are live only (no store). ` +
        `raw-ws-50ms = the same raw ws server joining deltas in 50 ms windows as Switchboard does, so it sends the messages Switchboard sends.`,
    );
  }
  const saturated = rows.filter((x) => x.loadCpuShare >= 0.8).map((x) => `${x.label} ${fmt(x.loadCpuShare * 100, 0)}%`);
  if (saturated.length > 0) {
    notes.push(
      `The load generator (one process, one graphql-ws client per subscriber) is near a core for ${saturated.join(', ')}: ` +
        `that row's tokens/s, latency and lag include the client's own queueing (server CPU/msg is still the server's own).`,
    );
  }
  notes.push(
    'Every run checked (Switchboard and baselines alike, nothing relaxed): each subscriber got seqs 1..n without a gap, ' +
      'deltas that join to exactly the streamed text, and each turn ending with CompleteEvent END_TURN.',
  );

  const latency: LatencyPanel = {
    scenario: spec.name,
    subtitle: `${opts.sessions} sessions × ${opts.subscribersPerSession} subscribers, ${stream}${sameTurn ? '' : ` (baselines /stream ${opts.baselineTokens})`}; median of ${plural(opts.repeats, 'round')}`,
    series: rows.filter((r) => r.runs > 0).map((r) => ({ label: r.label, percentiles: r.latencyPercentiles, count: r.latencySamples })),
  };
  return {
    name: spec.name,
    ok: failures.size === 0,
    targets,
    tables: [table],
    latency,
    data: { options: opts, subscribers, summaries: rows, failures: Object.fromEntries(failures), runs },
  };
}
