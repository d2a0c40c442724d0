import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisPubSub } from '../../src/events/pubsub/redis.js';
import { createPostgresStore } from '../../src/store/postgres.js';
import { deltaText, seqs, subscribe, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import {
  CancelTurnMutation,
  ConfigChangedSubscription,
  CreateSessionMutation,
  RespondToPermissionMutation,
  SendMessageMutation,
  SessionQuery,
  UpdateConfigMutation,
} from '../utils/operations.js';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../utils/postgres.js';
import { startServerProcess } from '../utils/process.js';
import { REDIS_URL, requireRedis, requireRedisServer, startRedis } from '../utils/redis.js';
import { waitUntil } from '../utils/wait.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { describeWithService, requireService } from '../utils/services.js';
import { startTcpProxy } from '../utils/tcp-proxy.js';

/**
 * Several instances on the real PostgreSQL and Redis of this machine, serving the same
 * sessions: whatever reaches any instance acts on the session wherever its turn runs.
 */
const [postgres, redis, redisServer] = await Promise.all([requirePostgres(), requireRedis(), requireRedisServer()]);
const services = await requireService(
  'PostgreSQL, Redis and redis-server',
  postgres.available && redis.available && redisServer.available,
  [postgres.reason, redis.reason, redisServer.reason].filter(Boolean).join('; '),
);

// Short, so that a takeover is quick to wait for; not so short that a holder's renewal (every
// TTL/3) could come late while the full suite loads the machine and let its lease lapse mid-test.
const LEASE_TTL_MS = 3000;

describeWithService(services, 'several instances on PostgreSQL and Redis', () => {
  let db: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'switchboard-cluster-'));
  });
  afterAll(() => db?.drop());

  /** One instance: its own pool and Redis connections, the shared database and workspaces. */
  async function instance(options: { databaseUrl?: string; redisUrl?: string } = {}): Promise<TestServer> {
    const store = await createPostgresStore({ connectionString: options.databaseUrl ?? db.url, onError: () => {} });
    const pubsub = createRedisPubSub({ url: options.redisUrl ?? REDIS_URL, onError: () => {} });
    return startTestServer({ store, pubsub, dataDir, leaseTtlMs: LEASE_TTL_MS });
  }

  const sessionId = () => `c-${randomUUID()}`;
  const ws = (server: Pick<TestServer, 'wsUrl'>) => wsClient(server);
  const byType = <T extends Event['__typename']>(events: Event[], type: T) =>
    events.filter((e): e is Extract<Event, { __typename: T }> => e.__typename === type);

  it('a subscriber on B sees a turn that runs on A, gap-free and exact', async () => {
    const [a, b] = await Promise.all([instance(), instance()]);
    const id = sessionId();
    await a.gql(CreateSessionMutation, { input: { id } });
    const onB = subscribeEvents(ws(b), id, 0);
    await a.gql(SendMessageMutation, { input: { sessionId: id, text: '/stream 500 2000' } });
    const turn = await onB.untilComplete();
    expect(seqs(turn)).toEqual(turn.map((_, i) => i + 1));
    expect(deltaText(turn)).toBe(Array.from({ length: 500 }, (_, i) => `t${i + 1} `).join(''));
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN' });
  });

  it('permission answers, cancels and every sendMessage strategy act through the other instance', async () => {
    const [a, b] = await Promise.all([instance(), instance()]);
    const id = sessionId();
    await a.gql(CreateSessionMutation, { input: { id } });
    const events = subscribeEvents(ws(a), id, 0);

    // A turn started on A waits for permission; B answers it.
    await a.gql(SendMessageMutation, { input: { sessionId: id, text: '/write x.txt from A' } });
    const asked = byType(await events.takeUntil((e) => e.__typename === 'PermissionRequestEvent'), 'PermissionRequestEvent');
    const answer = await b.gql(RespondToPermissionMutation, {
      input: { sessionId: id, requestId: asked[0]!.request.requestId, allowed: true },
    });
    expect(answer.respondToPermission.status).toBe('ALLOWED');
    const written = await events.untilComplete();
    expect(byType(written, 'ToolResultEvent')[0]).toMatchObject({ result: 'wrote 6 bytes to x.txt', isError: false });

    // A long turn on A; B queues behind it, is rejected, retries idempotently, interrupts.
    const long = await a.gql(SendMessageMutation, { input: { sessionId: id, text: '/sleep 60000' } });
    await events.takeUntil((e) => e.__typename === 'UserMessageEvent');
    const queued = await b.gql(SendMessageMutation, { input: { sessionId: id, text: 'queued on B', clientMessageId: 'q1' } });
    expect(queued.sendMessage).toMatchObject({ queued: true });
    const retried = await a.gql(SendMessageMutation, { input: { sessionId: id, text: 'again', clientMessageId: 'q1' } });
    expect(retried.sendMessage).toMatchObject({ turnId: queued.sendMessage.turnId, queued: true });
    const rejected = await b.request(SendMessageMutation, { input: { sessionId: id, text: 'no', strategy: 'REJECT' } });
    expect(rejected.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const interrupt = await b.gql(SendMessageMutation, { input: { sessionId: id, text: '/sleep 60000', strategy: 'INTERRUPT' } });
    expect(interrupt.sendMessage.queued).toBe(false);
    const cut = await events.untilComplete();
    expect(cut.at(-1)).toMatchObject({ turnId: long.sendMessage.turnId, reason: 'CANCELLED' });

    // B cancels the interrupting turn; the queued message then runs.
    const started = await events.takeUntil((e) => e.__typename === 'UserMessageEvent');
    expect(started.at(-1)).toMatchObject({ turnId: interrupt.sendMessage.turnId });
    await b.gql(CancelTurnMutation, { sessionId: id });
    expect((await events.untilComplete()).at(-1)).toMatchObject({ turnId: interrupt.sendMessage.turnId, reason: 'CANCELLED' });
    const last = await events.untilComplete();
    expect(last[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'queued on B' });
    expect(last.at(-1)).toMatchObject({ reason: 'END_TURN' });
  });

  it('keeps seq unique and gap-free when every instance sends to one session at once', async () => {
    const instances = await Promise.all([instance(), instance(), instance()]);
    const id = sessionId();
    await instances[0]!.gql(CreateSessionMutation, { input: { id } });
    const sends = instances.flatMap((server, i) =>
      [0, 1].map((j) => server.gql(SendMessageMutation, { input: { sessionId: id, text: `m${i}${j}` } })),
    );
    const answers = await Promise.all(sends);
    expect(new Set(answers.map((a) => a.sendMessage.turnId)).size).toBe(6);
    const events = subscribeEvents(ws(instances[1]!), id, 0);
    for (let i = 0; i < 6; i++) await events.untilComplete();
    const { session } = await instances[2]!.gql(SessionQuery, { id, limit: 1000 });
    expect(seqs(session!.events)).toEqual(session!.events.map((_, i) => i + 1));
    expect(byType(session!.events, 'CompleteEvent').map((e) => e.reason)).toEqual(Array(6).fill('END_TURN'));
  });

  it('when the instance running a turn dies, another takes the session over and ends that turn INTERRUPTED', async () => {
    const b = await instance();
    const a = await startServerProcess({ DATABASE_URL: db.url, REDIS_URL, DATA_DIR: dataDir, LEASE_TTL_MS: String(LEASE_TTL_MS) });
    const id = sessionId();
    const aServer = { url: a.url };
    const post = (query: string) =>
      fetch(aServer.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    await post(`mutation { createSession(input: { id: "${id}" }) { id } }`);
    const events = subscribeEvents(ws(b), id, 0);
    await post(`mutation { sendMessage(input: { sessionId: "${id}", text: "/stream 100000 50" }) { turnId } }`);
    const seen = await events.takeUntil((e) => e.__typename === 'TextDeltaEvent');
    a.child.kill('SIGKILL');

    const rest = await events.untilComplete(20_000);
    expect(rest.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'INTERRUPTED', turnId: seen[0]!.turnId });
    await b.gql(SendMessageMutation, { input: { sessionId: id, text: 'B carries on' } });
    const next = await events.untilComplete();
    expect(deltaText(next)).toBe('You said: B carries on');
    const all = [...seen, ...rest, ...next];
    expect(seqs(all)).toEqual(all.map((_, i) => i + 1));
  });

  it('streams on through a Redis restart; a client resubscribing with after loses nothing', async () => {
    const own = await startRedis();
    const [a, b] = await Promise.all([instance({ redisUrl: own.url }), instance({ redisUrl: own.url })]);
    const id = sessionId();
    await a.gql(CreateSessionMutation, { input: { id } });
    const onB = subscribeEvents(ws(b), id, 0);
    await a.gql(SendMessageMutation, { input: { sessionId: id, text: '/stream 300 100' } });
    const before = await onB.takeUntil((e) => e.__typename === 'TextDeltaEvent' && (e as { seq: number }).seq >= 3);

    await own.restart();
    const rest = await onB.untilComplete(20_000);
    const all = [...before, ...rest];
    expect(seqs(all)).toEqual(all.map((_, i) => i + 1));
    expect(deltaText(all)).toBe(Array.from({ length: 300 }, (_, i) => `t${i + 1} `).join(''));

    const resumed = await subscribeEvents(ws(a), id, seqs(before).at(-1)!).untilComplete();
    expect(resumed).toEqual(rest);
    await waitUntil(async () => (await fetch(`${b.origin}/readyz`)).status === 200, 'B ready again');
  });

  it('a config change made during a Redis outage reaches the other instance once Redis is back', async () => {
    const own = await startRedis();
    const [a, b] = await Promise.all([instance({ redisUrl: own.url }), instance({ redisUrl: own.url })]);
    const changes = subscribe(ws(b), ConfigChangedSubscription, {});
    // graphql-ws says nothing when a subscription is live: change until B hears one.
    for (let n = 0; ; n++) {
      await a.gql(UpdateConfigMutation, { input: { theme: { n } } });
      const heard = await changes.next(200).catch(() => null);
      if (heard) break;
      expect(n).toBeLessThan(50);
    }
    while (await changes.next(100).catch(() => null));

    await own.stop();
    const during = await a.request(UpdateConfigMutation, { input: { theme: { n: 'outage' } } });
    expect(during.errors).toBeUndefined();
    await own.restart();
    for (;;) {
      const change = await changes.next(20_000);
      if (JSON.stringify(change.data?.configChanged.config.theme) === JSON.stringify({ n: 'outage' })) {
        expect(change.data?.configChanged.changeType).toBe('THEME');
        break;
      }
    }
  });

  it('without PostgreSQL: /readyz 503 and clear errors; when it is back, service resumes with nothing lost', async () => {
    const proxy = await startTcpProxy(5432);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const a = await instance({ databaseUrl: viaProxy.toString() });
    const id = sessionId();
    await a.gql(CreateSessionMutation, { input: { id } });
    const events = subscribeEvents(ws(a), id, 0);
    await a.gql(SendMessageMutation, { input: { sessionId: id, text: '/stream 200 100' } });
    await events.takeUntil((e) => e.__typename === 'TextDeltaEvent');

    proxy.cut();
    await waitUntil(async () => (await fetch(`${a.origin}/readyz`)).status === 503, '/readyz 503');
    const failed = await a.request(SessionQuery, { id });
    expect(failed.errors?.[0]?.extensions?.code, JSON.stringify(failed)).toBe('SERVICE_UNAVAILABLE');
    expect(JSON.stringify(failed.errors)).not.toMatch(/SELECT|ECONN|postgres/i);

    proxy.restore();
    await waitUntil(async () => (await fetch(`${a.origin}/readyz`)).status === 200, '/readyz 200');
    const turn = await events.untilComplete(30_000);
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN' });
    const { session } = await a.gql(SessionQuery, { id, limit: 1000 });
    expect(seqs(session!.events)).toEqual(session!.events.map((_, i) => i + 1));
    expect(deltaText(session!.events)).toBe(Array.from({ length: 200 }, (_, i) => `t${i + 1} `).join(''));
    await a.gql(SendMessageMutation, { input: { sessionId: id, text: 'back' } });
    expect(deltaText(await events.untilComplete())).toBe('You said: back');
  });
});
