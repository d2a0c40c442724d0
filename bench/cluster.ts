/**
 * Cluster: what serving through PostgreSQL and Redis costs. The same fan-out workload as
 * `fanout` (S sessions × K graphql-ws subscribers, `/stream N` in every session at once, as
 * fast as the demo agent can) against two deployments:
 * - baseline: one instance, in-memory store and pub/sub;
 * - cluster: two instances (two processes) on a fresh PostgreSQL database and the local Redis
 *   (a key prefix of their own): every session has half its subscribers on instance A and half
 *   on B, and its messages go to A for half the sessions and to B for the other half, so each
 *   instance runs half the turns and every event reaches the other instance through Redis.
 * Reported per deployment: delivered tokens/s, server CPU summed over the instances per
 * delivered token, messages per subscriber, time until every subscriber has its
 * CompleteEvent; for the cluster also the CPU of the PostgreSQL backends serving its database
 * and of the Redis server, and the round trips of `appendEvents` (a commit) and `publish`.
 * Every round is checked (exact text, seqs without a gap, CompleteEvent END_TURN); rounds
 * alternate between the deployments and medians are reported, with cluster/baseline ratios.
 * The database is dropped and every process stopped at the end, whatever happens.
 */
import { alternateRounds } from './lib/rounds.js';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { LoadConfig, LoadResult } from './load.js';
import { backendCpuDelta, connectBenchRedis, createBenchDatabase, type BenchDatabase, type BenchRedis } from './lib/backends.js';
import { makeTempDir, removeTempDir, spawnTs, type BenchChild } from './lib/processes.js';
import type { ScenarioResult, Table } from './lib/results.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { fmt, median } from './lib/stats.js';
import type { MethodStats, ServerUsage } from './server.js';

export type Deployment = 'baseline' | 'cluster';

export interface ClusterOptions {
  sessions: number;
  /** Even, so that every session has as many subscribers on each instance. */
  subscribersPerSession: number;
  tokens: number;
  warmupTokens: number;
  repeats: number;
  /** Rounds run first on both deployments and not counted (JIT, first allocations, pools). */
  warmupRounds: number;
  /** Instances of the cluster deployment. */
  instances: number;
  /** The PostgreSQL maintenance database, to create and drop the run's database (BENCH_POSTGRES_ADMIN_URL). */
  postgresAdminUrl: string;
  /** BENCH_REDIS_URL */
  redisUrl: string;
  /** Extra node flags for the servers (BENCH_SERVER_NODE_ARGS). */
  serverNodeArgs: string[];
  /** Write a CPU profile of every server during each measured window here (BENCH_PROFILE_DIR). */
  profileDir: string | null;
}

export const defaultClusterOptions: ClusterOptions = {
  sessions: 10,
  subscribersPerSession: 20,
  tokens: 10_000,
  warmupTokens: 200,
  repeats: 5,
  warmupRounds: 1,
  instances: 2,
  postgresAdminUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: 'redis://127.0.0.1:6379',
  serverNodeArgs: [],
  profileDir: null,
};

const quickClusterOptions: ClusterOptions = { ...defaultClusterOptions, sessions: 4, subscribersPerSession: 4, tokens: 1_000, repeats: 1, warmupRounds: 0 };

/** One instance's share of a round. */
export interface InstanceRun {
  name: string;
  cpuMicros: number;
  rssBytes: number;
  /** Event-loop delay in the measured window. */
  eventLoopDelay: { meanMs: number; p99Ms: number; maxMs: number };
  store: Record<string, MethodStats>;
  pubsub: Record<string, MethodStats>;
}

export interface ClusterRun {
  deployment: Deployment;
  round: number;
  /** Sessions, connections, subscriptions and the warm-up turn (ms, not measured). */
  prepareMs: number;
  load: Omit<LoadResult, 'type'>;
  instances: InstanceRun[];
  /** Summed over the instances. */
  serverCpuMicros: number;
  serverCpuPerTokenMicros: number;
  /** CPU of the PostgreSQL backends of the run's database (null: baseline, or not readable here). */
  postgresCpuMicros: number | null;
  /** CPU of the whole Redis server in the window (other clients included, if any). */
  redisCpuMicros: number | null;
}

const serverModule = new URL('./server.ts', import.meta.url);
const loadModule = new URL('./load.ts', import.meta.url);

interface Target {
  deployment: Deployment;
  startMs: number;
  round(round: number): Promise<ClusterRun>;
  stop(): Promise<void>;
}

interface Backends {
  db: BenchDatabase;
  redis: BenchRedis;
  keyPrefix: string;
}

const instanceName = (i: number) => String.fromCharCode(65 + i); // A, B, …

/** Subtracts two cumulative per-method counters (the longest call is already per window). */
function methodDelta(after: Record<string, MethodStats>, before: Record<string, MethodStats>): Record<string, MethodStats> {
  const out: Record<string, MethodStats> = {};
  for (const [name, a] of Object.entries(after)) {
    const b = before[name] ?? { calls: 0, ms: 0, waitMs: 0 };
    if (a.calls > b.calls) out[name] = { calls: a.calls - b.calls, ms: a.ms - b.ms, maxMs: a.maxMs, waitMs: a.waitMs - b.waitMs, maxWaitMs: a.maxWaitMs };
  }
  return out;
}

/** Starts a deployment's servers and its load generator, all at once; stop() ends them, always. */
async function startTarget(deployment: Deployment, opts: ClusterOptions, backends: Backends | null): Promise<Target> {
  const t0 = Date.now();
  const count = deployment === 'cluster' ? opts.instances : 1;
  // Shared by the instances, as DATA_DIR must be (workspaces); removed here, or on exit.
  const dataDir = makeTempDir(`switchboard-bench-${deployment}-`);
  const servers: BenchChild[] = [];
  for (let i = 0; i < count; i++) {
    const args = ['--port', '0', '--data-dir', dataDir];
    if (deployment === 'cluster') {
      if (!backends) throw new Error('cluster: no backends');
      args.push('--store', 'postgres', '--database-url', backends.db.url);
      args.push('--pubsub', 'redis', '--redis-url', opts.redisUrl, '--key-prefix', backends.keyPrefix);
      args.push('--instance-id', `bench-${instanceName(i)}`);
    } else {
      args.push('--store', 'memory', '--pubsub', 'memory');
    }
    servers.push(spawnTs(serverModule, args, { nodeArgs: opts.serverNodeArgs }));
  }
  const load = spawnTs(loadModule, []);
  const stop = async () => {
    // Load generator first (its clients close), then the servers (a clean stop writes --cpu-prof).
    await load.stop();
    await Promise.all(servers.map((s) => s.stop()));
    removeTempDir(dataDir);
  };
  try {
    const loadListening = load.next('listening', 60_000);
    const urls = await Promise.all(servers.map(async (s) => (await s.waitForLine(/listening on (http:\/\/\S+)/, 60_000))[1]!));
    const config: LoadConfig = {
      url: urls[0]!,
      urls,
      sessions: opts.sessions,
      subscribersPerSession: opts.subscribersPerSession,
      warmupTokens: opts.warmupTokens,
      tokens: opts.tokens,
      timeoutMs: 90_000,
    };
    await loadListening;
    await load.request({ type: 'start', config }, 'started', 10_000);
    const startMs = Date.now() - t0;
    const usage = () => Promise.all(servers.map((s) => s.request<ServerUsage>({ type: 'usage' }, 'usage', 5_000)));
    const profile = (message: { type: 'profile'; action: 'start' | 'stop'; file?: string }, i: number) =>
      servers[i]!.request({ ...message }, 'profiled', 30_000);

    const round = async (round: number): Promise<ClusterRun> => {
      const r0 = Date.now();
      await load.request({ type: 'round', round }, 'ready', 120_000);
      const prepareMs = Date.now() - r0;
      if (opts.profileDir) await Promise.all(servers.map((_, i) => profile({ type: 'profile', action: 'start' }, i)));
      const pgBefore = backends && deployment === 'cluster' ? await backends.db.backendCpu() : null;
      const redisBefore = backends && deployment === 'cluster' ? await backends.redis.cpuMicros() : null;
      const before = await usage();
      const result = await load.request<LoadResult>({ type: 'go' }, 'result', config.timeoutMs + 10_000);
      const after = await usage();
      const redisAfter = redisBefore !== null ? await backends!.redis.cpuMicros() : null;
      const pgAfter = pgBefore !== null ? await backends!.db.backendCpu() : null;
      if (opts.profileDir) {
        await Promise.all(
          servers.map((_, i) =>
            profile({ type: 'profile', action: 'stop', file: join(opts.profileDir!, `cluster-${deployment}-${instanceName(i)}-round${round}.cpuprofile`) }, i),
          ),
        );
      }
      await load.request({ type: 'close' }, 'closed', 30_000);
      if (!result.ok) {
        throw new Error(`cluster: ${deployment} round ${round} delivered wrong results:\n  ${result.failures.join('\n  ')}`);
      }
      const instances: InstanceRun[] = after.map((a, i) => {
        const b = before[i]!;
        return {
          name: instanceName(i),
          cpuMicros: a.userMicros - b.userMicros + (a.systemMicros - b.systemMicros),
          rssBytes: a.rssBytes,
          eventLoopDelay: a.eventLoopDelay,
          store: methodDelta(a.store, b.store),
          pubsub: methodDelta(a.pubsub, b.pubsub),
        };
      });
      // The premise of the run: every instance ran turns (appended the events of its sessions).
      const idle = instances.filter((inst) => !inst.store.appendEvents);
      if (idle.length > 0) {
        throw new Error(`cluster: ${deployment} round ${round}: instance(s) ${idle.map((i) => i.name).join(', ')} appended nothing; the turns did not run where they were sent`);
      }
      const serverCpuMicros = instances.reduce((t, inst) => t + inst.cpuMicros, 0);
      const { type: _type, ...loadResult } = result;
      return {
        deployment,
        round,
        prepareMs,
        load: loadResult,
        instances,
        serverCpuMicros,
        serverCpuPerTokenMicros: serverCpuMicros / result.deliveredTokens,
        postgresCpuMicros: pgBefore && pgAfter ? backendCpuDelta(pgBefore, pgAfter) : null,
        redisCpuMicros: redisBefore !== null && redisAfter !== null ? redisAfter - redisBefore : null,
      };
    };
    return { deployment, startMs, round, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Median calls and times per Store and PubSub method over rounds (summed over instances), most called first. */
function perMethod(runs: ClusterRun[]): { name: string; calls: number; waitMeanMs: number; syncMeanMicros: number }[] {
  const of = (r: ClusterRun) => {
    const all = new Map<string, MethodStats>();
    for (const inst of r.instances) {
      for (const [kind, stats] of [['store', inst.store], ['pubsub', inst.pubsub]] as const) {
        for (const [method, m] of Object.entries(stats)) {
          const key = `${kind === 'pubsub' ? 'pubsub.' : ''}${method}`;
          const t = all.get(key) ?? { calls: 0, ms: 0, maxMs: 0, waitMs: 0, maxWaitMs: 0 };
          all.set(key, { ...t, calls: t.calls + m.calls, ms: t.ms + m.ms, waitMs: t.waitMs + m.waitMs });
        }
      }
    }
    return all;
  };
  const perRun = runs.map(of);
  const names = new Set(perRun.flatMap((m) => [...m.keys()]));
  return [...names]
    .map((name) => ({
      name,
      calls: median(perRun.map((m) => m.get(name)?.calls ?? 0)),
      // Per round the mean call, then the median over rounds (as in the table).
      waitMeanMs: median(perRun.map((m) => mean(m.get(name)))),
      syncMeanMicros: median(
        perRun.map((m) => {
          const stat = m.get(name);
          return stat && stat.calls > 0 ? (stat.ms * 1000) / stat.calls : NaN;
        }),
      ),
    }))
    .sort((a, b) => b.calls - a.calls);
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const mean = (m: MethodStats | undefined) => (m && m.calls > 0 ? m.waitMs / m.calls : NaN);

interface Summary {
  deployment: Deployment;
  instances: number;
  tokensPerSecond: number;
  tokensPerSecondMin: number;
  tokensPerSecondMax: number;
  elapsedMs: number;
  messagesPerSubscriber: number;
  firstTokenP50Ms: number;
  completeP99Ms: number;
  serverCpuMs: number;
  /** = server CPU-seconds per million delivered tokens. */
  serverCpuPerTokenMicros: number;
  /** All instances' CPU over wall time (1.0 = one core busy). */
  serverCpuShare: number;
  /** Server CPU per WebSocket message delivered (µs): less sensitive than per token to how many coalescing windows a round closes. */
  serverCpuPerMessageMicros: number;
  postgresCpuMs: number | null;
  redisCpuMs: number | null;
  /** Servers + PostgreSQL backends + Redis, per delivered token (µs). */
  totalCpuPerTokenMicros: number | null;
  appendCalls: number;
  appendWaitMeanMs: number;
  appendWaitMaxMs: number;
  publishCalls: number;
  publishWaitMeanMs: number;
  publishWaitMaxMs: number;
  loadCpuShare: number;
  /** Event-loop delay, mean and p99 of the instances' (ms). */
  loopDelayMeanMs: number;
  loopDelayP99Ms: number;
  /** Per instance: median CPU (ms) in a round. */
  perInstanceCpuMs: number[];
}

function summarize(deployment: Deployment, runs: ClusterRun[]): Summary | null {
  const mine = runs.filter((r) => r.deployment === deployment);
  if (mine.length === 0) return null;
  const m = (f: (r: ClusterRun) => number) => median(mine.map(f));
  const sumOver = (r: ClusterRun, f: (i: InstanceRun) => number) => r.instances.reduce((t, i) => t + f(i), 0);
  const merged = (r: ClusterRun, pick: (i: InstanceRun) => MethodStats | undefined): MethodStats => {
    const all = r.instances.map(pick).filter((x): x is MethodStats => x !== undefined);
    return {
      calls: all.reduce((t, x) => t + x.calls, 0),
      ms: all.reduce((t, x) => t + x.ms, 0),
      maxMs: Math.max(0, ...all.map((x) => x.maxMs)),
      waitMs: all.reduce((t, x) => t + x.waitMs, 0),
      maxWaitMs: Math.max(0, ...all.map((x) => x.maxWaitMs)),
    };
  };
  const withBackends = mine.every((r) => r.postgresCpuMicros !== null && r.redisCpuMicros !== null);
  return {
    deployment,
    instances: mine[0]!.instances.length,
    tokensPerSecond: m((r) => r.load.tokensPerSecond),
    tokensPerSecondMin: Math.min(...mine.map((r) => r.load.tokensPerSecond)),
    tokensPerSecondMax: Math.max(...mine.map((r) => r.load.tokensPerSecond)),
    elapsedMs: m((r) => r.load.elapsedMs),
    messagesPerSubscriber: m((r) => r.load.messagesPerSubscriber.median),
    firstTokenP50Ms: m((r) => r.load.firstTokenMs.p50),
    completeP99Ms: m((r) => r.load.completeMs.p99),
    serverCpuMs: m((r) => r.serverCpuMicros / 1000),
    serverCpuPerTokenMicros: m((r) => r.serverCpuPerTokenMicros),
    serverCpuShare: m((r) => r.serverCpuMicros / 1000 / r.load.elapsedMs),
    serverCpuPerMessageMicros: m((r) => r.serverCpuMicros / r.load.wsMessages),
    postgresCpuMs: withBackends ? m((r) => r.postgresCpuMicros! / 1000) : null,
    redisCpuMs: withBackends ? m((r) => r.redisCpuMicros! / 1000) : null,
    totalCpuPerTokenMicros: withBackends
      ? m((r) => (r.serverCpuMicros + r.postgresCpuMicros! + r.redisCpuMicros!) / r.load.deliveredTokens)
      : deployment === 'baseline'
        ? m((r) => r.serverCpuPerTokenMicros)
        : null,
    appendCalls: m((r) => sumOver(r, (i) => i.store.appendEvents?.calls ?? 0)),
    appendWaitMeanMs: m((r) => mean(merged(r, (i) => i.store.appendEvents))),
    appendWaitMaxMs: Math.max(...mine.map((r) => merged(r, (i) => i.store.appendEvents).maxWaitMs)),
    publishCalls: m((r) => sumOver(r, (i) => i.pubsub.publish?.calls ?? 0)),
    publishWaitMeanMs: m((r) => mean(merged(r, (i) => i.pubsub.publish))),
    publishWaitMaxMs: Math.max(...mine.map((r) => merged(r, (i) => i.pubsub.publish).maxWaitMs)),
    loadCpuShare: m((r) => r.load.loadCpuMicros / 1000 / r.load.elapsedMs),
    loopDelayMeanMs: m((r) => r.instances.reduce((t, i) => t + i.eventLoopDelay.meanMs, 0) / r.instances.length),
    loopDelayP99Ms: m((r) => Math.max(...r.instances.map((i) => i.eventLoopDelay.p99Ms))),
    perInstanceCpuMs: mine[0]!.instances.map((_, i) => median(mine.map((r) => r.instances[i]!.cpuMicros / 1000))),
  };
}

export async function runCluster(ctx: ScenarioContext, opts: ClusterOptions): Promise<ScenarioResult> {
  if (opts.subscribersPerSession % opts.instances !== 0 || opts.sessions % opts.instances !== 0) {
    throw new Error(`cluster: sessions (${opts.sessions}) and subscribers per session (${opts.subscribersPerSession}) must divide among ${opts.instances} instances`);
  }
  const runs: ClusterRun[] = [];
  const targets: Target[] = [];
  let db: BenchDatabase | null = null;
  let redis: BenchRedis | null = null;
  try {
    redis = await connectBenchRedis(opts.redisUrl);
    db = await createBenchDatabase(opts.postgresAdminUrl);
    const backends: Backends = { db, redis, keyPrefix: `switchboard-bench-${process.pid}-${randomBytes(4).toString('hex')}:` };
    ctx.log(`cluster: database ${db.name}, Redis key prefix ${backends.keyPrefix}`);
    // Both deployments start at once; rounds then alternate (baseline, cluster, baseline, …),
    // so that a busy spell on the machine hits both alike.
    const started = await Promise.allSettled((['baseline', 'cluster'] as const).map((d) => startTarget(d, opts, backends)));
    for (const s of started) if (s.status === 'fulfilled') targets.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    ctx.log(`cluster: started ${targets.map((t) => `${t.deployment} in ${t.startMs} ms`).join(', ')}`);
    const describe = (run: ClusterRun) => {
      const append = run.instances.map((i) => i.store.appendEvents?.calls ?? 0).join('+');
      return (
        `${fmt(run.load.tokensPerSecond)} tokens/s, ${fmt(run.load.elapsedMs)} ms, ${run.load.messagesPerSubscriber.median} msgs/subscriber, ` +
        `server CPU ${run.instances.map((i) => fmt(i.cpuMicros / 1000)).join('+')} ms (${fmt(run.serverCpuPerTokenMicros)} µs/token), ` +
        `appendEvents ${append}` +
        (run.postgresCpuMicros !== null ? `, PostgreSQL ${fmt(run.postgresCpuMicros / 1000)} ms, Redis ${fmt(run.redisCpuMicros! / 1000)} ms` : '') +
        ` (prepared in ${run.prepareMs} ms)`
      );
    };
    runs.push(
      ...(await alternateRounds(targets, {
        warmupRounds: opts.warmupRounds,
        repeats: opts.repeats,
        round: (target, index) => target.round(index),
        log: (target, run, index) =>
          ctx.log(
            index < 0
              ? `cluster: ${target.deployment} warm-up round: ${fmt(run.load.tokensPerSecond)} tokens/s (not counted)`
              : `cluster: ${target.deployment} #${index + 1}: ${describe(run)}`,
          ),
      })),
    );
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
    await redis?.close();
    await db?.drop();
  }

  const summaries = (['baseline', 'cluster'] as const).map((d) => summarize(d, runs)).filter((s): s is Summary => s !== null);
  const subscribers = opts.sessions * opts.subscribersPerSession;
  const label = (s: Summary) => (s.deployment === 'baseline' ? 'baseline: 1 instance, memory' : `cluster: ${s.instances} instances, PostgreSQL + Redis`);
  const optional = (v: number | null, f: (v: number) => string) => (v === null ? '–' : f(v));
  const table: Table = {
    title:
      `Cluster (${opts.sessions} sessions × ${opts.subscribersPerSession} graphql-ws subscribers = ${subscribers}; /stream ${fmt(opts.tokens, 0)} in every session at once; ` +
      `in the cluster, half of every session's subscribers on each instance and half the sessions' messages sent to each; ` +
      `median of ${plural(opts.repeats, 'round')} per deployment, after ${plural(opts.warmupRounds, 'warm-up round')})`,
    columns: [
      'deployment',
      'delivered tokens/s',
      'runs (min–max)',
      'all complete (ms)',
      'WS msgs/subscriber',
      'first token p50 (ms)',
      'server CPU (ms)',
      'server CPU share',
      'server CPU µs/token = CPU-s per 1M tokens',
      'PostgreSQL + Redis CPU (ms)',
      'incl. PostgreSQL + Redis, µs/token',
      'appendEvents calls',
      'appendEvents wait mean / max (ms)',
      'publish wait mean / max (ms)',
      'load gen CPU share',
    ],
    rows: summaries.map((s) => [
      label(s),
      fmt(s.tokensPerSecond),
      `${fmt(s.tokensPerSecondMin / 1000, 0)}k–${fmt(s.tokensPerSecondMax / 1000, 0)}k`,
      fmt(s.elapsedMs),
      fmt(s.messagesPerSubscriber),
      fmt(s.firstTokenP50Ms),
      s.perInstanceCpuMs.length > 1 ? `${fmt(s.serverCpuMs)} (${s.perInstanceCpuMs.map((c) => fmt(c)).join(' + ')})` : fmt(s.serverCpuMs),
      `${fmt(s.serverCpuShare * 100, 0)}%`,
      fmt(s.serverCpuPerTokenMicros),
      optional(s.postgresCpuMs, (pgMs) => `${fmt(pgMs)} + ${fmt(s.redisCpuMs!)}`),
      optional(s.totalCpuPerTokenMicros, (v) => fmt(v)),
      fmt(s.appendCalls, 0),
      `${fmt(s.appendWaitMeanMs)} / ${fmt(s.appendWaitMaxMs)}`,
      `${fmt(s.publishWaitMeanMs)} / ${fmt(s.publishWaitMaxMs)}`,
      `${fmt(s.loadCpuShare * 100, 0)}%`,
    ]),
    notes: [],
  };
  const baseline = summaries.find((s) => s.deployment === 'baseline');
  const cluster = summaries.find((s) => s.deployment === 'cluster');
  let ratios: {
    tokensPerSecond: number;
    tokensPerSecondPaired: number;
    serverCpuPerToken: number;
    serverCpuPerTokenPaired: number;
    totalCpuPerToken: number;
    serverCpuPerMessage: number;
    messagesPerSubscriber: number;
    elapsed: number;
  } | null = null;
  if (baseline && cluster) {
    // Each cluster round against the baseline round just before it.
    const paired = (f: (r: ClusterRun) => number) =>
      runs
        .filter((r) => r.deployment === 'cluster')
        .flatMap((c) => {
          const b = runs.find((r) => r.deployment === 'baseline' && r.round === c.round);
          return b ? [f(c) / f(b)] : [];
        });
    const tokensPairs = paired((r) => r.load.tokensPerSecond);
    const cpuPairs = paired((r) => r.serverCpuPerTokenMicros);
    const r = (ratios = {
      tokensPerSecond: cluster.tokensPerSecond / baseline.tokensPerSecond,
      tokensPerSecondPaired: median(tokensPairs),
      serverCpuPerToken: cluster.serverCpuPerTokenMicros / baseline.serverCpuPerTokenMicros,
      serverCpuPerTokenPaired: median(cpuPairs),
      totalCpuPerToken: cluster.totalCpuPerTokenMicros === null ? NaN : cluster.totalCpuPerTokenMicros / baseline.serverCpuPerTokenMicros,
      serverCpuPerMessage: cluster.serverCpuPerMessageMicros / baseline.serverCpuPerMessageMicros,
      messagesPerSubscriber: cluster.messagesPerSubscriber / baseline.messagesPerSubscriber,
      elapsed: cluster.elapsedMs / baseline.elapsedMs,
    });
    table.notes!.push(
      `cluster/baseline: delivered tokens/s ${fmt(r.tokensPerSecond, 2)} (median of per-round ratios ${fmt(r.tokensPerSecondPaired, 2)}: ${tokensPairs.map((p) => fmt(p, 2)).join(', ')}); ` +
        `server CPU per delivered token ${fmt(r.serverCpuPerToken, 2)} (per round ${fmt(r.serverCpuPerTokenPaired, 2)}), ` +
        `with PostgreSQL and Redis ${fmt(r.totalCpuPerToken, 2)}; server CPU per WS message ${fmt(r.serverCpuPerMessage, 2)} ` +
        `(${fmt(baseline.serverCpuPerMessageMicros)} vs ${fmt(cluster.serverCpuPerMessageMicros)} µs); WS messages per subscriber ${fmt(r.messagesPerSubscriber, 2)}; time until all complete ${fmt(r.elapsed, 2)}.`,
      `  cluster per round: ${fmt(cluster.appendCalls, 0)} appendEvents (one transaction each; mean ${fmt(cluster.appendWaitMeanMs)} ms until committed) ` +
        `and ${fmt(cluster.publishCalls, 0)} publishes (mean ${fmt(cluster.publishWaitMeanMs)} ms until Redis answered), against ${fmt(baseline.appendCalls, 0)} and ${fmt(baseline.publishCalls, 0)} in memory.`,
      ...[baseline, cluster].map((summary) => {
        const methods = perMethod(runs.filter((r) => r.deployment === summary.deployment));
        return (
          `  ${summary.deployment}, calls per round (all instances, median): ` +
          methods
            .slice(0, 6)
            .map((m) => `${m.name} ${fmt(m.calls, 0)}× (mean ${fmt(m.waitMeanMs)} ms until settled, ${fmt(m.syncMeanMicros, 0)} µs synchronous)`)
            .join(', ')
        );
      }),
      `  Waits are measured inside each instance, so they include the time its event loop took to get to the answer ` +
        `(event-loop delay, mean / p99: baseline ${fmt(baseline.loopDelayMeanMs)} / ${fmt(baseline.loopDelayP99Ms)} ms, cluster ${fmt(cluster.loopDelayMeanMs)} / ${fmt(cluster.loopDelayP99Ms)} ms); ` +
        `synchronous times are wall time, a busy machine's preemption included.`,
      `  Server CPU is summed over the instances; µs per delivered token equals CPU-seconds per million. PostgreSQL: the backends of the run's database (/proc); ` +
        `Redis: the whole server (INFO cpu); both are outside the servers' own CPU.`,
    );
  }
  table.notes!.push('Every run checked: each subscriber got seqs 1..n without a gap, deltas that join to exactly the streamed text, and CompleteEvent END_TURN.');
  return {
    name: 'cluster',
    ok: true,
    targets: [],
    tables: [table],
    data: { options: opts, subscribers, ratios, summaries, runs },
  };
}

export function clusterOptions(ctx: ScenarioContext): ClusterOptions {
  const base = ctx.quick ? quickClusterOptions : defaultClusterOptions;
  return {
    ...base,
    repeats: ctx.repeats ?? base.repeats,
    postgresAdminUrl: process.env.BENCH_POSTGRES_ADMIN_URL || base.postgresAdminUrl,
    redisUrl: process.env.BENCH_REDIS_URL || base.redisUrl,
    serverNodeArgs: process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [],
    profileDir: process.env.BENCH_PROFILE_DIR ? resolve(process.env.BENCH_PROFILE_DIR) : null,
  };
}

export const clusterScenario: Scenario = {
  name: 'cluster',
  description: 'the fan-out on 1 in-memory instance vs 2 instances through PostgreSQL and Redis: CPU per delivered token',
  run: (ctx) => runCluster(ctx, clusterOptions(ctx)),
};
