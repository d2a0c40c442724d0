import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../utils/postgres.js';
import { startServerProcess } from '../utils/process.js';
import { REDIS_URL, requireRedis } from '../utils/redis.js';
import { onCleanup } from '../utils/server.js';
import { describeWithService, requireAll } from '../utils/services.js';

/**
 * A backend's driver is loaded only when the configuration chooses that backend: the server
 * process, started as users start it, records every module it loads (tests/utils/record-modules.mjs).
 * Each side is checked against its other half, so a recording that missed a package could
 * not pass: the backends chosen must be there.
 */
const driver = (name: string) => new RegExp(`/node_modules/${name}/`);
const PG = driver('pg');
const IOREDIS = driver('ioredis');
const BETTER_SQLITE3 = driver('better-sqlite3');
/** Our own modules of the PostgreSQL and Redis backends. */
const OURS = /\/src\/(store\/postgres|events\/pubsub\/redis|sessions\/redis-rate)\b/;

/** Starts the server with `env`, creates a session, stops it (SIGTERM); every module it loaded. */
async function modulesLoadedBy(env: Record<string, string>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-backends-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  const record = join(dir, 'modules.txt');
  const preload = new URL('../utils/record-modules.mjs', import.meta.url).href;
  const proc = await startServerProcess({
    ...env,
    DATA_DIR: join(dir, 'data'),
    RECORD_MODULES: record,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
  });
  const res = await fetch(proc.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'mutation { createSession(input: { id: "s" }) { id } }' }),
  });
  expect(await res.json()).toEqual({ data: { createSession: { id: 's' } } });
  proc.child.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
  return (await readFile(record, 'utf8')).split('\n').filter(Boolean);
}

describe('backends with the default configuration (no DATABASE_URL, no REDIS_URL)', () => {
  it('never load pg or ioredis, nor our PostgreSQL and Redis modules', async () => {
    const modules = await modulesLoadedBy({});
    expect(modules.filter((m) => PG.test(m) || IOREDIS.test(m) || OURS.test(m))).toEqual([]);
    expect(modules.some((m) => BETTER_SQLITE3.test(m))).toBe(true);
  });
});

const services = await requireAll('PostgreSQL and Redis', requirePostgres(), requireRedis());

describeWithService(services, 'backends with DATABASE_URL and REDIS_URL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('never load better-sqlite3', async () => {
    const modules = await modulesLoadedBy({ DATABASE_URL: db.url, REDIS_URL });
    expect(modules.filter((m) => BETTER_SQLITE3.test(m))).toEqual([]);
    expect(modules.some((m) => PG.test(m))).toBe(true);
    expect(modules.some((m) => IOREDIS.test(m))).toBe(true);
  });
});
