import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewSessionEvent, PermissionResolution, PermissionStatus, SessionEvent } from '../../src/events/types.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { assistantMessageId } from '../../src/store/projection.js';
import { createPostgresStore } from '../../src/store/postgres.js';
import { FencedError } from '../../src/store/fenced.js';
import { ReadCapExceeded } from '../../src/store/read-cap.js';
import { postgresMigrations } from '../../src/store/postgres-migrations.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { sqliteMigrations } from '../../src/store/sqlite-migrations.js';
import { createThreadedSqliteStore } from '../../src/store/sqlite-thread.js';
import type { MessageRecord, QueuedMessageRecord, Store } from '../../src/store/types.js';
import {
  complete,
  delta,
  permissionRequest,
  permissionResolved,
  sessionRecord,
  textComplete,
  toolResult,
  toolStart,
  uniqueId,
  userMessage,
} from '../utils/events.js';
import { createTestDatabase, requirePostgres } from '../utils/postgres.js';
import { describeWithService, type ServiceRequirement } from '../utils/services.js';

/**
 * The Store contract, run against every backend. A backend's store may be shared by every
 * test of its suite and hold data from earlier runs: each test works on sessions and users
 * of its own (fresh ids) and assumes nothing about the rest of the store.
 */
interface Backend {
  name: string;
  /** Opens the store; `dispose`, if any, runs after the store is closed. */
  open: () => Promise<{ store: Store; dispose?: () => Promise<void> }>;
  /** A server the backend needs: its suite skips (outside CI) or fails (in CI) without it. */
  requirement?: ServiceRequirement;
  /**
   * For a backend kept in a database: opens a store on one made as the last release before
   * usage accounting left it (its migrations before that one) and filled by `seed`, plain SQL
   * that both dialects take. What an upgrade meets.
   */
  openLegacy?: (seed: string) => Promise<{ store: Store; dispose?: () => Promise<void> }>;
}

/** The migration that added usage accounting, per backend: a legacy database stops before it. */
const SQLITE_USAGE_VERSION = 3;
const POSTGRES_USAGE_VERSION = 2;

/** A SQLite file at the schema before usage accounting, holding `seed`. */
function legacySqlite(seed: string) {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
  const path = join(dir, 'switchboard.db');
  const db = new Database(path);
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  for (const migration of sqliteMigrations.filter((m) => m.version < SQLITE_USAGE_VERSION)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(migration.version, new Date().toISOString());
  }
  db.exec(seed);
  db.close();
  return { path, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
}

const backends: Backend[] = [
  { name: 'memory', open: async () => ({ store: createMemoryStore() }) },
  { name: 'sqlite', open: async () => ({ store: createSqliteStore({ path: ':memory:' }) }) },
  {
    // A file in WAL mode, checkpointed by its worker thread (often here).
    name: 'sqlite (file)',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
      const store = createSqliteStore({ path: join(dir, 'switchboard.db'), checkpointIntervalMs: 5 });
      return { store, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
    },
    openLegacy: async (seed) => {
      const { path, dispose } = legacySqlite(seed);
      return { store: createSqliteStore({ path, checkpointIntervalMs: 5 }), dispose };
    },
  },
  {
    // As the server runs it: the same, on a thread of its own.
    name: 'sqlite (store thread)',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
      const store = createThreadedSqliteStore({ path: join(dir, 'switchboard.db'), checkpointIntervalMs: 5 });
      return { store, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
    },
    openLegacy: async (seed) => {
      const { path, dispose } = legacySqlite(seed);
      return { store: createThreadedSqliteStore({ path, checkpointIntervalMs: 5 }), dispose };
    },
  },
  {
    name: 'postgres',
    requirement: await requirePostgres(),
    // A database of its own per run: parallel runs never collide, and nothing is left behind.
    open: async () => {
      const db = await createTestDatabase();
      try {
        return { store: await createPostgresStore({ connectionString: db.url }), dispose: db.drop };
      } catch (error) {
        await db.drop();
        throw error;
      }
    },
    openLegacy: async (seed) => {
      const db = await createTestDatabase();
      try {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          await client.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
          for (const migration of postgresMigrations.filter((m) => m.version < POSTGRES_USAGE_VERSION)) {
            await client.query(migration.sql);
            await client.query('INSERT INTO schema_migrations VALUES ($1, $2)', [migration.version, new Date().toISOString()]);
          }
          await client.query(seed);
        } finally {
          await client.end();
        }
        return { store: await createPostgresStore({ connectionString: db.url }), dispose: db.drop };
      } catch (error) {
        await db.drop();
        throw error;
      }
    },
  },
];

for (const backend of backends) describeStore(backend);

const at = (second: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, second)).toISOString();

const queued = (turnId: string, text = `queued ${turnId}`): QueuedMessageRecord => ({
  turnId,
  messageId: `m-${turnId}`,
  text,
  attachments: [{ name: 'a.txt', mediaType: 'text/plain', dataBase64: 'aGk=' }],
  createdAt: at(0),
});

/** What usage counts for events as stored: the UTF-8 size of each one's JSON. */
const jsonBytes = (events: SessionEvent[]) => events.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)), 0);

/**
 * Usage bytes near `expected` for `events` events: a store may count a batch's JSON rather
 * than each stored body (PostgreSQL's single-statement appends), a few bytes apart per event.
 */
function expectBytesNear(actual: number, expected: number, events: number) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(16 * events);
}

function describeStore({ name, open, requirement, openLegacy }: Backend) {
  const title = `Store contract: ${name}`;
  const suite = () => {
    let store: Store;
    let dispose: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      ({ store, dispose } = await open());
    });
    afterAll(async () => {
      await store?.close();
      await dispose?.();
    });

    /** A new session of its own (and of a user of its own unless given), with no events. */
    async function newSession(overrides: { userId?: string; createdAt?: string } = {}) {
      const record = sessionRecord({ id: uniqueId('s'), userId: uniqueId('u'), ...overrides });
      expect(await store.createSession(record)).toBe('created');
      return record;
    }

    it('answers ping', async () => {
      expect(await store.ping()).toBe(true);
    });

    describe('sessions', () => {
      it('creates a session and reads it back', async () => {
        const record = sessionRecord({
          id: uniqueId('s'),
          userId: uniqueId('u'),
          title: 'Ünïcode ✓',
          permissionMode: 'DENY_ALL',
        });
        expect(await store.createSession(record)).toBe('created');
        expect(await store.getSession(record.id)).toEqual(record);
      });

      it('refuses a duplicate id and writes nothing', async () => {
        const record = await newSession();
        expect(await store.createSession({ ...record, title: 'other', userId: uniqueId('u') })).toBe('exists');
        expect(await store.getSession(record.id)).toEqual(record);
      });

      it('answers null for an unknown session', async () => {
        expect(await store.getSession(uniqueId('absent'))).toBeNull();
      });

      it("lists a user's sessions newest first, up to the limit, and no one else's", async () => {
        const userId = uniqueId('u');
        const s2 = await newSession({ userId, createdAt: at(2) });
        const s3 = await newSession({ userId, createdAt: at(3) });
        const s1 = await newSession({ userId, createdAt: at(1) });
        await newSession({ createdAt: at(4) }); // another user's

        expect((await store.listSessions(userId, 10)).map((s) => s.id)).toEqual([s3.id, s2.id, s1.id]);
        expect((await store.listSessions(userId, 2)).map((s) => s.id)).toEqual([s3.id, s2.id]);
        expect(await store.listSessions(uniqueId('nobody'), 10)).toEqual([]);
        expect((await store.listSessions(userId, 1))[0]).toEqual(s3);
      });

      it('lists sessions created at the same instant newest first, by creation order', async () => {
        const userId = uniqueId('u');
        const first = await newSession({ userId, createdAt: at(5) });
        const second = await newSession({ userId, createdAt: at(5) });
        expect((await store.listSessions(userId, 10)).map((s) => s.id)).toEqual([second.id, first.id]);
      });

      it('deletes a session and everything that belongs to it', async () => {
        const session = await newSession();
        const id = session.id;
        await store.enqueue(id, queued('t2'));
        await store.appendEvents(id, [
          userMessage(id, 'hi'),
          textComplete(id, 'hello'),
          permissionRequest(id, { requestId: 'r1' }),
        ]);
        await store.addPermissionRule(id, 'write_file');
        await store.putClientMessage(id, 'c1', { turnId: 't1', queued: false });

        await store.deleteSession(id);
        expect(await store.getSession(id)).toBeNull();
        expect(await store.listSessions(session.userId, 10)).toEqual([]);

        // A new session with the same id starts from nothing.
        expect(await store.createSession(session)).toBe('created');
        expect(await store.getSession(id)).toEqual(session);
        expect(await store.readEvents(id, 0, 100)).toEqual([]);
        expect(await store.listMessages(id)).toEqual([]);
        expect(await store.listQueue(id)).toEqual([]);
        expect(await store.listPermissions(id)).toEqual([]);
        expect(await store.getPermission(id, 'r1')).toBeNull();
        expect(await store.hasPermissionRule(id, 'write_file')).toBe(false);
        expect(await store.getClientMessage(id, 'c1')).toBeNull();
        expect((await store.appendEvents(id, [userMessage(id, 'again')]))[0]?.seq).toBe(1);
      });

      it('deletes only the session it is asked to', async () => {
        const kept = await newSession();
        const gone = await newSession();
        await store.appendEvents(kept.id, [userMessage(kept.id, 'hi')]);
        await store.deleteSession(gone.id);
        expect((await store.getSession(kept.id))?.lastSeq).toBe(1);
        expect(await store.readEvents(kept.id, 0, 10)).toHaveLength(1);
      });

      it('deleting an unknown session does nothing', async () => {
        await expect(store.deleteSession(uniqueId('absent'))).resolves.toBeUndefined();
      });
    });

    describe('event log', () => {
      it('assigns seqs lastSeq+1… across calls and returns the stored events', async () => {
        const { id } = await newSession();
        const first = await store.appendEvents(id, [userMessage(id, 'hi', { at: at(1) }), delta(id, 'a', { at: at(2) })]);
        expect(first).toEqual([
          { ...userMessage(id, 'hi', { at: at(1) }), seq: 1 },
          { ...delta(id, 'a', { at: at(2) }), seq: 2 },
        ]);
        const second = await store.appendEvents(id, [delta(id, 'b'), delta(id, 'c'), textComplete(id, 'abc')]);
        expect(second.map((e) => e.seq)).toEqual([3, 4, 5]);
        expect((await store.getSession(id))?.lastSeq).toBe(5);
        expect(await store.readEvents(id, 0, 100)).toEqual([...first, ...second]);
      });

      it('appends nothing for an empty batch', async () => {
        const session = await newSession();
        expect(await store.appendEvents(session.id, [])).toEqual([]);
        expect(await store.getSession(session.id)).toEqual(session);
      });

      it('keeps seqs per session', async () => {
        const a = await newSession();
        const b = await newSession();
        await store.appendEvents(a.id, [userMessage(a.id, '1'), delta(a.id, '2')]);
        expect((await store.appendEvents(b.id, [userMessage(b.id, '1')]))[0]?.seq).toBe(1);
        expect(await store.readEvents(b.id, 0, 100)).toHaveLength(1);
      });

      it('reads events after a seq, oldest first, at most limit', async () => {
        const { id } = await newSession();
        await store.appendEvents(id, ['a', 'b', 'c', 'd', 'e'].map((d) => delta(id, d)));
        const seqs = async (after: number, limit: number) => (await store.readEvents(id, after, limit)).map((e) => e.seq);
        expect(await seqs(0, 2)).toEqual([1, 2]);
        expect(await seqs(2, 10)).toEqual([3, 4, 5]);
        expect(await seqs(4, 1)).toEqual([5]);
        expect(await seqs(5, 10)).toEqual([]);
        expect(await seqs(50, 10)).toEqual([]);
        expect(await store.readEvents(uniqueId('absent'), 0, 10)).toEqual([]);
      });

      it('stops a capped read once its events pass maxBytes, and says so', async () => {
        const { id } = await newSession();
        await store.appendEvents(id, ['a', 'b', 'c'].map((d) => delta(id, d.repeat(1000))));
        // Each event is about 1.1 KB as stored JSON: two fit in 3000 bytes, three do not.
        expect((await store.readEvents(id, 0, 2, { maxBytes: 3000 })).map((e) => e.seq)).toEqual([1, 2]);
        await expect(store.readEvents(id, 0, 3, { maxBytes: 3000 })).rejects.toBeInstanceOf(ReadCapExceeded);
        await expect(store.readEvents(id, 0, 10, { maxBytes: 100 })).rejects.toBeInstanceOf(ReadCapExceeded);
        expect((await store.readEvents(id, 1, 10, { maxBytes: 3000 })).map((e) => e.seq)).toEqual([2, 3]);
      });

      it('stores every kind of event with all its fields', async () => {
        const { id } = await newSession();
        const events: NewSessionEvent[] = [
          userMessage(id, 'hi 👋', { messageId: 'm1' }),
          delta(id, 'Hé'),
          textComplete(id, 'Hé', { isIntermediate: true }),
          toolStart(id, 'tu1', { toolInput: { path: 'a.txt', lines: [1, 2], nested: { ok: true, none: null } } }),
          { ...toolStart(id, 'tu2'), toolIntent: 'write it', toolDisplayName: 'Write' },
          toolResult(id, 'tu1', 'wrote 2 bytes', { isError: true }),
          permissionRequest(id, { requestId: 'r1', command: 'write a.txt', description: 'd', expiresAt: at(30) }),
          permissionResolved(id, 'r1', true, { alwaysAllow: true, resolution: 'USER' }),
          { sessionId: id, turnId: 't1', at: at(9), type: 'ERROR', error: 'boom', code: 'E_BOOM' },
          { sessionId: id, turnId: null, at: at(9), type: 'ERROR', error: 'outside a turn', code: null },
          { ...complete(id, { reason: 'ERROR' }), usage: { inputTokens: 12, outputTokens: 34 } },
        ];
        const stored = await store.appendEvents(id, events);
        expect(stored).toEqual(events.map((e, i) => ({ ...e, seq: i + 1 })));
        expect(await store.readEvents(id, 0, 100)).toEqual(stored);
      });
    });

    describe('messages', () => {
      /** A session with `n` user messages m1…mn, each `size` characters of text. */
      async function conversation(n: number, size = 1) {
        const { id } = await newSession();
        const events = Array.from({ length: n }, (_, i) =>
          userMessage(id, String(i + 1).padEnd(size, '.'), { turnId: `t${i + 1}`, messageId: `m${i + 1}` }),
        );
        await store.appendEvents(id, events);
        return id;
      }
      const ids = (messages: Array<{ id: string }>) => messages.map((m) => m.id);

      it('pages: the newest `last` before `before` (or the newest), oldest first', async () => {
        const id = await conversation(7);
        expect(ids(await store.listMessages(id))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
        expect(ids(await store.listMessages(id, { last: 3 }))).toEqual(['m5', 'm6', 'm7']);
        expect(ids(await store.listMessages(id, { last: 3, before: 'm5' }))).toEqual(['m2', 'm3', 'm4']);
        expect(ids(await store.listMessages(id, { last: 3, before: 'm2' }))).toEqual(['m1']);
        expect(await store.listMessages(id, { last: 3, before: 'm1' })).toEqual([]);
        expect(ids(await store.listMessages(id, { last: 100 }))).toHaveLength(7);
        expect(ids(await store.listMessages(id, { before: 'm3' }))).toEqual(['m1', 'm2']);
        // Whole records, as listed without paging.
        expect(await store.listMessages(id, { last: 1 })).toEqual((await store.listMessages(id)).slice(-1));
      });

      it('gives no messages before an id that is not a message of the session', async () => {
        const id = await conversation(3);
        const other = await conversation(3);
        expect(await store.listMessages(id, { last: 10, before: 'nope' })).toEqual([]);
        expect(await store.listMessages(uniqueId('absent'), { last: 10 })).toEqual([]);
        // m2 of another session does not page this one (both have an m2: the id is looked up here).
        expect(ids(await store.listMessages(other, { last: 10, before: 'm2' }))).toEqual(['m1']);
      });

      it('stops a capped read once its messages pass maxBytes, and says so', async () => {
        const id = await conversation(4, 1000);
        expect(ids(await store.listMessages(id, { last: 2, maxBytes: 2500 }))).toEqual(['m3', 'm4']);
        await expect(store.listMessages(id, { last: 3, maxBytes: 2500 })).rejects.toBeInstanceOf(ReadCapExceeded);
        await expect(store.listMessages(id, { maxBytes: 2500 })).rejects.toBeInstanceOf(ReadCapExceeded);
        expect(ids(await store.listMessages(id, { last: 2, before: 'm3', maxBytes: 2500 }))).toEqual(['m1', 'm2']);
      });
    });

    describe('projection', () => {
      it('USER_MESSAGE dequeues its turn, sets RUNNING and adds a USER message', async () => {
        const { id } = await newSession();
        await store.enqueue(id, queued('t1'));
        await store.enqueue(id, queued('t2'));
        await store.appendEvents(id, [userMessage(id, 'hi', { turnId: 't1', messageId: 'm1', at: at(7) })]);

        expect((await store.listQueue(id)).map((q) => q.turnId)).toEqual(['t2']);
        expect(await store.getSession(id)).toMatchObject({ status: 'RUNNING', updatedAt: at(7), lastSeq: 1 });
        expect(await store.listMessages(id)).toEqual([
          { id: 'm1', role: 'USER', text: 'hi', turnId: 't1', createdAt: at(7), toolCalls: [] },
        ]);
      });

      it('TEXT_COMPLETE adds an ASSISTANT message; deltas add none', async () => {
        const { id } = await newSession();
        await store.appendEvents(id, [
          userMessage(id, 'hi'),
          delta(id, 'Hel'),
          delta(id, 'lo'),
          textComplete(id, 'Hello', { at: at(8) }),
        ]);
        expect((await store.listMessages(id)).slice(1)).toEqual([
          { id: assistantMessageId(id, 4), role: 'ASSISTANT', text: 'Hello', turnId: 't1', createdAt: at(8), toolCalls: [] },
        ]);
      });

      it("TOOL_START attaches to the turn's last assistant message, TOOL_RESULT fills the call", async () => {
        const { id } = await newSession();
        await store.appendEvents(id, [
          userMessage(id, 'hi'),
          textComplete(id, 'Let me write.'),
          toolStart(id, 'tu1', { toolInput: { path: 'a.txt' } }),
          toolStart(id, 'tu2', { toolName: 'read_file', toolInput: { path: 'b.txt' } }),
        ]);
        await store.appendEvents(id, [toolResult(id, 'tu2', 'contents of b')]);
        await store.appendEvents(id, [toolResult(id, 'tu1', 'no space', { isError: true })]);

        const messages = await store.listMessages(id);
        expect(messages).toHaveLength(2);
        expect(messages[1]).toMatchObject({
          id: assistantMessageId(id, 2),
          role: 'ASSISTANT',
          text: 'Let me write.',
          toolCalls: [
            { toolUseId: 'tu1', toolName: 'write_file', input: { path: 'a.txt' }, result: 'no space', isError: true },
            { toolUseId: 'tu2', toolName: 'read_file', input: { path: 'b.txt' }, result: 'contents of b', isError: false },
          ],
        });
      });

      it('TOOL_START opens an assistant message when the last message is not one of its turn', async () => {
        const { id } = await newSession();
        await store.appendEvents(id, [
          userMessage(id, 'one', { turnId: 't1' }),
          textComplete(id, 'first answer', { turnId: 't1' }),
          complete(id, { turnId: 't1' }),
          userMessage(id, 'two', { turnId: 't2' }),
          toolStart(id, 'tu1', { turnId: 't2', at: at(11) }), // seq 5: after the USER message
        ]);
        await store.appendEvents(id, [
          textComplete(id, 'done', { turnId: 't2' }),
          complete(id, { turnId: 't2' }),
          userMessage(id, 'three', { turnId: 't3' }),
          textComplete(id, 'third', { turnId: 't3' }),
        ]);
        // seq 10: the last message is an assistant message, but of another turn.
        await store.appendEvents(id, [toolStart(id, 'tu2', { turnId: 't4' })]);

        const messages = await store.listMessages(id);
        expect(messages.map((m) => [m.role, m.turnId, m.text, m.toolCalls.map((c) => c.toolUseId)])).toEqual([
          ['USER', 't1', 'one', []],
          ['ASSISTANT', 't1', 'first answer', []],
          ['USER', 't2', 'two', []],
          ['ASSISTANT', 't2', '', ['tu1']],
          ['ASSISTANT', 't2', 'done', []],
          ['USER', 't3', 'three', []],
          ['ASSISTANT', 't3', 'third', []],
          ['ASSISTANT', 't4', '', ['tu2']],
        ]);
        expect(messages[3]).toMatchObject({ id: assistantMessageId(id, 5), createdAt: at(11) });
        expect(messages[7]).toMatchObject({ id: assistantMessageId(id, 10) });
      });

      it('PERMISSION_REQUEST adds a pending permission and awaits it; COMPLETE makes the session IDLE', async () => {
        const { id } = await newSession();
        await store.appendEvents(id, [
          userMessage(id, 'hi'),
          permissionRequest(id, { requestId: 'r1', toolName: 'write_file', command: 'write', expiresAt: at(40) }, { at: at(12) }),
        ]);
        expect(await store.getSession(id)).toMatchObject({ status: 'AWAITING_PERMISSION', updatedAt: at(12) });
        const pending = {
          request: { requestId: 'r1', toolName: 'write_file', command: 'write', description: null, expiresAt: at(40) },
          turnId: 't1',
          status: 'PENDING',
        };
        expect(await store.getPermission(id, 'r1')).toEqual(pending);
        expect(await store.listPermissions(id)).toEqual([pending]);
        expect(await store.listPermissions(id, 'PENDING')).toEqual([pending]);
        expect(await store.listPermissions(id, 'ALLOWED')).toEqual([]);
        expect(await store.getPermission(id, 'r2')).toBeNull();

        await store.appendEvents(id, [permissionResolved(id, 'r1', true)]);
        expect((await store.getSession(id))?.status).toBe('RUNNING');
        expect((await store.getPermission(id, 'r1'))?.status).toBe('ALLOWED');

        await store.appendEvents(id, [complete(id, { at: at(13) })]);
        expect(await store.getSession(id)).toMatchObject({ status: 'IDLE', updatedAt: at(13), lastSeq: 4 });
      });

      it.each([
        [true, 'USER', 'ALLOWED'],
        [false, 'USER', 'DENIED'],
        [true, 'RULE', 'ALLOWED'],
        [false, 'TIMEOUT', 'EXPIRED'],
        [false, 'CANCELLED', 'CANCELLED'],
      ] as Array<[boolean, PermissionResolution, PermissionStatus]>)(
        'PERMISSION_RESOLVED allowed=%s by %s leaves the request %s',
        async (allowed, resolution, status) => {
          const { id } = await newSession();
          await store.appendEvents(id, [userMessage(id, 'hi'), permissionRequest(id, { requestId: 'r1' })]);
          await store.appendEvents(id, [permissionResolved(id, 'r1', allowed, { resolution })]);
          expect((await store.getPermission(id, 'r1'))?.status).toBe(status);
          expect(await store.listPermissions(id, status)).toHaveLength(1);
          expect(await store.listPermissions(id, 'PENDING')).toEqual([]);
        },
      );

      it('keeps permissions and rules per session', async () => {
        const a = await newSession();
        const b = await newSession();
        await store.appendEvents(a.id, [permissionRequest(a.id, { requestId: 'r1' })]);
        await store.addPermissionRule(a.id, 'write_file');
        expect(await store.hasPermissionRule(a.id, 'write_file')).toBe(true);
        expect(await store.hasPermissionRule(a.id, 'read_file')).toBe(false);
        expect(await store.hasPermissionRule(b.id, 'write_file')).toBe(false);
        expect(await store.getPermission(b.id, 'r1')).toBeNull();
        expect(await store.listPermissions(b.id)).toEqual([]);

        await store.addPermissionRule(a.id, 'write_file'); // twice is harmless
        expect(await store.hasPermissionRule(a.id, 'write_file')).toBe(true);
      });
    });

    describe('queue', () => {
      it('enqueues at the tail, or at the head with front, and lists in order', async () => {
        const { id } = await newSession();
        await store.enqueue(id, queued('t1'));
        await store.enqueue(id, queued('t2'));
        await store.enqueue(id, queued('t0'), true);
        await store.enqueue(id, queued('t3'), false);
        expect(await store.listQueue(id)).toEqual([queued('t0'), queued('t1'), queued('t2'), queued('t3')]);
      });

      it('lists without attachments (left unread) and caps the read, when asked', async () => {
        const { id } = await newSession();
        const attachment = { name: 'a.bin', mediaType: 'application/octet-stream', dataBase64: 'A'.repeat(100_000) };
        await store.enqueue(id, { ...queued('t1'), attachments: [attachment] });
        await store.enqueue(id, queued('t2', 'x'.repeat(1000)));
        const bare = { attachments: [] };
        expect(await store.listQueue(id, { attachments: false })).toEqual([
          { ...queued('t1'), ...bare },
          { ...queued('t2', 'x'.repeat(1000)), ...bare },
        ]);
        expect((await store.listQueue(id, { attachments: false, maxBytes: 5000 })).map((q) => q.turnId)).toEqual(['t1', 't2']);
        await expect(store.listQueue(id, { maxBytes: 5000 })).rejects.toBeInstanceOf(ReadCapExceeded);
        await expect(store.listQueue(id, { attachments: false, maxBytes: 1000 })).rejects.toBeInstanceOf(ReadCapExceeded);
        expect((await store.listQueue(id))[0]!.attachments).toEqual([attachment]);
      });

      it('clears the queue of one session only', async () => {
        const a = await newSession();
        const b = await newSession();
        await store.enqueue(a.id, queued('t1'));
        await store.enqueue(a.id, queued('t2'));
        await store.enqueue(b.id, queued('t9'));
        await store.clearQueue(a.id);
        expect(await store.listQueue(a.id)).toEqual([]);
        expect(await store.listQueue(b.id)).toEqual([queued('t9')]);

        await store.enqueue(a.id, queued('t3'));
        expect(await store.listQueue(a.id)).toEqual([queued('t3')]);
      });
    });

    describe('client messages', () => {
      it('records what a clientMessageId answered, per session', async () => {
        const a = await newSession();
        const b = await newSession();
        expect(await store.getClientMessage(a.id, 'c1')).toBeNull();
        await store.putClientMessage(a.id, 'c1', { turnId: 't1', queued: true });
        await store.putClientMessage(a.id, 'c2', { turnId: 't2', queued: false });
        expect(await store.getClientMessage(a.id, 'c1')).toEqual({ turnId: 't1', queued: true });
        expect(await store.getClientMessage(a.id, 'c2')).toEqual({ turnId: 't2', queued: false });
        expect(await store.getClientMessage(b.id, 'c1')).toBeNull();
      });
    });

    describe('startTurn', () => {
      /** Everything a refused call must leave as it was. */
      async function snapshot(id: string, userId: string, clientMessageId = 'c1') {
        return {
          session: await store.getSession(id),
          events: await store.readEvents(id, 0, 1000),
          messages: await store.listMessages(id),
          queue: await store.listQueue(id),
          client: await store.getClientMessage(id, clientMessageId),
          usage: await store.getUsage(userId),
        };
      }

      /** A session with a finished turn behind it (a conversation to pass as history). */
      async function withHistory() {
        const session = await newSession();
        await store.appendEvents(session.id, [
          userMessage(session.id, 'first', { turnId: 't0', messageId: 'm0', at: at(1) }),
          textComplete(session.id, 'answer', { turnId: 't0', at: at(2) }),
          complete(session.id, { turnId: 't0', at: at(3) }),
        ]);
        return session;
      }

      it('idle: queues the message and starts it, exactly as enqueue + appendEvents would, in one call', async () => {
        const a = await withHistory();
        const b = await withHistory();
        const history = await store.listMessages(a.id);
        const usage = { a: await store.getUsage(a.userId), b: await store.getUsage(b.userId) };

        const outcome = await store.startTurn(a.id, {
          userId: a.userId,
          message: { record: queued('t1'), front: false, clientMessageId: 'c1' },
          start: true,
          at: at(9),
        });
        // The same by the separate calls, on a twin session.
        await store.enqueue(b.id, queued('t1'));
        const [twin] = await store.appendEvents(b.id, [
          { type: 'USER_MESSAGE', sessionId: b.id, turnId: 't1', at: at(9), messageId: 'm-t1', text: 'queued t1' },
        ]);

        if (outcome.outcome !== 'done') throw new Error(`expected done, got ${outcome.outcome}`);
        expect(outcome.record).toEqual({ turnId: 't1', queued: false });
        expect(await store.getClientMessage(a.id, 'c1')).toEqual({ turnId: 't1', queued: false });
        expect(outcome.started?.message).toEqual(queued('t1'));
        expect(outcome.started?.history, 'the conversation before this turn').toEqual(history);
        expect(outcome.started?.event).toEqual({ ...twin, sessionId: a.id });
        expect(await store.readEvents(a.id, 3, 10)).toEqual([outcome.started!.event]);
        expect(outcome.session).toEqual(await store.getSession(a.id));
        const { id: _a, userId: _ua, createdAt: _ca, ...sessionA } = outcome.session;
        const { id: _b, userId: _ub, createdAt: _cb, ...sessionB } = (await store.getSession(b.id))!;
        expect(sessionA).toEqual({ ...sessionB, status: 'RUNNING', lastSeq: 4, updatedAt: at(9) });
        // Assistant message ids name their session: compared without them.
        const bare = (messages: MessageRecord[]) => messages.map(({ id, ...m }) => ({ ...m, id: id.replace(/^.*:/, '') }));
        expect(bare(await store.listMessages(a.id))).toEqual(bare(await store.listMessages(b.id)));
        expect(await store.listQueue(a.id)).toEqual([]);
        const grown = async (userId: string, before: { storedBytes: number }) => (await store.getUsage(userId)).storedBytes - before.storedBytes;
        expectBytesNear(await grown(a.userId, usage.a), await grown(b.userId, usage.b), 1);
        expect(await grown(a.userId, usage.a)).toBeGreaterThan(0);
      });

      it('a turn running: queues at the tail (queued), or at the head with front (not queued), and starts nothing', async () => {
        const { id, userId } = await newSession();
        await store.appendEvents(id, [userMessage(id, 'running', { turnId: 't0' })]);
        const lastSeq = (await store.getSession(id))!.lastSeq;
        const tail = await store.startTurn(id, { userId, message: { record: queued('t1'), front: false, clientMessageId: 'c1' }, start: false, at: at(9) });
        const head = await store.startTurn(id, { userId, message: { record: queued('t2'), front: true, clientMessageId: 'c2' }, start: false, at: at(9) });
        expect(tail).toMatchObject({ outcome: 'done', record: { turnId: 't1', queued: true }, started: null });
        expect(head).toMatchObject({ outcome: 'done', record: { turnId: 't2', queued: false }, started: null });
        expect(await store.getClientMessage(id, 'c1')).toEqual({ turnId: 't1', queued: true });
        expect(await store.getClientMessage(id, 'c2')).toEqual({ turnId: 't2', queued: false });
        expect((await store.listQueue(id)).map((m) => m.turnId)).toEqual(['t2', 't1']);
        expect((await store.getSession(id))!.lastSeq).toBe(lastSeq);
        expect(head.outcome === 'done' && head.session).toEqual(await store.getSession(id));
      });

      it('idle with messages queued before: the head starts, and the new message says queued', async () => {
        const { id, userId } = await newSession();
        await store.enqueue(id, queued('t1'));
        const outcome = await store.startTurn(id, { userId, message: { record: queued('t2'), front: false, clientMessageId: 'c2' }, start: true, at: at(9) });
        expect(outcome).toMatchObject({ outcome: 'done', record: { turnId: 't2', queued: true }, started: { message: queued('t1'), history: [] } });
        expect(await store.getClientMessage(id, 'c2')).toEqual({ turnId: 't2', queued: true });
        expect((await store.listQueue(id)).map((m) => m.turnId)).toEqual(['t2']);
        expect((await store.listMessages(id)).map((m) => m.turnId)).toEqual(['t1']);
      });

      it('without a message: starts the head of the queue, or (queue empty, or onlyIfIdle on a session not idle) writes nothing', async () => {
        const { id, userId } = await newSession();
        const idle = await store.startTurn(id, { start: true, at: at(9) });
        expect(idle).toEqual({ outcome: 'done', record: null, started: null, session: await store.getSession(id) });

        await store.enqueue(id, queued('t1'));
        await store.enqueue(id, queued('t2'));
        const next = await store.startTurn(id, { start: true, onlyIfIdle: true, at: at(9) });
        expect(next).toMatchObject({ outcome: 'done', record: null, started: { message: queued('t1'), event: { type: 'USER_MESSAGE', turnId: 't1', seq: 1 } } });

        // RUNNING now: onlyIfIdle starts nothing and shows the status.
        const before = await snapshot(id, userId);
        const open = await store.startTurn(id, { start: true, onlyIfIdle: true, at: at(10) });
        expect(open).toEqual({ outcome: 'done', record: null, started: null, session: before.session });
        expect(await snapshot(id, userId)).toEqual(before);
      });

      it('refuses, writing nothing: not-found (absent or not the user\'s), duplicate, over-quota, rejected, queue-full', async () => {
        const { id, userId } = await newSession();
        await store.appendEvents(id, [userMessage(id, 'running', { turnId: 't0' })]);
        await store.startTurn(id, { userId, message: { record: queued('t1'), front: false, clientMessageId: 'c1' }, start: false, at: at(9) });
        const before = await snapshot(id, userId, 'c2');
        const message = (overrides: object = {}) => ({ record: queued('t2'), front: false, clientMessageId: 'c2', ...overrides });
        const ask = (request: Partial<Parameters<Store['startTurn']>[1]>) => store.startTurn(id, { userId, message: message(), start: true, at: at(9), ...request });

        expect(await store.startTurn(uniqueId('absent'), { userId, message: message(), start: true, at: at(9) })).toEqual({ outcome: 'not-found' });
        expect(await ask({ userId: uniqueId('u') })).toEqual({ outcome: 'not-found' });
        const storedBytes = before.usage.storedBytes;
        expect(storedBytes).toBeGreaterThan(0);
        expect(await ask({ message: message({ maxStoredBytes: storedBytes - 1 }) })).toEqual({ outcome: 'over-quota', usage: before.usage });
        expect(await ask({ message: message({ reject: true }) })).toEqual({ outcome: 'rejected' });
        expect(await ask({ message: message({ maxQueued: 1 }) })).toEqual({ outcome: 'queue-full' });
        expect(await snapshot(id, userId, 'c2')).toEqual(before);

        // The quota is "more than": at the bound, and under the queue bound, it goes through.
        expect(await ask({ start: false, message: message({ maxStoredBytes: storedBytes, maxQueued: 2 }) })).toMatchObject({ outcome: 'done' });
        const after = await snapshot(id, userId, 'c2');
        // A retry: the first record and the session, whatever it carries; nothing written.
        const retry = await ask({ message: { record: queued('t3'), front: true, clientMessageId: 'c2', reject: true, maxQueued: 1 } });
        expect(retry).toEqual({ outcome: 'duplicate', record: { turnId: 't2', queued: true }, session: after.session });
        expect(await snapshot(id, userId, 'c2')).toEqual(after);
      });

      it('refuses a call with an older token (FencedError), writing nothing', async () => {
        const { id, userId } = await newSession();
        const old = (await store.claimLease(id, 'a', 1000, 0)).token;
        await store.enqueue(id, queued('t1'), false, old);
        const current = (await store.claimLease(id, 'b', 1000, 5000)).token;
        const before = await snapshot(id, userId);
        const message = { record: queued('t2'), front: false, clientMessageId: 'c1' };
        await expect(store.startTurn(id, { userId, message, start: true, at: at(9), token: old })).rejects.toBeInstanceOf(FencedError);
        await expect(store.startTurn(id, { userId, message, start: false, at: at(9), token: old })).rejects.toBeInstanceOf(FencedError);
        await expect(store.startTurn(id, { start: true, at: at(9), token: old })).rejects.toBeInstanceOf(FencedError);
        expect(await snapshot(id, userId)).toEqual(before);

        const outcome = await store.startTurn(id, { userId, message, start: true, at: at(9), token: current });
        expect(outcome).toMatchObject({ outcome: 'done', record: { turnId: 't2', queued: true }, started: { message: queued('t1') } });
      });
    });

    describe('config', () => {
      it('answers null for a user without one', async () => {
        expect(await store.getConfig(uniqueId('u'))).toBeNull();
      });

      it('round-trips a config with a JSON theme, per user', async () => {
        const userId = uniqueId('u');
        const theme = {
          mode: 'dark',
          accent: '#ff00aa',
          sizes: [12, 14.5],
          flags: { compact: true, none: null },
          label: 'Thème ✓',
        };
        await store.putConfig(userId, { defaultModel: 'demo', permissionMode: 'ALLOW_ALL', theme });
        expect(await store.getConfig(userId)).toEqual({ defaultModel: 'demo', permissionMode: 'ALLOW_ALL', theme });
        expect(await store.getConfig(uniqueId('u'))).toBeNull();

        await store.putConfig(userId, { defaultModel: 'demo-2', permissionMode: 'ASK', theme: null });
        expect(await store.getConfig(userId)).toEqual({ defaultModel: 'demo-2', permissionMode: 'ASK', theme: null });
      });
    });

    describe('leases', () => {
      it('grants a free lease, renews it for its holder and refuses others until it expires', async () => {
        const { id } = await newSession();
        expect(await store.getLease(id)).toBeNull();
        expect(await store.claimLease(id, 'a', 1000, 10_000)).toEqual({ holder: 'a', expiresAt: 11_000, token: 1 });
        expect(await store.claimLease(id, 'b', 1000, 10_500)).toEqual({ holder: 'a', expiresAt: 11_000, token: 1 });
        expect(await store.claimLease(id, 'a', 1000, 10_800)).toEqual({ holder: 'a', expiresAt: 11_800, token: 1 });
        expect(await store.claimLease(id, 'b', 1000, 11_800)).toEqual({ holder: 'a', expiresAt: 11_800, token: 1 });
        expect(await store.claimLease(id, 'b', 1000, 11_801)).toEqual({ holder: 'b', expiresAt: 12_801, token: 2 });
        expect(await store.getLease(id)).toEqual({ holder: 'b', expiresAt: 12_801, token: 2 });
      });

      it('releases only for its holder, and leases are per session', async () => {
        const one = await newSession();
        const two = await newSession();
        await store.claimLease(one.id, 'a', 1000, 0);
        await store.claimLease(two.id, 'b', 1000, 0);
        await store.releaseLease(one.id, 'b');
        expect(await store.getLease(one.id)).toEqual({ holder: 'a', expiresAt: 1000, token: 1 });
        await store.releaseLease(one.id, 'a');
        expect(await store.getLease(one.id)).toBeNull();
        expect(await store.claimLease(one.id, 'b', 1000, 5)).toEqual({ holder: 'b', expiresAt: 1005, token: 2 });
        expect(await store.getLease(two.id)).toEqual({ holder: 'b', expiresAt: 1000, token: 1 });
      });

      it('drops the lease with its session', async () => {
        const { id } = await newSession();
        await store.claimLease(id, 'a', 1000, 0);
        await store.deleteSession(id);
        expect(await store.getLease(id)).toBeNull();
      });
    });


    describe('fencing', () => {
      it('grows the token with every grant to a new holder, not with renewals', async () => {
        const { id } = await newSession();
        expect((await store.claimLease(id, 'a', 1000, 0)).token).toBe(1);
        expect((await store.claimLease(id, 'a', 1000, 500)).token).toBe(1);
        expect((await store.claimLease(id, 'b', 1000, 2000)).token).toBe(2); // takeover after expiry
        await store.releaseLease(id, 'b');
        expect((await store.claimLease(id, 'a', 1000, 2100)).token).toBe(3); // again after loss
        await store.releaseLease(id, 'a');
        expect((await store.claimLease(id, 'a', 1000, 2200)).token).toBe(4); // again after its own release
        expect((await store.getLease(id))?.token).toBe(4);
      });

      it('refuses an append or an enqueue with an older token, changing nothing', async () => {
        const { id } = await newSession();
        const old = (await store.claimLease(id, 'a', 1000, 0)).token;
        await store.appendEvents(id, [userMessage(id, 'hi')], old);
        await store.enqueue(id, queued('t2'), false, old);
        const current = (await store.claimLease(id, 'b', 1000, 5000)).token;
        expect(current).toBeGreaterThan(old);
        const before = { session: await store.getSession(id), events: await store.readEvents(id, 0, 100), queue: await store.listQueue(id) };

        // Both append paths: log-only (deltas) and projected (a turn's end), and the queue.
        await expect(store.appendEvents(id, [delta(id, 'late')], old)).rejects.toBeInstanceOf(FencedError);
        await expect(store.appendEvents(id, [complete(id)], old)).rejects.toBeInstanceOf(FencedError);
        await expect(store.enqueue(id, queued('t3'), true, old)).rejects.toBeInstanceOf(FencedError);

        expect(await store.getSession(id)).toEqual(before.session);
        expect(await store.readEvents(id, 0, 100)).toEqual(before.events);
        expect(await store.listQueue(id)).toEqual(before.queue);

        // The current holder's writes go through.
        const [stored] = await store.appendEvents(id, [complete(id)], current);
        expect(stored?.seq).toBe(before.session!.lastSeq + 1);
        await store.enqueue(id, queued('t4'), false, current);
        expect((await store.listQueue(id)).map((m) => m.turnId)).toEqual(['t2', 't4']);
      });
    });

    describe('usage', () => {
      it("counts a user's sessions and the bytes of their events, per user", async () => {
        const alice = uniqueId('u');
        const bob = uniqueId('u');
        expect(await store.getUsage(alice)).toEqual({ sessions: 0, storedBytes: 0 });
        const one = await newSession({ userId: alice });
        const two = await newSession({ userId: alice });
        await newSession({ userId: bob });
        expect(await store.getUsage(alice)).toEqual({ sessions: 2, storedBytes: 0 });
        expect(await store.getUsage(bob)).toEqual({ sessions: 1, storedBytes: 0 });

        // A batch with projections, then one of deltas only (PostgreSQL takes another path).
        const first = await store.appendEvents(one.id, [userMessage(one.id, 'x'.repeat(5000)), textComplete(one.id, 'é'.repeat(3000))]);
        const second = await store.appendEvents(two.id, ['a', 'b', 'c'].map((d) => delta(two.id, d.repeat(1000))));
        const stored = [...first, ...second];
        const { storedBytes } = await store.getUsage(alice);
        expect(storedBytes).toBeGreaterThan(5000 + 6000 + 3000);
        expectBytesNear(storedBytes, jsonBytes(stored), stored.length);
        expect(await store.getUsage(bob)).toEqual({ sessions: 1, storedBytes: 0 });

        // The session read carries its owner's usage when asked, and only then.
        expect((await store.getSession(one.id, { withUsage: true }))?.ownerUsage).toEqual({ sessions: 2, storedBytes });
        expect(await store.getSession(one.id, { withUsage: true })).toEqual({
          ...(await store.getSession(one.id)),
          ownerUsage: { sessions: 2, storedBytes },
        });
        expect(await store.getSession(one.id)).not.toHaveProperty('ownerUsage');
        expect(await store.getSession(uniqueId('absent'), { withUsage: true })).toBeNull();
      });

      it('frees exactly what a session counted when it is deleted', async () => {
        const userId = uniqueId('u');
        const kept = await newSession({ userId });
        const gone = await newSession({ userId });
        await store.appendEvents(kept.id, [userMessage(kept.id, 'kept'), delta(kept.id, 'k'.repeat(2000))]);
        const before = await store.getUsage(userId);
        await store.appendEvents(gone.id, [userMessage(gone.id, 'gone'), textComplete(gone.id, 'g'.repeat(4000))]);
        await store.appendEvents(gone.id, [delta(gone.id, 'more')]);
        expect((await store.getUsage(userId)).storedBytes).toBeGreaterThan(before.storedBytes + 4000);

        await store.deleteSession(gone.id);
        expect(await store.getUsage(userId)).toEqual({ sessions: 1, storedBytes: before.storedBytes });
        await store.deleteSession(gone.id); // twice frees nothing more
        await store.deleteSession(uniqueId('absent'));
        expect(await store.getUsage(userId)).toEqual({ sessions: 1, storedBytes: before.storedBytes });
        await store.deleteSession(kept.id);
        expect(await store.getUsage(userId)).toEqual({ sessions: 0, storedBytes: 0 });
      });

      it('refuses createSession past maxSessionsPerUser and writes nothing', async () => {
        const userId = uniqueId('u');
        const quota = { maxSessionsPerUser: 2 };
        const record = () => sessionRecord({ id: uniqueId('s'), userId });
        const [a, b, c] = [record(), record(), record()];
        expect(await store.createSession(a, quota)).toBe('created');
        expect(await store.createSession(b, quota)).toBe('created');
        expect(await store.createSession(c, quota)).toBe('over-quota');
        expect(await store.getSession(c.id)).toBeNull();
        expect((await store.listSessions(userId, 10)).map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
        expect(await store.getUsage(userId)).toEqual({ sessions: 2, storedBytes: 0 });

        // A taken id is refused without counting; another user is not bound by this one's count.
        expect(await store.createSession({ ...a, title: 'again' }, { maxSessionsPerUser: 5 })).toBe('exists');
        expect(await store.getUsage(userId)).toEqual({ sessions: 2, storedBytes: 0 });
        expect(await store.createSession(sessionRecord({ id: uniqueId('s'), userId: uniqueId('u') }), quota)).toBe('created');

        // 0 (or no bound given) bounds nothing; deleting makes room under the bound.
        expect(await store.createSession(c, { maxSessionsPerUser: 0 })).toBe('created');
        expect(await store.getUsage(userId)).toEqual({ sessions: 3, storedBytes: 0 });
        await store.deleteSession(a.id);
        await store.deleteSession(b.id);
        expect(await store.createSession(a, quota)).toBe('created');
        expect(await store.createSession(b, quota)).toBe('over-quota');
        expect(await store.getUsage(userId)).toEqual({ sessions: 2, storedBytes: 0 });
      });

      it('lets exactly maxSessionsPerUser of many concurrent creates through', async () => {
        const userId = uniqueId('u');
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, () => store.createSession(sessionRecord({ id: uniqueId('s'), userId }), { maxSessionsPerUser: 5 })),
        );
        expect(outcomes.filter((o) => o === 'created')).toHaveLength(5);
        expect(outcomes.filter((o) => o === 'over-quota')).toHaveLength(15);
        expect(await store.listSessions(userId, 100)).toHaveLength(5);
        expect(await store.getUsage(userId)).toEqual({ sessions: 5, storedBytes: 0 });
      });

      if (openLegacy) {
        it('back-fills usage when it opens a database from before usage accounting', async () => {
          const body = (e: SessionEvent) => `'${JSON.stringify(e)}'`;
          const events = {
            a1: [
              { ...userMessage('a1', 'hello there'), seq: 1 },
              { ...textComplete('a1', 'é'.repeat(500)), seq: 2 },
            ] as SessionEvent[],
            b1: [{ ...userMessage('b1', 'b'.repeat(1000)), seq: 1 }] as SessionEvent[],
          };
          const session = (id: string, userId: string, lastSeq: number) =>
            `('${id}', '${userId}', 'Old', 'demo', 'ASK', 'IDLE', ${lastSeq}, '${at(0)}', '${at(0)}')`;
          const seed = `
            INSERT INTO sessions (id, user_id, title, model, permission_mode, status, last_seq, created_at, updated_at)
            VALUES ${session('a1', 'alice', 2)}, ${session('a2', 'alice', 0)}, ${session('b1', 'bob', 1)};
            INSERT INTO events (session_id, seq, body) VALUES
              ('a1', 1, ${body(events.a1[0]!)}), ('a1', 2, ${body(events.a1[1]!)}), ('b1', 1, ${body(events.b1[0]!)});
          `;
          const legacy = await openLegacy(seed);
          try {
            const old = legacy.store;
            const alice = await old.getUsage('alice');
            const bob = await old.getUsage('bob');
            expect(alice.sessions).toBe(2);
            expect(bob.sessions).toBe(1);
            // A body kept as text counts as it is; PostgreSQL's JSONB prints a few bytes more.
            expect(alice.storedBytes).toBeGreaterThanOrEqual(jsonBytes(events.a1));
            expect(alice.storedBytes).toBeLessThanOrEqual(jsonBytes(events.a1) * 1.1);
            expect(bob.storedBytes).toBeGreaterThanOrEqual(jsonBytes(events.b1));
            expect(bob.storedBytes).toBeLessThanOrEqual(jsonBytes(events.b1) * 1.1);
            expect((await old.getSession('b1', { withUsage: true }))?.ownerUsage).toEqual(bob);

            // What existed counts as if it had been made here: deleting frees it, the bound sees it.
            await old.deleteSession('a1');
            expect(await old.getUsage('alice')).toEqual({ sessions: 1, storedBytes: 0 });
            const appended = await old.appendEvents('a2', [userMessage('a2', 'new')]);
            expectBytesNear((await old.getUsage('alice')).storedBytes, jsonBytes(appended), 1);
            expect(await old.createSession(sessionRecord({ id: 'a3', userId: 'alice' }), { maxSessionsPerUser: 2 })).toBe('created');
            expect(await old.createSession(sessionRecord({ id: 'a4', userId: 'alice' }), { maxSessionsPerUser: 2 })).toBe('over-quota');
            expect(await old.getUsage('bob')).toEqual(bob);
          } finally {
            await legacy.store.close();
            await legacy.dispose?.();
          }
        });
      }
    });

    describe('copies', () => {
      it('returns records the caller can mutate without changing the store', async () => {
        const session = await newSession();
        const { id, userId } = session;
        await store.enqueue(id, queued('t2'));
        const appended = await store.appendEvents(id, [
          userMessage(id, 'hi'),
          textComplete(id, 'hello'),
          toolStart(id, 'tu1', { toolInput: { path: 'a.txt' } }),
          permissionRequest(id, { requestId: 'r1' }),
        ]);
        await store.putClientMessage(id, 'c1', { turnId: 't1', queued: false });
        await store.putConfig(userId, { defaultModel: 'demo', permissionMode: 'ASK', theme: { colors: ['red'] } });
        const snapshot = async () => ({
          session: await store.getSession(id),
          list: await store.listSessions(userId, 10),
          events: await store.readEvents(id, 0, 100),
          messages: await store.listMessages(id),
          permission: await store.getPermission(id, 'r1'),
          permissions: await store.listPermissions(id),
          queue: await store.listQueue(id),
          clientMessage: await store.getClientMessage(id, 'c1'),
          config: await store.getConfig(userId),
        });
        const before = structuredClone(await snapshot());

        const got = await snapshot();
        got.session!.title = 'changed';
        got.list[0]!.status = 'RUNNING';
        for (const e of got.events) e.turnId = 'changed';
        (got.events[0] as { text: string }).text = 'changed';
        (got.events[2] as { toolInput: { path: string } }).toolInput.path = 'changed';
        got.messages[0]!.text = 'changed';
        got.messages[1]!.toolCalls[0]!.result = 'changed';
        (got.messages[1]!.toolCalls[0]!.input as { path: string }).path = 'changed';
        got.messages[1]!.toolCalls.push(got.messages[1]!.toolCalls[0]!);
        got.permission!.status = 'DENIED';
        got.permissions[0]!.request.toolName = 'changed';
        got.queue[0]!.text = 'changed';
        got.queue[0]!.attachments[0]!.name = 'changed';
        got.clientMessage!.queued = true;
        (got.config!.theme as { colors: string[] }).colors.push('blue');
        for (const e of appended) e.turnId = 'changed';
        (appended[0] as { text: string }).text = 'changed';

        expect(await snapshot()).toEqual(before);
      });

      it('keeps its own copies of what it is given', async () => {
        const record = sessionRecord({ id: uniqueId('s'), userId: uniqueId('u') });
        await store.createSession(record);
        const { id, userId } = record;
        const events = [userMessage(id, 'hi'), toolStart(id, 'tu1', { toolInput: { path: 'a.txt' } })];
        await store.appendEvents(id, events);
        const message = queued('t2');
        await store.enqueue(id, message);
        const clientMessage = { turnId: 't1', queued: false };
        await store.putClientMessage(id, 'c1', clientMessage);
        const config = { defaultModel: 'demo', permissionMode: 'ASK' as const, theme: { colors: ['red'] } };
        await store.putConfig(userId, config);

        record.title = 'changed';
        (events[0] as { text: string }).text = 'changed';
        (events[1] as { toolInput: { path: string } }).toolInput.path = 'changed';
        message.text = 'changed';
        message.attachments[0]!.name = 'changed';
        clientMessage.queued = true;
        config.theme.colors.push('blue');

        expect((await store.getSession(id))?.title).toBe('New session');
        expect(await store.readEvents(id, 0, 10)).toMatchObject([{ text: 'hi' }, { toolInput: { path: 'a.txt' } }]);
        expect((await store.listMessages(id))[1]?.toolCalls[0]?.input).toEqual({ path: 'a.txt' });
        expect(await store.listQueue(id)).toEqual([queued('t2')]);
        expect(await store.getClientMessage(id, 'c1')).toEqual({ turnId: 't1', queued: false });
        expect((await store.getConfig(userId))?.theme).toEqual({ colors: ['red'] });
      });
    });
  };
  if (requirement) describeWithService(requirement, title, suite);
  else describe(title, suite);
}
