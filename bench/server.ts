/**
 * The server under test, in a process of its own:
 *
 *   node --import tsx bench/server.ts --store memory|sqlite [--port 0] [--coalesce-window-ms 50] [--data-dir DIR]
 *
 * Prints `bench server listening on <url>` on stdout. When started by the bench (with an IPC
 * channel) it answers `{type: 'usage'}` with its CPU time and memory so far, and stops
 * cleanly on `{type: 'stop'}` (so that `--cpu-prof` profiles get written); it also stops on
 * SIGTERM/SIGINT. `{type: 'profile', action: 'start'}` … `{type: 'profile', action: 'stop', file}`
 * records a V8 CPU profile of just that interval (open it in Chrome DevTools, or summarize it
 * with `bench/tools/cpuprofile.ts`). The store lives in DIR, or else in a temporary folder
 * removed on exit.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createDemoAgent } from '../src/agents/demo.js';
import { createApp } from '../src/app.js';
import { createMemoryStore } from '../src/store/memory.js';
import { createSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';
import { fatal, onParentMessage, sendToParent } from './lib/processes.js';

export interface ServerUsage {
  type: 'usage';
  /** process.cpuUsage(), microseconds. */
  userMicros: number;
  systemMicros: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop lag is left to later scenarios; uptime helps sanity-check intervals. */
  uptimeMs: number;
  /** Time spent inside Store methods so far, per method (see `timeStore`). */
  store: Record<string, { calls: number; ms: number; maxMs: number }>;
}

/**
 * Wraps a store so that the time spent in each of its methods is counted: the synchronous
 * part of each call, which for both stores here is all of the work (better-sqlite3 is
 * synchronous; the memory store does everything before its first await). This is what the
 * store costs the event loop, measured directly rather than inferred from throughput.
 */
function timeStore(store: Store): { store: Store; stats: Record<string, { calls: number; ms: number; maxMs: number }> } {
  const stats: Record<string, { calls: number; ms: number; maxMs: number }> = {};
  const timed = {} as Record<string, unknown>;
  for (const [name, value] of Object.entries(store)) {
    if (typeof value !== 'function') continue;
    const stat = (stats[name] = { calls: 0, ms: 0, maxMs: 0 });
    timed[name] = (...args: unknown[]) => {
      const start = performance.now();
      try {
        return (value as (...a: unknown[]) => unknown).apply(store, args);
      } finally {
        const ms = performance.now() - start;
        stat.calls++;
        stat.ms += ms;
        if (ms > stat.maxMs) stat.maxMs = ms;
      }
    };
  }
  return { store: timed as unknown as Store, stats };
}

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'memory' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'coalesce-window-ms': { type: 'string' },
    /** Where the store and workspaces go; the bench passes one it removes itself. */
    'data-dir': { type: 'string' },
  },
});
if (values.store !== 'memory' && values.store !== 'sqlite') fatal(new Error(`--store must be memory or sqlite, got ${values.store}`));
if (values.host !== '127.0.0.1' && values.host !== '::1' && values.host !== 'localhost') fatal(new Error('the bench server only listens on loopback'));

const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), `switchboard-bench-${values.store}-`));
// A folder made here is removed here; one passed in belongs to the caller.
if (values['data-dir'] === undefined) process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));

const timedStore = timeStore(
  values.store === 'sqlite' ? createSqliteStore({ path: join(dataDir, 'switchboard.db') }) : createMemoryStore(),
);

const app = createApp({
  port: Number(values.port),
  host: values.host,
  dataDir,
  store: timedStore.store,
  agent: createDemoAgent(),
  coalesceWindowMs: values['coalesce-window-ms'] === undefined ? undefined : Number(values['coalesce-window-ms']),
  shutdownGraceMs: 1000,
  // Every bench client is the single user `local` (no AUTH_SECRET), standing in for many
  // browsers of many users: per-user bounds would otherwise cap the load itself.
  limits: { maxConnectionsPerUser: 100_000, sendMessagesPerMinute: 1_000_000 },
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

let profiler: Session | null = null;
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
        store: structuredClone(timedStore.stats),
      };
      // The longest call is reported per window: start each window afresh.
      for (const stat of Object.values(timedStore.stats)) stat.maxMs = 0;
      sendToParent(usage as unknown as { type: string });
    } else if (message.type === 'profile') {
      if (message.action === 'start') {
        profiler ??= new Session();
        profiler.connect();
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
        await profiler.post('Profiler.start');
      } else if (profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        profiler.disconnect();
        profiler = null;
        const file = String(message.file);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify(profile));
      }
      sendToParent({ type: 'profiled' });
    } else if (message.type === 'stop') {
      await stop();
    }
  });
}
console.log(`bench server listening on ${url} (store: ${values.store})`);
