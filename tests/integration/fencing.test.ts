import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisPubSub } from '../../src/events/pubsub/redis.js';
import { sessionTopic, type SessionTopicMessage } from '../../src/events/topics.js';
import type { SessionEvent } from '../../src/events/types.js';
import { createPostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/types.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../utils/postgres.js';
import { startServerProcess } from '../utils/process.js';
import { REDIS_URL, requireRedis } from '../utils/redis.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';
import { describeWithService, requireAll } from '../utils/services.js';
import { startTcpProxy } from '../utils/tcp-proxy.js';
import { waitUntil } from '../utils/wait.js';

/**
 * Fencing through real instances: an instance whose PostgreSQL link stalls (nothing closed,
 * packets held) past its lease loses the session to another, and when its link comes back
 * none of its writes for the session lands.
 */
const services = await requireAll('PostgreSQL and Redis', requirePostgres(), requireRedis());

/** Short, so that the takeover comes quickly; the stall is made to outlast it several times. */
const LEASE_TTL_MS = 1500;

describeWithService(services, 'fencing: a stalled lease holder', () => {
  let db: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'switchboard-fencing-'));
  });
  afterAll(() => db?.drop());

  async function instance(databaseUrl = db.url): Promise<TestServer> {
    const store = await createPostgresStore({ connectionString: databaseUrl, onError: () => {} });
    const pubsub = createRedisPubSub({ url: REDIS_URL, onError: () => {} });
    return startTestServer({ store, pubsub, dataDir, leaseTtlMs: LEASE_TTL_MS });
  }

  /** The log as PostgreSQL holds it, read on a connection of the test's own. */
  async function observer(): Promise<Store> {
    const store = await createPostgresStore({ connectionString: db.url, onError: () => {} });
    onCleanup(() => store.close());
    return store;
  }

  it('after a takeover, the stalled holder writes nothing more to the turn once its link is back', async () => {
    const proxy = await startTcpProxy(5432);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const [a, b] = await Promise.all([instance(viaProxy.toString()), instance()]);
    const store = await observer();
    const id = `f-${randomUUID()}`;
    await a.gql(CreateSessionMutation, { input: { id } });
    const onB = subscribeEvents(wsClient(b), id, 0);
    // What every instance publishes for the session, heard on Redis itself.
    const heard = createRedisPubSub({ url: REDIS_URL, onError: () => {} });
    onCleanup(() => heard.close());
    const published: SessionEvent[] = [];
    const listening = heard.subscribe(sessionTopic(id), (payload) => {
      const message = payload as SessionTopicMessage;
      if (message.kind === 'events') published.push(...message.events);
    });
    await listening.ready;
    // A long turn on A (it holds the lease): 200 tokens a second, far from done when it stalls.
    const { sendMessage } = await a.gql(SendMessageMutation, { input: { sessionId: id, text: '/stream 100000 200' } });
    const turnId = sendMessage.turnId;
    await onB.takeUntil((e) => e.__typename === 'TextDeltaEvent');

    proxy.stall();
    // B sweeps for sessions whose holder went silent and ends A's turn INTERRUPTED.
    const ended = await onB.untilComplete(10 * LEASE_TTL_MS);
    expect(ended.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'INTERRUPTED', turnId });
    // The session is idle: B gives the lease up; A's renewal, held in the stall, would take it.
    await waitUntil(async () => (await store.getLease(id)) === null, 'B releases the idle session', 10 * LEASE_TTL_MS);
    const atResume = (await store.getSession(id))!.lastSeq;

    proxy.resume();
    // A's held appends and renewal reach PostgreSQL now; give A several renewal rounds to act.
    await new Promise((resolve) => setTimeout(resolve, 3 * LEASE_TTL_MS));

    const events: SessionEvent[] = await store.readEvents(id, 0, 1_000_000);
    const completes = events.filter((e) => e.type === 'COMPLETE' && e.turnId === turnId);
    expect(completes, 'one CompleteEvent for the turn').toHaveLength(1);
    const end = completes[0]!;
    expect(end).toMatchObject({ reason: 'INTERRUPTED' });
    const after = events.filter((e) => e.seq > end.seq && e.turnId === turnId);
    expect(after.map((e) => `${e.seq} ${e.type}`), 'events of the turn after its end').toEqual([]);
    // What an operator sees of it: A counts the writes the store refused it.
    const scrape = async (server: TestServer) => {
      const text = await (await fetch(`${server.origin}/metrics`)).text();
      return Number(/^switchboard_fenced_writes_total (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    expect(await scrape(a)).toBeGreaterThan(0);
    expect(await scrape(b)).toBe(0);
    expect((await store.getSession(id))!.lastSeq, 'A wrote nothing after its link came back').toBe(atResume);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // Nor did A publish any: nothing of the turn went out after its end.
    const publishedAfter = published.filter((e) => e.turnId === turnId && e.seq > end.seq);
    expect(publishedAfter.map((e) => `${e.seq} ${e.type}`), 'published after the end').toEqual([]);
    expect(published.filter((e) => e.type === 'COMPLETE' && e.turnId === turnId)).toHaveLength(1);

    // The session goes on, wherever it is sent, and A takes no part in it.
    await b.gql(SendMessageMutation, { input: { sessionId: id, text: 'after' } });
    const next = await onB.untilComplete(10 * LEASE_TTL_MS);
    expect(next.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
    const final = await store.readEvents(id, 0, 1_000_000);
    expect(final.filter((e) => e.type === 'COMPLETE' && e.turnId === turnId)).toHaveLength(1);
    expect(final.filter((e) => e.seq > end.seq && e.turnId === turnId)).toEqual([]);
  });

  it('a query on a stalled link answers SERVICE_UNAVAILABLE within a bound derived from LEASE_TTL_MS', async () => {
    const proxy = await startTcpProxy(5432);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    // As operators run it: the bounds come from LEASE_TTL_MS through src/main.ts.
    const a = await startServerProcess({ DATABASE_URL: viaProxy.toString(), REDIS_URL, DATA_DIR: dataDir, LEASE_TTL_MS: String(LEASE_TTL_MS) });
    onCleanup(() => a.child.kill('SIGKILL'));
    const post = (query: string) =>
      fetch(a.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const id = `f-${randomUUID()}`;
    expect((await (await post(`mutation { createSession(input: { id: "${id}" }) { id } }`)).json()).errors).toBeUndefined();

    proxy.stall();
    const started = Date.now();
    const answer = (await (await post(`{ session(id: "${id}") { id } }`)).json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    const elapsed = Date.now() - started;
    expect(answer.errors?.[0]?.extensions?.code, JSON.stringify(answer)).toBe('SERVICE_UNAVAILABLE');
    // The bound is below the TTL (three quarters of it); pg's own would be 35 s. Generous for a loaded machine.
    expect(elapsed).toBeLessThan(4 * LEASE_TTL_MS);
    proxy.resume();
  });
});
