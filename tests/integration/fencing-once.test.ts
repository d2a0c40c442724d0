import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisPubSub } from '../../src/events/pubsub/redis.js';
import { createPostgresStore } from '../../src/store/postgres.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../utils/postgres.js';
import { REDIS_URL, requireRedis } from '../utils/redis.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';
import { describeWithService, requireAll } from '../utils/services.js';
import { startTcpProxy } from '../utils/tcp-proxy.js';
import { waitUntil } from '../utils/wait.js';

const services = await requireAll('PostgreSQL and Redis', requirePostgres(), requireRedis());

// Long enough that the forwarding instance's wait (5 s for an answer, then the lease's expiry)
// fits in its deadline (3 TTLs), and it retries the command.
const LEASE_TTL_MS = 3000;

/**
 * A command forwarded to the lease holder, carried out there, whose answer never comes back
 * (the holder stalls right after): the forwarding instance takes the session over and retries
 * the command. The retry answers as the first one did; it never starts a second turn.
 */
describeWithService(services, 'exactly once across a takeover', () => {
  let db: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'switchboard-once-'));
  });
  afterAll(() => db?.drop());

  async function instance(databaseUrl = db.url): Promise<TestServer> {
    const store = await createPostgresStore({ connectionString: databaseUrl, onError: () => {} });
    const pubsub = createRedisPubSub({ url: REDIS_URL, onError: () => {} });
    return startTestServer({ store, pubsub, dataDir, leaseTtlMs: LEASE_TTL_MS });
  }

  // Where A's link stalls: at the interrupted turn's end (after everything of the message), or
  // inside the message's one store operation (Store.startTurn), before its COMMIT (the first
  // here: a streaming turn's appends and the lease renewals are single statements): nothing
  // of it may be stored, and the retry must store it once, with its record.
  it.each([
    ['no clientMessageId', {}, 'CANCELLED'],
    ['a clientMessageId', { clientMessageId: 'm-1' }, 'CANCELLED'],
    ['no clientMessageId, stalled before its operation commits', {}, 'COMMIT'],
  ])('a forwarded sendMessage (%s) retried after the holder stalled starts one turn', async (_, extra, stallAt) => {
    const proxy = await startTcpProxy(5432);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const [a, b] = await Promise.all([instance(viaProxy.toString()), instance()]);
    const observer = await createPostgresStore({ connectionString: db.url, onError: () => {} });
    onCleanup(() => observer.close());
    const id = `o-${randomUUID()}`;
    await a.gql(CreateSessionMutation, { input: { id } });
    const onB = subscribeEvents(wsClient(b), id, 0);
    await a.gql(SendMessageMutation, { input: { sessionId: id, text: '/stream 100000 200' } });
    await onB.takeUntil((e) => e.__typename === 'TextDeltaEvent');

    // Through B, forwarded to A (the holder). A queues the message and interrupts its turn;
    // the interrupted turn's end is A's next write, and the link stalls there: the message is
    // stored, A's answer never leaves, and A's lease runs out.
    const stalled = proxy.stallAt(stallAt);
    const answer = b.request(SendMessageMutation, { input: { sessionId: id, text: 'exactly once', strategy: 'INTERRUPT', ...extra } });
    await stalled;
    const result = await answer;
    proxy.resume();

    // Whatever B answered, the message ran as one turn.
    await waitUntil(
      async () => (await observer.readEvents(id, 0, 1_000_000)).some((e) => e.type === 'COMPLETE' && e.reason === 'END_TURN'),
      'the message ran',
      20 * LEASE_TTL_MS,
    );
    await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS));
    const events = await observer.readEvents(id, 0, 1_000_000);
    const messages = events.filter((e) => e.type === 'USER_MESSAGE' && e.text === 'exactly once');
    expect(messages, JSON.stringify(result)).toHaveLength(1);
    if (!result.errors) expect(result.data?.sendMessage.turnId).toBe(messages[0]!.turnId);
  }, 120_000);
});
