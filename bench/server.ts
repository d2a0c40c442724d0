/**
 * The server under test, in a process of its own:
 *
 *   node --import tsx bench/server.ts --store memory|sqlite|postgres [--port 0] [--coalesce-window-ms 50] [--data-dir DIR]
 *     [--database-url postgres://…] [--pubsub memory|redis --redis-url redis://… --key-prefix P]
 *     [--agent demo|anthropic|openai --provider-url http://127.0.0.1:PORT]
 *
 * Prints `bench server listening on <url>` on stdout. When started by the bench (with an IPC
 * channel) it answers `{type: 'usage'}` with its CPU time and memory so far, and stops
 * cleanly on `{type: 'stop'}` (so that `--cpu-prof` profiles get written); it also stops on
 * SIGTERM/SIGINT. `{type: 'profile', action: 'start'}` … `{type: 'profile', action: 'stop', file}`
 * records a V8 CPU profile of just that interval (open it in Chrome DevTools, or summarize it
 * with `bench/tools/cpuprofile.ts`). The SQLite store and the workspaces live in DIR, or else
 * in a temporary folder removed on exit. `--store postgres` needs `--database-url` (an
 * existing database; the bench creates and drops it); `--pubsub redis` needs `--redis-url`,
 * and instances that serve the same sessions need the same `--key-prefix`. `--agent` is the
 * server's `AGENT` (default `demo`); `anthropic` and `openai` run the real tool loop and
 * provider, configured as `npm start` would be (`loadConfig`, `createAgentFromConfig`), against
 * `--provider-url` (the `agents` scenario's fake provider: `ANTHROPIC_BASE_URL`, and
 * `OPENAI_BASE_URL` with `/v1`), with a made-up API key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createDemoAgent } from '../src/agents/demo.js';
import { createAgentFromConfig } from '../src/agents/index.js';
import type { Agent } from '../src/agents/types.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createMemoryPubSub } from '../src/events/pubsub/memory.js';
import type { PubSub } from '../src/events/pubsub/types.js';
import { createMemoryStore } from '../src/store/memory.js';
import { createSqliteStore } from '../src/store/sqlite.js';
import { createThreadedSqliteStore } from '../src/store/sqlite-thread.js';
import type { Store } from '../src/store/types.js';
import { fatal, onParentMessage, sendToParent } from './lib/processes.js';
import { createProfiler } from './lib/profiler.js';

/** Calls of one method in a window: synchronous time, and time until its promise settled. */
export interface MethodStats {
  calls: number;
  /** The synchronous part of the calls (what the event loop was blocked for), ms. */
  ms: number;
  maxMs: number;
  /** Until the returned promise settled (= `ms` for a synchronous method): a round trip to PostgreSQL or Redis. */
  waitMs: number;
  maxWaitMs: number;
}

export interface ServerUsage {
  type: 'usage';
  /** process.cpuUsage(), microseconds. */
  userMicros: number;
  systemMicros: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Uptime helps sanity-check intervals. */
  uptimeMs: number;
  /** Event-loop delay since the previous `usage` (ms): how late timers and I/O callbacks ran. */
  eventLoopDelay: { meanMs: number; p99Ms: number; maxMs: number };
  /** Time spent in Store methods so far, per method (see `timeMethods`). */
  store: Record<string, MethodStats>;
  /** Likewise for the PubSub (`publish` is the interesting one). */
  pubsub: Record<string, MethodStats>;
}

/**
 * Wraps an object (a Store, a PubSub) so that the time spent in each of its methods is
 * counted: the synchronous part of each call, which for the memory and SQLite stores is all
 * of the work (better-sqlite3 is synchronous; the memory store does everything before its
 * first await), and the time until the promise it returns settles, which for PostgreSQL and
 * Redis is the round trip (a commit, a PUBLISH). Other properties (`shared`) are kept as they
 * are. This is what the backend costs the event loop and the write path, measured directly
 * rather than inferred from throughput.
 */
function timeMethods<T extends object>(target: T): { wrapped: T; stats: Record<string, MethodStats> } {
  const stats: Record<string, MethodStats> = {};
  const wrapped: Record<string, unknown> = { ...(target as Record<string, unknown>) };
  for (const [name, value] of Object.entries(target)) {
    if (typeof value !== 'function') continue;
    const stat = (stats[name] = { calls: 0, ms: 0, maxMs: 0, waitMs: 0, maxWaitMs: 0 });
    const settled = (start: number) => {
      const ms = performance.now() - start;
      stat.waitMs += ms;
      if (ms > stat.maxWaitMs) stat.maxWaitMs = ms;
    };
    wrapped[name] = (...args: unknown[]) => {
      const start = performance.now();
      let result: unknown;
      try {
        result = (value as (...a: unknown[]) => unknown).apply(target, args);
        return result;
      } finally {
        const ms = performance.now() - start;
        stat.calls++;
        stat.ms += ms;
        if (ms > stat.maxMs) stat.maxMs = ms;
        if (result instanceof Promise) {
          const done = () => settled(start);
          // Observes only: the caller still gets (and handles) the original promise.
          result.then(done, done);
        } else settled(start);
      }
    };
  }
  return { wrapped: wrapped as T, stats };
}

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'memory' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'coalesce-window-ms': { type: 'string' },
    /** Where the SQLite store and workspaces go; the bench passes one it removes itself. */
    'data-dir': { type: 'string' },
    /** With `--store postgres`: an existing database (the bench creates and drops it). */
    'database-url': { type: 'string' },
    pubsub: { type: 'string', default: 'memory' },
    /** With `--pubsub redis`. */
    'redis-url': { type: 'string' },
    /** Redis channel prefix; instances serving the same sessions share it, runs do not. */
    'key-prefix': { type: 'string' },
    /** This instance's name in leases (default: the app's, a random UUID with a shared store). */
    'instance-id': { type: 'string' },
    /** The server's `AGENT`: demo, anthropic or openai. */
    agent: { type: 'string', default: 'demo' },
    /** With `--agent anthropic|openai`: the provider's origin (a fake on loopback). */
    'provider-url': { type: 'string' },
  },
});
if (!['memory', 'sqlite', 'sqlite-inline', 'postgres'].includes(values.store!)) {
  fatal(new Error(`--store must be memory, sqlite, sqlite-inline or postgres, got ${values.store}`));
}
if (values.pubsub !== 'memory' && values.pubsub !== 'redis') fatal(new Error(`--pubsub must be memory or redis, got ${values.pubsub}`));
if (values.store === 'postgres' && !values['database-url']) fatal(new Error('--store postgres needs --database-url'));
if (values.pubsub === 'redis' && !values['redis-url']) fatal(new Error('--pubsub redis needs --redis-url'));
if (!['demo', 'anthropic', 'openai'].includes(values.agent!)) fatal(new Error(`--agent must be demo, anthropic or openai, got ${values.agent}`));
if (values.agent !== 'demo' && !values['provider-url']) fatal(new Error(`--agent ${values.agent} needs --provider-url`));
if (values['provider-url'] && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(values['provider-url']).hostname)) {
  fatal(new Error('the bench server only talks to a provider on loopback'));
}
if (values.host !== '127.0.0.1' && values.host !== '::1' && values.host !== 'localhost') fatal(new Error('the bench server only listens on loopback'));

const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), `switchboard-bench-${values.store}-`));
// A folder made here is removed here; one passed in belongs to the caller.
if (values['data-dir'] === undefined) process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));

async function openStore(): Promise<Store> {
  // sqlite: as the server runs it (on a thread of its own); sqlite-inline: on the event loop's thread.
  if (values.store === 'sqlite') return createThreadedSqliteStore({ path: join(dataDir, 'switchboard.db') });
  if (values.store === 'sqlite-inline') return createSqliteStore({ path: join(dataDir, 'switchboard.db') });
  if (values.store === 'postgres') {
    // Loaded only when used, as in src/main.ts.
    const { createPostgresStore } = await import('../src/store/postgres.js');
    return createPostgresStore({ connectionString: values['database-url']!, onError: (error) => console.error('[bench server] PostgreSQL:', error.message) });
  }
  return createMemoryStore();
}

async function openPubSub(): Promise<PubSub> {
  if (values.pubsub === 'memory') return createMemoryPubSub();
  const { createRedisPubSub } = await import('../src/events/pubsub/redis.js');
  return createRedisPubSub({
    url: values['redis-url']!,
    keyPrefix: values['key-prefix'],
    connectionName: 'switchboard-bench',
    onError: (error) => console.error('[bench server]', error instanceof Error ? error.message : error),
  });
}

/** The agent `npm start` would make of `AGENT=<agent>` and the provider's base URL. */
async function openAgent(): Promise<Agent> {
  if (values.agent === 'demo') return createDemoAgent();
  const origin = values['provider-url']!.replace(/\/+$/, '');
  const config = loadConfig({
    AGENT: values.agent,
    ANTHROPIC_API_KEY: 'sk-ant-bench-not-a-key',
    ANTHROPIC_BASE_URL: origin,
    OPENAI_API_KEY: 'sk-bench-not-a-key',
    OPENAI_BASE_URL: `${origin}/v1`,
  });
  return createAgentFromConfig(config);
}

const timedStore = timeMethods(await openStore().catch(fatal));
const timedPubSub = timeMethods(await openPubSub());

const app = createApp({
  port: Number(values.port),
  host: values.host,
  dataDir,
  store: timedStore.wrapped,
  pubsub: timedPubSub.wrapped,
  instanceId: values['instance-id'],
  agent: await openAgent().catch(fatal),
  coalesceWindowMs: values['coalesce-window-ms'] === undefined ? undefined : Number(values['coalesce-window-ms']),
  shutdownGraceMs: 1000,
  // Every bench client is the single user `local` (no AUTH_SECRET), standing in for many
  // browsers of many users: per-user bounds would otherwise cap the load itself.
  limits: { maxConnectionsPerUser: 100_000, maxSubscriptionsPerUser: 100_000, sendMessagesPerMinute: 1_000_000 },
  onError: (error) => console.error('[bench server]', error),
});

let stopping: Promise<void> | null = null;
function stop() {
  stopping ??= (async () => {
    setTimeout(() => process.exit(1), 10_000).unref();
    await app.stop();
    process.exit(0);
  })();
  return stopping;
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

const profile = createProfiler();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const { url } = await app.start();
if (process.send) {
  onParentMessage(async (message) => {
    if (message.type === 'usage') {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      const usage: ServerUsage = {
        type: 'usage',
        userMicros: cpu.user,
        systemMicros: cpu.system,
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        uptimeMs: process.uptime() * 1000,
        eventLoopDelay: { meanMs: loopDelay.mean / 1e6, p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 },
        store: structuredClone(timedStore.stats),
        pubsub: structuredClone(timedPubSub.stats),
      };
      // The longest call and the loop delay are reported per window: start each window afresh.
      loopDelay.reset();
      for (const stat of [...Object.values(timedStore.stats), ...Object.values(timedPubSub.stats)]) {
        stat.maxMs = 0;
        stat.maxWaitMs = 0;
      }
      sendToParent(usage as unknown as { type: string });
    } else if (message.type === 'profile') {
      await profile(message);
      sendToParent({ type: 'profiled' });
    } else if (message.type === 'stop') {
      await stop();
    }
  });
}
console.log(`bench server listening on ${url} (store: ${values.store}, pubsub: ${values.pubsub}, agent: ${values.agent})`);
