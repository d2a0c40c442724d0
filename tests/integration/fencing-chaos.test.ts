import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisPubSub } from '../../src/events/pubsub/redis.js';
import type { SessionEvent } from '../../src/events/types.js';
import { createPostgresStore } from '../../src/store/postgres.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../utils/postgres.js';
import { REDIS_URL, requireRedis } from '../utils/redis.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';
import { describeWithService, requireAll } from '../utils/services.js';
import { startTcpProxy } from '../utils/tcp-proxy.js';

/**
 * `npm run chaos` (CHAOS=<runs>): the stall scenario of fencing.test.ts over and over, with
 * the stall's start and length varied, counting what fencing must make impossible. Not part
 * of `npm test` (minutes long): without CHAOS it runs once.
 */
const RUNS = Math.max(1, Number(process.env.CHAOS ?? 1) || 1);
const LEASE_TTL_MS = 1500;

const services = await requireAll('PostgreSQL and Redis', requirePostgres(), requireRedis());

describeWithService(services, 'chaos: stalled lease holders', () => {
  let db: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'switchboard-chaos-'));
  });
  afterAll(() => db?.drop());

  async function instance(databaseUrl = db.url): Promise<TestServer> {
    const store = await createPostgresStore({ connectionString: databaseUrl, onError: () => {} });
    const pubsub = createRedisPubSub({ url: REDIS_URL, onError: () => {} });
    return startTestServer({ store, pubsub, dataDir, leaseTtlMs: LEASE_TTL_MS });
  }

  it(`${RUNS} stalls of varied timing: no turn completes twice, no event of a turn follows its end`, async () => {
    const observer = await createPostgresStore({ connectionString: db.url, onError: () => {} });
    onCleanup(() => observer.close());
    let duplicated = 0;
    let afterEnd = 0;
    for (let run = 0; run < RUNS; run++) {
      const proxy = await startTcpProxy(5432);
      const viaProxy = new URL(db.url);
      viaProxy.port = String(proxy.port);
      const [a, b] = await Promise.all([instance(viaProxy.toString()), instance()]);
      const id = `x-${randomUUID()}`;
      await a.gql(CreateSessionMutation, { input: { id } });
      const onB = subscribeEvents(wsClient(b), id, 0);
      await a.gql(SendMessageMutation, { input: { sessionId: id, text: '/stream 100000 200' } });
      await onB.takeUntil((e) => e.__typename === 'TextDeltaEvent');
      // Varied: how far into the turn the link stalls, and how long past the takeover it stays so.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 500));
      proxy.stall();
      await onB.untilComplete(20 * LEASE_TTL_MS);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * LEASE_TTL_MS));
      proxy.resume();
      await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_TTL_MS));
      await Promise.all([a.stop(), b.stop()]);

      const events: SessionEvent[] = await observer.readEvents(id, 0, 1_000_000);
      const ends = new Map<string, number>();
      for (const e of events) {
        if (e.turnId === null) continue;
        if (ends.has(e.turnId)) afterEnd++;
        if (e.type === 'COMPLETE') {
          if (ends.has(e.turnId)) duplicated++;
          ends.set(e.turnId, e.seq);
        }
      }
    }
    console.log(`chaos: ${RUNS} runs, ${duplicated} duplicated completions, ${afterEnd} events after a turn's end`);
    expect({ duplicated, afterEnd }).toEqual({ duplicated: 0, afterEnd: 0 });
  }, 60_000 + RUNS * 60_000);
});
