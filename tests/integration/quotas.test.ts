import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisPubSub } from '../../src/events/pubsub/redis.js';
import type { Limits } from '../../src/limits.js';
import { createPostgresStore } from '../../src/store/postgres.js';
import { deltaText, subscribeEvents, wsClient } from '../utils/clients.js';
import { codeOf, streamText } from '../utils/events-of.js';
import { CreateSessionMutation, DeleteSessionMutation, SendMessageMutation, SessionQuery, SessionsQuery } from '../utils/operations.js';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../utils/postgres.js';
import { startServerProcess } from '../utils/process.js';
import { REDIS_URL, requireRedis } from '../utils/redis.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';
import { describeWithService, requireAll } from '../utils/services.js';

/**
 * Per-user quotas, kept in the store: sessions per user (createSession) and bytes of stored
 * events (sendMessage), through a real server. Without AUTH_SECRET every caller is `local`.
 */

/** `/stream 1000` stores about 10 KB of events (its deltas, then the same text complete). */
const FILL = '/stream 1000';

async function create(server: TestServer, id: string) {
  return (await server.gql(CreateSessionMutation, { input: { id } })).createSession;
}

/** Sends a message and waits for its turn's CompleteEvent (watched from seq `after`). */
async function turn(server: TestServer, sessionId: string, text: string) {
  const { session } = await server.gql(SessionQuery, { id: sessionId, limit: 1 });
  const events = subscribeEvents(wsClient(server), sessionId, session!.lastSeq);
  await server.gql(SendMessageMutation, { input: { sessionId, text } });
  const done = await events.untilComplete();
  events.unsubscribe();
  return done;
}

const send = (server: TestServer, sessionId: string, text = 'hello') =>
  server.request(SendMessageMutation, { input: { sessionId, text } });

async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-quotas-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('quotas', () => {
  it('refuses createSession past maxSessionsPerUser with QUOTA_EXCEEDED; deleting one makes room', async () => {
    const server = await startTestServer({ limits: { maxSessionsPerUser: 2 } });
    await create(server, 'a');
    await create(server, 'b');

    const refused = await server.request(CreateSessionMutation, { input: { id: 'c' } });
    expect(codeOf(refused)).toBe('QUOTA_EXCEEDED');
    expect(refused.errors![0]!.message).toMatch(/at most 2 sessions per user/);
    expect(refused.data).toBeNull();
    // Nothing of it was made.
    expect((await server.gql(SessionQuery, { id: 'c' })).session).toBeNull();
    expect((await server.gql(SessionsQuery, {})).sessions.map((s) => s.id).sort()).toEqual(['a', 'b']);
    expect(codeOf(await server.request(CreateSessionMutation, {}))).toBe('QUOTA_EXCEEDED');

    expect((await server.gql(DeleteSessionMutation, { id: 'a' })).deleteSession).toBe(true);
    expect((await create(server, 'c')).id).toBe('c');
    expect(codeOf(await server.request(CreateSessionMutation, { input: { id: 'd' } }))).toBe('QUOTA_EXCEEDED');
  });

  it('refuses sendMessage once stored events pass maxStoredBytesPerUser; deleteSession frees the space', async () => {
    const server = await startTestServer({ limits: { maxStoredBytesPerUser: 4000 } });
    await create(server, 'full');
    await create(server, 'other');
    const filled = await turn(server, 'full', FILL);
    expect(filled.at(-1)).toMatchObject({ reason: 'END_TURN' });

    // Every session of the user is refused, not only the one that holds the bytes.
    for (const sessionId of ['full', 'other']) {
      const refused = await send(server, sessionId);
      expect(codeOf(refused)).toBe('QUOTA_EXCEEDED');
      expect(refused.errors![0]!.message).toMatch(/more than the 4000 allowed per user/);
    }
    // Nothing of the refused messages was stored or queued.
    const { session } = await server.gql(SessionQuery, { id: 'other' });
    expect(session).toMatchObject({ lastSeq: 0, status: 'IDLE', queuedMessages: [] });
    expect(session!.events).toEqual([]);
    // The sessions quota is another: creating is still allowed.
    await create(server, 'new');

    await server.gql(DeleteSessionMutation, { id: 'full' });
    const after = await turn(server, 'other', 'hello again');
    expect(after.at(-1)).toMatchObject({ reason: 'END_TURN' });
  });

  it('lets a turn that passes maxStoredBytesPerUser run to its normal end', async () => {
    const server = await startTestServer({ limits: { maxStoredBytesPerUser: 2000 } });
    await create(server, 's');
    // Far past the bound while it streams: the check is when a message is sent, not per event.
    const events = await turn(server, 's', '/stream 3000');
    expect(deltaText(events)).toBe(streamText(3000));
    expect(events.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
    expect((await server.app.store.getUsage('local')).storedBytes).toBeGreaterThan(2 * streamText(3000).length);

    expect(codeOf(await send(server, 's'))).toBe('QUOTA_EXCEEDED');
  });

  it('0 turns either quota off, while the store still counts', async () => {
    const server = await startTestServer({ limits: { maxSessionsPerUser: 0, maxStoredBytesPerUser: 0 } });
    for (const id of ['a', 'b', 'c']) await create(server, id);
    await turn(server, 'a', FILL);
    expect((await turn(server, 'a', 'still taken')).at(-1)).toMatchObject({ reason: 'END_TURN' });
    const usage = await server.app.store.getUsage('local');
    expect(usage.sessions).toBe(3);
    expect(usage.storedBytes).toBeGreaterThan(2 * streamText(1000).length);
  });

  it('holds both quotas across a restart on the same data directory (SQLite)', async () => {
    const dataDir = await tempDir();
    const limits: Partial<Limits> = { maxSessionsPerUser: 2, maxStoredBytesPerUser: 4000 };
    const first = await startTestServer({ dataDir, limits });
    await create(first, 'a');
    await create(first, 'b');
    await turn(first, 'a', FILL);
    await first.stop();

    const second = await startTestServer({ dataDir, limits });
    expect(codeOf(await second.request(CreateSessionMutation, { input: { id: 'c' } }))).toBe('QUOTA_EXCEEDED');
    expect(codeOf(await send(second, 'b'))).toBe('QUOTA_EXCEEDED');

    await second.gql(DeleteSessionMutation, { id: 'a' });
    await create(second, 'c');
    expect((await turn(second, 'b', 'after the restart')).at(-1)).toMatchObject({ reason: 'END_TURN' });
  });

  it('reads both quotas from the environment (MAX_SESSIONS_PER_USER, MAX_STORED_BYTES_PER_USER)', async () => {
    const proc = await startServerProcess({ DATA_DIR: await tempDir(), MAX_SESSIONS_PER_USER: '1', MAX_STORED_BYTES_PER_USER: '1' });
    const post = async (query: string) =>
      (await (
        await fetch(proc.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })
      ).json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };

    expect((await post('mutation { createSession(input: { id: "s" }) { id } }')).errors).toBeUndefined();
    expect((await post('mutation { createSession(input: { id: "t" }) { id } }')).errors?.[0]?.extensions?.code).toBe('QUOTA_EXCEEDED');
    // The first message is taken (nothing stored yet); its UserMessageEvent is stored before it answers.
    expect((await post('mutation { sendMessage(input: { sessionId: "s", text: "/sleep 1" }) { turnId } }')).errors).toBeUndefined();
    const refused = await post('mutation { sendMessage(input: { sessionId: "s", text: "more" }) { turnId } }');
    expect(refused.errors?.[0]?.extensions?.code).toBe('QUOTA_EXCEEDED');
  });
});

const services = await requireAll('PostgreSQL and Redis', requirePostgres(), requireRedis());

describeWithService(services, 'quotas across instances on PostgreSQL', () => {
  let dataDir: string;
  const databases: TestDatabase[] = [];
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'switchboard-quotas-cluster-'));
  });
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Two instances sharing a database of the test's own (every caller is `local`) and Redis. */
  async function cluster(limits: Partial<Limits>): Promise<[TestServer, TestServer]> {
    const db = await createTestDatabase();
    databases.push(db);
    const instance = async () =>
      startTestServer({
        store: await createPostgresStore({ connectionString: db.url, onError: () => {} }),
        pubsub: createRedisPubSub({ url: REDIS_URL, onError: () => {} }),
        dataDir,
        limits,
      });
    return [await instance(), await instance()];
  }

  it('lets exactly maxSessionsPerUser sessions through when two instances create at once', async () => {
    const [a, b] = await cluster({ maxSessionsPerUser: 5 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).request(CreateSessionMutation, { input: {} })),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(5);
    expect(results.filter((r) => r.errors).map(codeOf)).toEqual(Array(15).fill('QUOTA_EXCEEDED'));
    expect((await b.gql(SessionsQuery, { limit: 200 })).sessions).toHaveLength(5);
    expect(codeOf(await a.request(CreateSessionMutation, {}))).toBe('QUOTA_EXCEEDED');
  });

  it('refuses on one instance what was stored through another, until a session is deleted anywhere', async () => {
    const [a, b] = await cluster({ maxStoredBytesPerUser: 4000 });
    await create(a, 'full');
    await create(b, 'other');
    await turn(a, 'full', FILL);

    expect(codeOf(await send(b, 'other'))).toBe('QUOTA_EXCEEDED');
    expect(codeOf(await send(a, 'other'))).toBe('QUOTA_EXCEEDED');
    await b.gql(DeleteSessionMutation, { id: 'full' });
    expect((await turn(a, 'other', 'room again')).at(-1)).toMatchObject({ reason: 'END_TURN' });
  });
});
