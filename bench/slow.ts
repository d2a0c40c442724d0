/**
 * Scenario `slow` (issue 6, "slow subscriber"): S sessions × K graphql-ws subscribers, one fast
 * turn (`/stream N` in every session at once, as fast as the agent can), during which ONE
 * subscriber (subscriber 0 of session 0) stops reading: its client calls `ws.pause()`, so its
 * TCP socket is no longer read, the kernel's socket buffers fill, and then whatever the server
 * does with a socket that does not drain (graphql-ws awaits each send) shows. Against a control
 * round of the same shape on the same kind of server without the slow subscriber.
 *
 * Every round gets a fresh server and a fresh load generator (`bench/lib/slow-client.ts`), so
 * that RSS growth is not flattered by memory a previous round freed, and so that a server that
 * crashes costs only its own round. Per round: VmRSS of the server sampled every 50 ms from the
 * turn's start until the other subscribers are done (growth = max − at the start), the other
 * subscribers' latency (each delta's receipt − its `at`), whether the server process is still
 * alive; then the slow subscriber resumes reading and must get the exact stream (every seq, no
 * gap, no duplicate, text exact) or, if its connection was cut, subscribe again with
 * `after: <last seq it got>` on a new WebSocket (Switchboard) and get the rest exactly.
 *
 * Rows (`variants`; `--servers` picks): Switchboard (memory store) and the two baselines, started
 * as `fanout` starts them, each with a turn sized for it (see `defaultVariants`): Switchboard at
 * the issue's shape and at one that pushes the slow subscriber past its socket buffers; the
 * baselines (one ~190-byte WebSocket message per token) on fewer subscribers and tokens, still
 * past the buffers.
 *
 * Targets (issue 6): the server lives; RSS growth ≤ 50 MB more than in the control round; the
 * other subscribers' latency p99 ≤ 10 ms more than in the control round. A crashed server is a
 * row saying so (its round ends there; the harness cleans up and goes on).
 */
import { readFileSync } from 'node:fs';
import type { OthersResult, SlowClientConfig, SlowResult } from './lib/slow-client.js';
import { spawnTs, type BenchChild } from './lib/processes.js';
import type { ScenarioResult, Table } from './lib/results.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { fmt, median } from './lib/stats.js';
import type { ServerUsage } from './server.js';

type SlowServer = 'memory' | 'naive-yoga' | 'raw-ws';
const slowServers: readonly SlowServer[] = ['memory', 'naive-yoga', 'raw-ws'];
const isBaseline = (kind: SlowServer) => kind !== 'memory';

interface Shape {
  sessions: number;
  subscribersPerSession: number;
  tokens: number;
}

/** A row: a server and the shape of its turn. */
export interface SlowVariant extends Shape {
  server: SlowServer;
  /** Why this shape (shown in the table). */
  label: string;
}

export interface SlowOptions {
  variants: SlowVariant[];
  warmupTokens: number;
  repeats: number;
  /** Targets of issue 6. */
  maxRssGrowthMB: number;
  maxLatencyP99GrowthMs: number;
  /** Give up on a round's turn (others) or on the slow subscriber after this long. */
  timeoutMs: number;
}

/**
 * Switchboard coalesces deltas (one message per 50 ms window, or per 16 KB), so the issue's
 * shape (/stream 20,000: ~150 KB per subscriber) fits in the slow subscriber's socket buffers
 * (~4 MB on loopback here) and the server never has to hold anything back; the second row
 * streams ~5 MB per subscriber, past them. The baselines send one ~190-byte message per token:
 * /stream 30,000 is ~5.5 MB per subscriber (naive Yoga needs ~20 s for it on 2 × 5).
 */
const defaultVariants: SlowVariant[] = [
  { server: 'memory', sessions: 10, subscribersPerSession: 20, tokens: 20_000, label: "issue's shape" },
  { server: 'memory', sessions: 2, subscribersPerSession: 10, tokens: 600_000, label: 'past the socket buffers' },
  { server: 'naive-yoga', sessions: 2, subscribersPerSession: 5, tokens: 30_000, label: 'past the socket buffers' },
  { server: 'raw-ws', sessions: 2, subscribersPerSession: 5, tokens: 30_000, label: 'past the socket buffers' },
];

export const defaultSlowOptions: SlowOptions = {
  variants: defaultVariants,
  warmupTokens: 20,
  repeats: 3,
  maxRssGrowthMB: 50,
  maxLatencyP99GrowthMs: 10,
  timeoutMs: 120_000,
};
const quickSlowOptions: SlowOptions = {
  ...defaultSlowOptions,
  variants: [
    { server: 'memory', sessions: 4, subscribersPerSession: 5, tokens: 20_000, label: "issue's shape, smaller" },
    { server: 'memory', sessions: 1, subscribersPerSession: 5, tokens: 600_000, label: 'past the socket buffers' },
    { server: 'naive-yoga', sessions: 1, subscribersPerSession: 5, tokens: 30_000, label: 'past the socket buffers' },
    { server: 'raw-ws', sessions: 1, subscribersPerSession: 5, tokens: 30_000, label: 'past the socket buffers' },
  ],
  repeats: 1,
};

const modules: Record<SlowServer, URL> = {
  memory: new URL('./server.ts', import.meta.url),
  'naive-yoga': new URL('./baselines/naive-yoga.ts', import.meta.url),
  'raw-ws': new URL('./baselines/raw-ws.ts', import.meta.url),
};
const clientModule = new URL('./lib/slow-client.ts', import.meta.url);

export interface SlowRun {
  server: SlowServer;
  /** Index of the variant (row) in the options. */
  variant: number;
  slow: boolean;
  repeat: number;
  /** The server process was still running at the end of the round (crash: its exit code/signal and last output). */
  alive: boolean;
  crash: string | null;
  rssStartMB: number;
  rssMaxMB: number;
  rssGrowthMB: number;
  others: Omit<OthersResult, 'type'> | null;
  slowResult: Omit<SlowResult, 'type'> | null;
  serverCpuMs: number | null;
  eventLoopDelayP99Ms: number | null;
  error: string | null;
}

const MB = 2 ** 20;

function vmRss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN; // gone
  }
}

/** Resolves with `work`, or rejects as soon as the server exits. */
function unlessServerDies<T>(server: BenchChild, work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    server.exited.then((code) => {
      throw new ServerDied(code);
    }),
  ]);
}

class ServerDied extends Error {
  constructor(readonly code: number | string) {
    super(`server exited (${code})`);
  }
}

/** The last lines of a crashed server's output that say why (an Error line, else the tail). */
function crashReason(server: BenchChild, code: number | string): string {
  const lines = server.output().split('\n').filter(Boolean);
  const error = lines.find((l) => /\b\w*Error\b/.test(l) && !/^\s+at /.test(l));
  return `exit ${code}${error ? `: ${error.trim().slice(0, 160)}` : ''}`;
}

async function runRound(variant: number, slow: boolean, repeat: number, opts: SlowOptions, log: (l: string) => void): Promise<SlowRun> {
  const shape = opts.variants[variant]!;
  const kind = shape.server;
  const server = spawnTs(modules[kind], kind === 'memory' ? ['--store', 'memory', '--port', '0'] : ['--port', '0']);
  const clients = spawnTs(clientModule, []);
  const run: SlowRun = {
    server: kind,
    variant,
    slow,
    repeat,
    alive: true,
    crash: null,
    rssStartMB: NaN,
    rssMaxMB: NaN,
    rssGrowthMB: NaN,
    others: null,
    slowResult: null,
    serverCpuMs: null,
    eventLoopDelayP99Ms: null,
    error: null,
  };
  let sampler: NodeJS.Timeout | null = null;
  try {
    const listening = clients.next('listening', 60_000);
    const [, url] = await server.waitForLine(/listening on (http:\/\/\S+)/, 60_000);
    await listening;
    const config: SlowClientConfig = {
      url: url!,
      prefix: `slow-${variant}-${slow ? 's' : 'c'}${repeat}`,
      sessions: shape.sessions,
      subscribersPerSession: shape.subscribersPerSession,
      warmupTokens: opts.warmupTokens,
      tokens: shape.tokens,
      resumable: !isBaseline(kind),
      timeoutMs: opts.timeoutMs,
    };
    await clients.request({ type: 'start', config }, 'ready', 120_000);
    const before = await server.request<ServerUsage>({ type: 'usage' }, 'usage', 10_000);
    run.rssStartMB = vmRss(server.pid) / MB;
    let rssMax = run.rssStartMB;
    sampler = setInterval(() => {
      const rss = vmRss(server.pid) / MB;
      if (rss > rssMax) rssMax = rss;
    }, 50);
    try {
      const others = await unlessServerDies(server, clients.request<OthersResult>({ type: 'go', slow }, 'others', opts.timeoutMs + 30_000));
      const { type: _t, ...rest } = others;
      run.others = rest;
      // A little longer with the slow subscriber still paused: what the server holds for it shows.
      await new Promise((r) => setTimeout(r, 500));
      const after = await unlessServerDies(server, server.request<ServerUsage>({ type: 'usage' }, 'usage', 10_000));
      run.serverCpuMs = (after.userMicros + after.systemMicros - before.userMicros - before.systemMicros) / 1000;
      run.eventLoopDelayP99Ms = after.eventLoopDelay.p99Ms;
      clearInterval(sampler);
      sampler = null;
      run.rssMaxMB = Math.max(rssMax, vmRss(server.pid) / MB);
      run.rssGrowthMB = run.rssMaxMB - run.rssStartMB;
      if (slow) {
        const result = await unlessServerDies(server, clients.request<SlowResult>({ type: 'resume' }, 'slow', 2 * opts.timeoutMs + 30_000));
        const { type: _s, ...slowRest } = result;
        run.slowResult = slowRest;
      }
    } catch (error) {
      if (!(error instanceof ServerDied)) throw error;
      run.alive = false;
      run.crash = crashReason(server, error.code);
      run.rssMaxMB = rssMax;
      run.rssGrowthMB = rssMax - run.rssStartMB;
      log(`slow: ${kind} ${slow ? 'slow' : 'control'} round: the server died: ${run.crash}`);
    }
  } catch (error) {
    run.error = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    const code = clients.child.exitCode ?? clients.child.signalCode;
    if (code !== null) run.error += ` (load generator exit ${code})`;
    log(`slow: ${kind} ${slow ? 'slow' : 'control'} round failed: ${run.error}`);
  } finally {
    if (sampler) clearInterval(sampler);
    await clients.stop(5_000);
    if (server.child.exitCode === null && server.child.signalCode === null) await server.stop();
    else run.alive = false;
  }
  return run;
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const ms = (n: number | undefined | null) => (n === undefined || n === null || !Number.isFinite(n) ? '–' : fmt(n));

const variantName = (v: SlowVariant) => `${v.server === 'memory' ? 'switchboard (memory)' : v.server}, ${v.sessions}×${v.subscribersPerSession}, /stream ${fmt(v.tokens, 0)}`;

/** The error name of a crash line, e.g. `RepeaterOverflowError`. */
const shortCrash = (crash: string | null) => /\b(\w*Error)\b/.exec(crash ?? '')?.[1] ?? crash ?? '?';

export async function runSlow(opts: SlowOptions, log: (line: string) => void): Promise<ScenarioResult> {
  const runs: SlowRun[] = [];
  for (let repeat = 0; repeat < opts.repeats; repeat++) {
    for (const [variant, v] of opts.variants.entries()) {
      for (const slow of [false, true]) {
        const run = await runRound(variant, slow, repeat, opts, log);
        runs.push(run);
        const o = run.others;
        log(
          `slow: ${variantName(v)} #${repeat + 1} ${slow ? 'slow   ' : 'control'}: ${run.alive ? 'alive' : `DIED (${run.crash})`}, ` +
            `RSS +${fmt(run.rssGrowthMB)} MB (from ${fmt(run.rssStartMB)}), ` +
            (o ? `others ${o.completed}/${o.others} complete in ${fmt(o.elapsedMs)} ms, latency p99 ${ms(o.latencyMs.p99)} ms` : 'no result') +
            (run.slowResult
              ? `; slow subscriber: ${run.slowResult.fate}${run.slowResult.closedWith ? ` (${run.slowResult.closedWith})` : ''}, ` +
                `backlog ${fmt(run.slowResult.backlogBytes / MB)} MB, ${run.slowResult.problem ?? 'exact'}`
              : ''),
        );
      }
    }
  }

  const targets: { name: string; met: boolean }[] = [];
  const failures: string[] = [];
  const rows: string[][] = [];
  const verdicts: string[] = [];
  const crashes = new Set<string>();
  for (const [variant, v] of opts.variants.entries()) {
    const mine = runs.filter((r) => r.variant === variant);
    const control = mine.filter((r) => !r.slow);
    const slowRuns = mine.filter((r) => r.slow);
    const died = slowRuns.filter((r) => !r.alive);
    const lived = died.length === 0 && slowRuns.every((r) => !r.error);
    const controlLived = control.every((r) => r.alive && !r.error);
    for (const r of mine) if (r.crash) crashes.add(`${v.server}: ${r.crash}`);
    const finite = (values: number[]) => values.filter(Number.isFinite);
    const med = (values: number[]) => (finite(values).length ? median(finite(values)) : NaN);
    const controlRss = med(control.map((r) => r.rssGrowthMB));
    const slowRss = med(slowRuns.map((r) => r.rssGrowthMB));
    const controlP99 = med(control.map((r) => r.others?.latencyMs.p99 ?? NaN));
    const slowP99 = med(slowRuns.filter((r) => r.alive).map((r) => r.others?.latencyMs.p99 ?? NaN));
    // Each slow round against the control round just before it (same repeat): less sensitive to
    // the machine getting busier or quieter over the run than the difference of the medians.
    const paired = (f: (r: SlowRun) => number) =>
      med(slowRuns.filter((r) => r.alive).map((s) => {
        const c = control.find((r) => r.repeat === s.repeat);
        return c ? f(s) - f(c) : NaN;
      }));
    const deltaRss = paired((r) => r.rssGrowthMB);
    const deltaP99 = paired((r) => r.others?.latencyMs.p99 ?? NaN);
    const fates = slowRuns.map((r) =>
      !r.alive
        ? `server died (${shortCrash(r.crash)})`
        : r.error
          ? 'round failed (see log)'
          : r.slowResult
            ? `${r.slowResult.fate}${r.slowResult.closedWith ? ` (${r.slowResult.closedWith})` : ''}, ` +
              (r.slowResult.problem === null ? 'exact' : isBaseline(v.server) && r.slowResult.fate !== 'completed' ? 'cannot resume (live only)' : 'NOT exact')
            : '–',
    );
    const fateSummary = [...new Set(fates)].map((f) => `${fates.filter((x) => x === f).length}× ${f}`).join('; ');
    const backlog = med(slowRuns.map((r) => (r.slowResult ? r.slowResult.backlogBytes / MB : NaN)));
    const resumeMs = med(slowRuns.map((r) => r.slowResult?.resumeMs ?? NaN));
    const othersOk = mine.every((r) => !r.alive || (r.others?.ok ?? false));
    rows.push([
      v.server === 'memory' ? 'switchboard (memory)' : v.server,
      `${v.sessions}×${v.subscribersPerSession}, /stream ${fmt(v.tokens, 0)} (${v.label})`,
      lived ? 'yes' : `NO: ${died.length}/${slowRuns.length} died`,
      ms(controlRss),
      ms(slowRss),
      ms(deltaRss),
      ms(controlP99),
      ms(slowP99),
      ms(deltaP99),
      ms(backlog),
      ms(resumeMs),
      fateSummary,
    ]);
    const rssMet = lived && deltaRss <= opts.maxRssGrowthMB;
    const latencyMet = lived && deltaP99 <= opts.maxLatencyP99GrowthMs;
    const verdict = (met: boolean) => (met ? 'met' : 'NOT MET');
    verdicts.push(
      `  ${variantName(v)}: lives ${verdict(lived)}; Δ RSS ≤ ${opts.maxRssGrowthMB} MB ${verdict(rssMet)}; Δ p99 ≤ ${opts.maxLatencyP99GrowthMs} ms ${verdict(latencyMet)}` +
        (othersOk ? '' : '; the other subscribers did NOT all get the exact stream') +
        (isBaseline(v.server) ? ' (baseline: reported, not a target)' : '') +
        '.',
    );
    if (!isBaseline(v.server)) {
      const name = variantName(v);
      targets.push(
        { name: `slow: ${name}: server lives with a subscriber that stops reading`, met: lived },
        { name: `slow: ${name}: RSS growth ≤ ${opts.maxRssGrowthMB} MB over the control round`, met: rssMet },
        { name: `slow: ${name}: others' latency p99 ≤ ${opts.maxLatencyP99GrowthMs} ms over the control round`, met: latencyMet },
      );
      // Correctness: Switchboard delivers exactly, to the others and (after resuming or resubscribing) to the slow one.
      if (!controlLived) failures.push(`${name}: the control round failed (${control.map((r) => r.error ?? r.crash).filter(Boolean).join('; ')})`);
      for (const r of mine) {
        if (r.others && !r.others.ok) failures.push(`${name} ${r.slow ? 'slow' : 'control'} round: other subscribers: ${r.others.failures.join('; ')}`);
        if (r.slowResult?.problem) failures.push(`${name}: slow subscriber: ${r.slowResult.problem}`);
        if (r.error) failures.push(`${name}: ${r.error}`);
        if (!r.alive) failures.push(`${name}: the server died: ${r.crash}`);
      }
    }
  }

  const table: Table = {
    title:
      `Slow subscriber (one subscriber of session 0 stops reading — ws.pause(), its TCP socket unread — during a fast turn; ` +
      `vs a control round without it; a fresh server per round; median of ${plural(opts.repeats, 'round')} each)`,
    columns: [
      'server',
      'sessions×subscribers, turn',
      'lived',
      'RSS growth control (MB)',
      'RSS growth slow (MB)',
      'Δ RSS, paired (MB)',
      'others p99 control (ms)',
      'others p99 slow (ms)',
      'Δ p99, paired (ms)',
      'slow: backlog read on resume (MB)',
      'slow: resume → complete (ms)',
      'slow subscriber',
    ],
    rows,
    notes: [
      `RSS growth: server VmRSS, max while the turn streams (sampled every 50 ms, until the others have their CompleteEvent + 0.5 s) − at its start; ` +
        `others p99: each delta of the turn, receipt − its \`at\`, over the other subscribers; Δ, paired: the median over repeats of ` +
        `(slow round − the control round run just before it), which a busier or quieter machine over the run sways less than the difference of the medians; backlog: bytes the slow subscriber read after resuming ` +
        `(on loopback here the kernel's socket buffers take ~4 MB before a server's sends stall; Switchboard coalesces deltas, so /stream 20,000 ` +
        `is ~0.15 MB per subscriber and never fills them: hence the second Switchboard row; the baselines send one ~190-byte message per token).`,
      `Targets (issue 6), for Switchboard: the server lives, Δ RSS ≤ ${opts.maxRssGrowthMB} MB, Δ p99 ≤ ${opts.maxLatencyP99GrowthMs} ms; and (correctness) ` +
        `the slow subscriber then gets every seq, no gap, no duplicate, text exact, after resuming or by subscribing again with \`after\` if it was cut. ` +
        `The baselines are live only: a cut subscriber of theirs cannot resume.`,
      ...verdicts,
      ...[...crashes].map((c) => `  crash: ${c}`),
    ],
  };
  if (failures.length > 0) table.notes!.push(`CORRECTNESS FAILURES: ${failures.slice(0, 5).join(' | ')}`);
  return { name: 'slow', ok: failures.length === 0, targets, tables: [table], data: { options: opts, runs, failures } };
}

export const slowScenario: Scenario = {
  name: 'slow',
  description: 'one subscriber stops reading during a fast turn: server lives? RSS and the others\' latency vs a control round; the slow one resumes exactly',
  run(ctx: ScenarioContext) {
    const base = ctx.quick ? quickSlowOptions : defaultSlowOptions;
    const known = ['switchboard', ...slowServers.filter(isBaseline)];
    const servers = ctx.servers ?? known;
    for (const s of servers) if (!known.includes(s)) throw new Error(`slow: unknown server ${s}; known: ${known.join(', ')}`);
    const variants = base.variants.filter((v) => servers.includes(v.server === 'memory' ? 'switchboard' : v.server));
    return runSlow({ ...base, repeats: ctx.repeats ?? base.repeats, variants }, ctx.log);
  },
};
