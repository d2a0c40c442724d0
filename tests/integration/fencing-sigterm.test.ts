import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../utils/postgres.js';
import { startServerProcess } from '../utils/process.js';
import { REDIS_URL, requireRedis } from '../utils/redis.js';
import { describeWithService, requireAll } from '../utils/services.js';
import { startTcpProxy } from '../utils/tcp-proxy.js';

const services = await requireAll('PostgreSQL and Redis', requirePostgres(), requireRedis());

// Short: renewals and sweeps come round often, so some are under way when SIGTERM arrives.
const LEASE_TTL_MS = 2000;

/**
 * SIGTERM on an instance of a cluster, mid-turn and while another instance forwards commands to
 * it: it stops cleanly. Nothing of its own (renewals, sweeps, forwarded commands, the event
 * log) uses the PostgreSQL pool after it is closed, and it logs no error of its own shutdown.
 */
describeWithService(services, 'SIGTERM on an instance on PostgreSQL and Redis', () => {
  let db: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'switchboard-sigterm-'));
  });
  afterAll(() => db?.drop());

  /**
   * `stallMs`: how long A's link is held, starting this long before the SIGTERM (and going on
   * 200 ms after it). Past the query timeout (3/4 of the TTL), queries under way fail as the
   * database being unavailable: the store's own errors, logged; none of them may come from a
   * store already closed.
   */
  async function sigtermMidTurn(stallMs: number) {
    const env = { DATABASE_URL: db.url, REDIS_URL, DATA_DIR: dataDir, LEASE_TTL_MS: String(LEASE_TTL_MS) };
    // A reaches PostgreSQL through a proxy that holds its queries for a moment around the
    // SIGTERM: what was under way then (a renewal, a forwarded command) is still under way
    // as A stops.
    const proxy = await startTcpProxy(5432);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const a = await startServerProcess({ ...env, DATABASE_URL: viaProxy.toString() }, 60_000);
    const b = await startServerProcess(env, 60_000);
    const post = (url: string, query: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }).then((r) => r.json());

    // Sessions whose turns run on A (a message sent through A claims the lease there).
    const ids = Array.from({ length: 6 }, () => `t-${randomUUID()}`);
    for (const id of ids) {
      await post(a.url, `mutation { createSession(input: { id: "${id}" }) { id } }`);
      await post(a.url, `mutation { sendMessage(input: { sessionId: "${id}", text: "/stream 100000 20" }) { turnId } }`);
    }
    // Commands through B, forwarded to A, keep arriving while A stops.
    let forwarding = true;
    const forwarded = (async () => {
      for (let i = 0; forwarding; i++) {
        const id = ids[i % ids.length]!;
        await post(b.url, `mutation { sendMessage(input: { sessionId: "${id}", text: "/stream 5 1" }) { turnId } }`).catch(() => {});
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    proxy.stall();
    await new Promise((resolve) => setTimeout(resolve, stallMs));
    a.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    proxy.resume();
    const code = await a.exited;
    forwarding = false;
    await forwarded;

    const lines = a.stdout().split('\n').filter(Boolean);
    const errors = lines.filter((line) => {
      try {
        return (JSON.parse(line) as { level?: number }).level! >= 50;
      } catch {
        return false;
      }
    });
    expect(a.output()).not.toContain('Cannot use a pool after calling end');
    expect(code).toBe(0);
    expect(lines.some((line) => line.includes('"stopped"'))).toBe(true);
    return errors;
  }

  it('exits 0 with no error-level log line, mid-turn, with forwarded commands arriving', async () => {
    expect(await sigtermMidTurn(LEASE_TTL_MS / 5)).toEqual([]);
  }, 120_000);

  it('with its queries timing out around the SIGTERM: nothing uses the pool after it is closed, and it exits 0', async () => {
    const errors = await sigtermMidTurn((2 * LEASE_TTL_MS) / 3);
    expect(errors.filter((line) => !line.includes('The database is unavailable'))).toEqual([]);
  }, 120_000);
});
