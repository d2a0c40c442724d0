import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { onExitSync } from './processes.js';

/**
 * The PostgreSQL and Redis servers a cluster run uses, and what they cost: a database made
 * for the run and dropped after it (even if the bench dies), and the CPU time of the
 * PostgreSQL backends serving that database and of the Redis server, read where they run on
 * this machine (/proc, `INFO cpu`).
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface BenchDatabase {
  name: string;
  /** Connection string for the instances. */
  url: string;
  /** CPU time so far of the server processes connected to this database (null without /proc). */
  backendCpu(): Promise<BackendCpu | null>;
  /** Drops the database `WITH (FORCE)` (ending any connection still open) and disconnects. */
  drop(): Promise<void>;
}

/** Per backend pid, CPU microseconds so far. */
export type BackendCpu = Map<number, number>;

/** The ticks of /proc/<pid>/stat; 100 on every Linux this runs on (USER_HZ). */
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process in microseconds, or null if it is gone or /proc is not there. */
function processCpuMicros(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may contain spaces: fields are counted after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return Number.isFinite(ticks) ? (ticks * 1e6) / CLOCK_TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/**
 * CPU time between two samples: backends present in both count their difference, new ones
 * all of theirs; one that ended in between is lost (the pool keeps connections 10 s, longer
 * than a round).
 */
export function backendCpuDelta(before: BackendCpu, after: BackendCpu): number {
  let micros = 0;
  for (const [pid, cpu] of after) micros += cpu - (before.get(pid) ?? 0);
  return micros;
}

/**
 * Creates an empty database with a unique name on the server of `adminUrl` (a connection
 * string to its maintenance database), as tests/utils/postgres.ts does for test suites.
 */
export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `switchboard_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000, application_name: 'switchboard-bench' });
  admin.on('error', () => {}); // the failing query reports it
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    await admin.end().catch(() => {});
    throw error;
  }
  // If the bench exits before drop() (a signal, a crash), a synchronous child drops it.
  const unregister = onExitSync(() => dropDatabaseSync(adminUrl, name));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const hasProc = processCpuMicros(process.pid) !== null;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async backendCpu() {
      if (!hasProc) return null;
      const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
      const cpu: BackendCpu = new Map();
      for (const { pid } of rows) {
        const micros = processCpuMicros(pid);
        if (micros !== null) cpu.set(pid, micros);
      }
      // Backends of a server elsewhere (another machine or container) are not ours to read.
      return rows.length > 0 && cpu.size === 0 ? null : cpu;
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        unregister();
      } finally {
        await admin.end().catch(() => {});
      }
    },
  };
}

function dropDatabaseSync(adminUrl: string, name: string) {
  const script = `
    const pg = require('pg');
    const client = new pg.Client({ connectionString: process.env.ADMIN_URL, connectionTimeoutMillis: 5000 });
    client.connect()
      .then(() => client.query('DROP DATABASE IF EXISTS ' + process.env.DB_NAME + ' WITH (FORCE)'))
      .then(() => client.end(), (e) => { console.error(e.message); process.exit(1); });
  `;
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: repoRoot,
    env: { ...process.env, ADMIN_URL: adminUrl, DB_NAME: name },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 15_000,
  });
  if (result.status !== 0) console.error(`could not drop the bench database ${name}: ${result.stderr?.toString().trim() || result.error}`);
}

export interface BenchRedis {
  /** The Redis server's CPU time so far (`INFO cpu`), microseconds: all its clients, not just ours. */
  cpuMicros(): Promise<number>;
  close(): Promise<void>;
}

/** Connects to Redis (failing fast if nothing answers) to read its CPU time. */
export async function connectBenchRedis(url: string): Promise<BenchRedis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectionName: 'switchboard-bench' });
  redis.on('error', () => {}); // the failing command reports it
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(`Redis at ${url} does not answer: ${error instanceof Error ? error.message : error}`, { cause: error });
  }
  return {
    async cpuMicros() {
      const info = await redis.info('cpu');
      const field = (key: string) => Number(new RegExp(`^${key}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
      return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
