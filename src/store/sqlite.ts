import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { NewSessionEvent, SessionEvent, SessionStatus } from '../events/types.js';
import { FencedError, isFenced } from './fenced.js';
import { projectionOf, userMessageOf, type ProjectionOp } from './projection.js';
import { takeWithin } from './read-cap.js';
import { toMessage, toSession, type MessageRow, type SessionRow } from './rows.js';
import { startCheckpointer, type Checkpointer } from './sqlite-checkpointer.js';
import { sqliteMigrations } from './sqlite-migrations.js';
import type {
  ClientMessageRecord,
  ConfigRecord,
  CreateSessionOutcome,
  LeaseRecord,
  MessageRecord,
  PermissionRecord,
  QueuedMessageRecord,
  SessionRecord,
  StartedTurn,
  Store,
  ToolCallRecord,
  TurnOutcome,
  TurnRequest,
  UsageRecord,
} from './types.js';

/** A user's usage as the queries read it: null for a user without sessions. */
interface UsageColumns {
  owner_sessions: number | null;
  owner_stored_bytes: number | null;
}

const toUsage = (r: UsageColumns): UsageRecord => ({ sessions: r.owner_sessions ?? 0, storedBytes: r.owner_stored_bytes ?? 0 });

/** A session's named parameters for the insert: exactly its columns. */
const sessionParams = (s: SessionRecord) => ({
  id: s.id,
  userId: s.userId,
  title: s.title,
  model: s.model,
  permissionMode: s.permissionMode,
  status: s.status,
  lastSeq: s.lastSeq,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});

export interface SqliteStoreOptions {
  /** Database file; its folder is created if missing. `:memory:` for a throwaway database. */
  path: string;
  /**
   * How long a write waits for another connection's lock before failing.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * WAL checkpoints run in a worker thread this often (ms), instead of inside the commit that
   * crosses SQLite's threshold on the server's thread. 0: SQLite's automatic checkpoint.
   * @default 250
   */
  checkpointIntervalMs?: number;
}

/** The store could not be opened: the message names the file and the reason, in one line. */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError';
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot open the store ${path}: ${reason}`, options);
  }
}

/**
 * The embedded default: one SQLite file in WAL mode. better-sqlite3 is synchronous, which
 * suits the write path: an append batch is one short transaction, with no interleaving to
 * reason about, and `appendEvents` stays atomic by construction. The server runs it on a
 * thread of its own (sqlite-thread.ts), so that those transactions do not hold the event loop.
 */
export function createSqliteStore({ path, busyTimeoutMs = 5000, checkpointIntervalMs = 250 }: SqliteStoreOptions): Store {
  const db = openSqliteDatabase(path, busyTimeoutMs);

  const q = {
    insertSession: db.prepare(
      `INSERT INTO sessions (id, user_id, title, model, permission_mode, status, last_seq, created_at, updated_at)
       VALUES (@id, @userId, @title, @model, @permissionMode, @status, @lastSeq, @createdAt, @updatedAt)
       ON CONFLICT (id) DO NOTHING`,
    ),
    getSession: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id = ?'),
    getSessionWithUsage: db.prepare<[string], SessionRow & UsageColumns>(
      `SELECT s.*, u.sessions AS owner_sessions,
         (SELECT SUM(o.stored_bytes) FROM sessions o WHERE o.user_id = s.user_id) AS owner_stored_bytes
       FROM sessions s LEFT JOIN user_usage u ON u.user_id = s.user_id WHERE s.id = ?`,
    ),
    getUsage: db.prepare<[{ userId: string }], UsageColumns>(
      `SELECT (SELECT sessions FROM user_usage WHERE user_id = @userId) AS owner_sessions,
         (SELECT SUM(stored_bytes) FROM sessions WHERE user_id = @userId) AS owner_stored_bytes`,
    ),
    ensureUsage: db.prepare<[string]>('INSERT INTO user_usage (user_id, sessions) VALUES (?, 0) ON CONFLICT DO NOTHING'),
    sessionCount: db.prepare<[string], { sessions: number }>('SELECT sessions FROM user_usage WHERE user_id = ?'),
    countSession: db.prepare<[string]>('UPDATE user_usage SET sessions = sessions + 1 WHERE user_id = ?'),
    // Before the session row goes (its bytes go with it).
    uncountSession: db.prepare<[string]>(
      'UPDATE user_usage SET sessions = sessions - 1 WHERE user_id = (SELECT user_id FROM sessions WHERE id = ?)',
    ),
    listSessions: db.prepare<[string, number], SessionRow>(
      'SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
    ),
    unsettled: db.prepare<[], SessionRow>(
      `SELECT * FROM sessions WHERE status <> 'IDLE'
         OR id IN (SELECT DISTINCT session_id FROM queue)`,
    ),
    setSessionState: db.prepare<[SessionStatus, number, string, number, string]>(
      'UPDATE sessions SET status = ?, last_seq = ?, updated_at = ?, stored_bytes = stored_bytes + ? WHERE id = ?',
    ),
    insertEvent: db.prepare<[string, number, string]>('INSERT INTO events (session_id, seq, body) VALUES (?, ?, ?)'),
    readEvents: db.prepare<[string, number, number], { body: string }>(
      'SELECT body FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    // Newest first, so that a cap stops at the oldest end; `before` unknown: no rows (NULL).
    listMessages: db.prepare<[{ sessionId: string; before: string | null; last: number }], MessageRow<string>>(
      `SELECT * FROM messages WHERE session_id = @sessionId
         AND (@before IS NULL OR position < (SELECT position FROM messages WHERE session_id = @sessionId AND id = @before))
       ORDER BY position DESC LIMIT @last`,
    ),
    lastMessage: db.prepare<[string], MessageRow<string>>(
      'SELECT * FROM messages WHERE session_id = ? ORDER BY position DESC LIMIT 1',
    ),
    insertMessage: db.prepare(
      `INSERT INTO messages (session_id, position, id, role, text, turn_id, created_at, tool_calls)
       VALUES (@sessionId, COALESCE((SELECT MAX(position) + 1 FROM messages WHERE session_id = @sessionId), 1),
               @id, @role, @text, @turnId, @createdAt, @toolCalls)`,
    ),
    messageWithTool: db.prepare<[string, string], MessageRow<string>>(
      `SELECT * FROM messages WHERE session_id = ? AND instr(tool_calls, ?) > 0 ORDER BY position DESC LIMIT 1`,
    ),
    setToolCalls: db.prepare<[string, string, number]>(
      'UPDATE messages SET tool_calls = ? WHERE session_id = ? AND position = ?',
    ),
    insertPermission: db.prepare(
      `INSERT INTO permissions (session_id, request_id, turn_id, status, request, created_seq)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    setPermissionStatus: db.prepare<[string, string, string]>(
      'UPDATE permissions SET status = ? WHERE session_id = ? AND request_id = ?',
    ),
    getPermission: db.prepare<[string, string], { request: string; turn_id: string | null; status: string }>(
      'SELECT request, turn_id, status FROM permissions WHERE session_id = ? AND request_id = ?',
    ),
    listPermissions: db.prepare<[string], { request: string; turn_id: string | null; status: string }>(
      'SELECT request, turn_id, status FROM permissions WHERE session_id = ? ORDER BY created_seq',
    ),
    addRule: db.prepare<[string, string]>('INSERT INTO permission_rules VALUES (?, ?) ON CONFLICT DO NOTHING'),
    hasRule: db.prepare<[string, string], { one: number }>(
      'SELECT 1 AS one FROM permission_rules WHERE session_id = ? AND tool_name = ?',
    ),
    enqueueBack: db.prepare<[string, string, string, string]>(
      `INSERT INTO queue (session_id, position, turn_id, message)
       VALUES (?, COALESCE((SELECT MAX(position) + 1 FROM queue WHERE session_id = ?), 0), ?, ?)`,
    ),
    enqueueFront: db.prepare<[string, string, string, string]>(
      `INSERT INTO queue (session_id, position, turn_id, message)
       VALUES (?, COALESCE((SELECT MIN(position) - 1 FROM queue WHERE session_id = ?), 0), ?, ?)`,
    ),
    listQueue: db.prepare<[string], { message: string }>(
      'SELECT message FROM queue WHERE session_id = ? ORDER BY position',
    ),
    // Attachments (megabytes each) stay in the database: json_remove runs inside SQLite.
    listQueueBare: db.prepare<[string], { message: string }>(
      `SELECT json_remove(message, '$.attachments') AS message FROM queue WHERE session_id = ? ORDER BY position`,
    ),
    queueLength: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM queue WHERE session_id = ?'),
    queueHead: db.prepare<[string], { message: string }>(
      'SELECT message FROM queue WHERE session_id = ? ORDER BY position LIMIT 1',
    ),
    clearQueue: db.prepare<[string]>('DELETE FROM queue WHERE session_id = ?'),
    dequeue: db.prepare<[string, string]>('DELETE FROM queue WHERE session_id = ? AND turn_id = ?'),
    getClientMessage: db.prepare<[string, string], { turn_id: string; queued: number }>(
      'SELECT turn_id, queued FROM client_messages WHERE session_id = ? AND client_message_id = ?',
    ),
    putClientMessage: db.prepare<[string, string, string, number]>(
      `INSERT INTO client_messages VALUES (?, ?, ?, ?)
       ON CONFLICT (session_id, client_message_id) DO UPDATE SET turn_id = excluded.turn_id, queued = excluded.queued`,
    ),
    claimLease: db.prepare<[{ sessionId: string; holder: string; now: number; ttlMs: number }], { holder: string; expires_at: number }>(
      `INSERT INTO leases (session_id, holder, expires_at) VALUES (@sessionId, @holder, @now + @ttlMs)
       ON CONFLICT (session_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at < @now
       RETURNING holder, expires_at`,
    ),
    getLease: db.prepare<[string], { holder: string; expires_at: number }>(
      'SELECT holder, expires_at FROM leases WHERE session_id = ?',
    ),
    releaseLease: db.prepare<[string, string]>('DELETE FROM leases WHERE session_id = ? AND holder = ?'),
    getFence: db.prepare<[string], { fence: number }>('SELECT fence FROM sessions WHERE id = ?'),
    bumpFence: db.prepare<[string]>('UPDATE sessions SET fence = fence + 1 WHERE id = ?'),
    getConfig: db.prepare<[string], { config: string }>('SELECT config FROM configs WHERE user_id = ?'),
    putConfig: db.prepare<[string, string]>(
      'INSERT INTO configs VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET config = excluded.config',
    ),
  };

  const deleteAll = ['events', 'messages', 'permissions', 'permission_rules', 'queue', 'client_messages', 'leases'].map((table) =>
    db.prepare<[string]>(`DELETE FROM ${table} WHERE session_id = ?`),
  );
  const deleteSessionRow = db.prepare<[string]>('DELETE FROM sessions WHERE id = ?');

  function apply(sessionId: string, seq: number, op: ProjectionOp, state: { status: SessionStatus }) {
    switch (op.op) {
      case 'status':
        state.status = op.status;
        return;
      case 'dequeue':
        q.dequeue.run(sessionId, op.turnId);
        return;
      case 'addMessage':
        insertMessage(sessionId, op.message);
        return;
      case 'addToolCall': {
        const last = q.lastMessage.get(sessionId);
        if (last && last.role === 'ASSISTANT' && last.turn_id === op.turnId) {
          const calls = JSON.parse(last.tool_calls) as ToolCallRecord[];
          calls.push(op.toolCall);
          q.setToolCalls.run(JSON.stringify(calls), sessionId, last.position);
        } else {
          insertMessage(sessionId, { ...op.newMessage, toolCalls: [op.toolCall] });
        }
        return;
      }
      case 'toolResult': {
        const row = q.messageWithTool.get(sessionId, JSON.stringify(op.toolUseId));
        if (!row) return;
        const calls = JSON.parse(row.tool_calls) as ToolCallRecord[];
        const call = calls.find((c) => c.toolUseId === op.toolUseId);
        if (!call) return;
        call.result = op.result;
        call.isError = op.isError;
        q.setToolCalls.run(JSON.stringify(calls), sessionId, row.position);
        return;
      }
      case 'addPermission':
        q.insertPermission.run(
          sessionId,
          op.permission.request.requestId,
          op.permission.turnId,
          op.permission.status,
          JSON.stringify(op.permission.request),
          seq,
        );
        return;
      case 'resolvePermission':
        q.setPermissionStatus.run(op.status, sessionId, op.requestId);
        return;
    }
  }

  function insertMessage(sessionId: string, m: MessageRecord) {
    q.insertMessage.run({
      sessionId,
      id: m.id,
      role: m.role,
      text: m.text,
      turnId: m.turnId,
      createdAt: m.createdAt,
      toolCalls: JSON.stringify(m.toolCalls),
    });
  }

  /** Inside a write's transaction: refuses it (FencedError) when the session's token is newer. */
  const checkFence = (sessionId: string, token: number | undefined) => {
    if (token !== undefined && isFenced(token, q.getFence.get(sessionId)?.fence ?? 0)) throw new FencedError(sessionId, token);
  };

  const claim = db.transaction((sessionId: string, holder: string, ttlMs: number, now: number): LeaseRecord => {
    const before = q.getLease.get(sessionId);
    // RETURNING yields nothing when the WHERE refused the update: the lease is someone else's.
    const granted = q.claimLease.get({ sessionId, holder, now, ttlMs });
    if (granted && before?.holder !== holder) q.bumpFence.run(sessionId);
    const row = granted ?? q.getLease.get(sessionId)!;
    return { holder: row.holder, expiresAt: row.expires_at, token: q.getFence.get(sessionId)?.fence ?? 0 };
  });

  type ClientMessage = { id: string; record: ClientMessageRecord };
  const enqueue = db.transaction((sessionId: string, message: QueuedMessageRecord, front: boolean, token: number | undefined, clientMessage?: ClientMessage) => {
    checkFence(sessionId, token);
    (front ? q.enqueueFront : q.enqueueBack).run(sessionId, sessionId, message.turnId, JSON.stringify(message));
    if (clientMessage) q.putClientMessage.run(sessionId, clientMessage.id, clientMessage.record.turnId, clientMessage.record.queued ? 1 : 0);
  });

  const append = db.transaction((sessionId: string, events: NewSessionEvent[], token?: number): SessionEvent[] => {
    const row = q.getSession.get(sessionId);
    if (!row) throw new Error(`appendEvents: no session ${sessionId}`);
    checkFence(sessionId, token);
    const state = { status: row.status };
    let seq = row.last_seq;
    let updatedAt = row.updated_at;
    let bytes = 0;
    const stored: SessionEvent[] = [];
    for (const e of events) {
      const event = { ...e, seq: ++seq } as SessionEvent;
      const body = JSON.stringify(event);
      bytes += Buffer.byteLength(body);
      q.insertEvent.run(sessionId, seq, body);
      for (const op of projectionOf(event)) apply(sessionId, seq, op, state);
      updatedAt = event.at;
      stored.push(event);
    }
    q.setSessionState.run(state.status, seq, updatedAt, bytes, sessionId);
    return stored;
  });

  const startTurn = db.transaction((sessionId: string, request: TurnRequest): TurnOutcome => {
    const row = q.getSessionWithUsage.get(sessionId);
    if (!row || (request.userId !== undefined && row.user_id !== request.userId)) return { outcome: 'not-found' };
    const m = request.message;
    if (m) {
      const first = m.clientMessageId != null ? q.getClientMessage.get(sessionId, m.clientMessageId) : undefined;
      if (first) return { outcome: 'duplicate', record: { turnId: first.turn_id, queued: first.queued === 1 }, session: toSession(row) };
      const usage = toUsage(row);
      if ((m.maxStoredBytes ?? 0) > 0 && usage.storedBytes > m.maxStoredBytes!) return { outcome: 'over-quota', usage };
      if (m.reject) return { outcome: 'rejected' };
      if ((m.maxQueued ?? 0) > 0 && q.queueLength.get(sessionId)!.n >= m.maxQueued!) return { outcome: 'queue-full' };
    }
    const start = request.start && !(request.onlyIfIdle && row.status !== 'IDLE');
    const queued = start && !m?.front ? q.queueHead.get(sessionId) : undefined;
    const head: QueuedMessageRecord | undefined = !start
      ? undefined
      : queued
        ? (JSON.parse(queued.message) as QueuedMessageRecord)
        : m?.record;
    if (!m && !head) return { outcome: 'done', record: null, started: null, session: toSession(row) };
    checkFence(sessionId, request.token);
    let record: ClientMessageRecord | null = null;
    if (m) {
      record = { turnId: m.record.turnId, queued: !m.front && head?.turnId !== m.record.turnId };
      enqueue(sessionId, m.record, m.front, undefined, m.clientMessageId != null ? { id: m.clientMessageId, record } : undefined);
    }
    let started: StartedTurn | null = null;
    if (head) {
      const history = q.listMessages.all({ sessionId, before: null, last: -1 }).reverse().map(toMessage);
      const [event] = append(sessionId, [userMessageOf(sessionId, head, request.at)], undefined);
      started = { event: event!, message: head, history };
    }
    return { outcome: 'done', record, started, session: toSession(q.getSession.get(sessionId)!) };
  });

  const create = db.transaction((session: SessionRecord, maxSessions: number): CreateSessionOutcome => {
    q.ensureUsage.run(session.userId);
    const { sessions } = q.sessionCount.get(session.userId)!;
    if (maxSessions > 0 && sessions >= maxSessions) return 'over-quota';
    if (q.insertSession.run(sessionParams(session)).changes === 0) return 'exists';
    q.countSession.run(session.userId);
    return 'created';
  });

  const removeSession = db.transaction((id: string) => {
    q.uncountSession.run(id);
    for (const statement of deleteAll) statement.run(id);
    deleteSessionRow.run(id);
  });

  const toPermission = (r: { request: string; turn_id: string | null; status: string }): PermissionRecord => ({
    request: JSON.parse(r.request) as PermissionRecord['request'],
    turnId: r.turn_id,
    status: r.status as PermissionRecord['status'],
  });

  let closed = false;
  let checkpointer: Checkpointer | null = null;
  if (path !== ':memory:' && checkpointIntervalMs > 0) {
    const started = startCheckpointer(path, checkpointIntervalMs, () => {
      // Without the worker, SQLite checkpoints on its own again (its default threshold).
      if (!closed) db.pragma('wal_autocheckpoint = 1000');
    });
    checkpointer = started.checkpointer;
    started.ready.then(
      () => void (closed || db.pragma('wal_autocheckpoint = 0')),
      () => {},
    );
  }
  return {
    shared: false,
    async createSession(session, options) {
      return create(session, options?.maxSessionsPerUser ?? 0);
    },
    async getSession(id, options) {
      if (!options?.withUsage) {
        const row = q.getSession.get(id);
        return row ? toSession(row) : null;
      }
      const row = q.getSessionWithUsage.get(id);
      return row ? { ...toSession(row), ownerUsage: toUsage(row) } : null;
    },
    async getUsage(userId) {
      return toUsage(q.getUsage.get({ userId })!);
    },
    async listSessions(userId, limit) {
      return q.listSessions.all(userId, limit).map(toSession);
    },
    async deleteSession(id) {
      removeSession(id);
    },
    async listUnsettledSessions() {
      return q.unsettled.all().map(toSession);
    },
    async appendEvents(sessionId, events, token) {
      return append(sessionId, events, token);
    },
    async readEvents(sessionId, after, limit, cap) {
      const rows = capped(q.readEvents, [sessionId, after, limit], (r) => r.body.length, cap?.maxBytes);
      return rows.map((r) => JSON.parse(r.body) as SessionEvent);
    },
    async listMessages(sessionId, page = {}) {
      const args = [{ sessionId, before: page.before ?? null, last: page.last ?? -1 }] as const;
      return capped(q.listMessages, args, (r) => r.text.length + r.tool_calls.length, page.maxBytes).reverse().map(toMessage);
    },
    async getPermission(sessionId, requestId) {
      const row = q.getPermission.get(sessionId, requestId);
      return row ? toPermission(row) : null;
    },
    async listPermissions(sessionId, status) {
      const all = q.listPermissions.all(sessionId).map(toPermission);
      return status ? all.filter((p) => p.status === status) : all;
    },
    async addPermissionRule(sessionId, toolName) {
      q.addRule.run(sessionId, toolName);
    },
    async hasPermissionRule(sessionId, toolName) {
      return q.hasRule.get(sessionId, toolName) !== undefined;
    },
    async enqueue(sessionId, message: QueuedMessageRecord, front = false, token, clientMessage) {
      enqueue(sessionId, message, front, token, clientMessage);
    },
    async startTurn(sessionId, request) {
      return startTurn(sessionId, request);
    },
    async listQueue(sessionId, view = {}) {
      const bare = view.attachments === false;
      const rows = capped(bare ? q.listQueueBare : q.listQueue, [sessionId], (r) => r.message.length, view.maxBytes);
      return rows.map((r) => {
        const message = JSON.parse(r.message) as QueuedMessageRecord;
        return bare ? { ...message, attachments: [] } : message;
      });
    },
    async clearQueue(sessionId) {
      q.clearQueue.run(sessionId);
    },
    async getClientMessage(sessionId, clientMessageId) {
      const row = q.getClientMessage.get(sessionId, clientMessageId);
      return row ? { turnId: row.turn_id, queued: row.queued === 1 } : null;
    },
    async putClientMessage(sessionId, clientMessageId, record) {
      q.putClientMessage.run(sessionId, clientMessageId, record.turnId, record.queued ? 1 : 0);
    },
    async getConfig(userId) {
      const row = q.getConfig.get(userId);
      return row ? (JSON.parse(row.config) as ConfigRecord) : null;
    },
    async putConfig(userId, config) {
      q.putConfig.run(userId, JSON.stringify(config));
    },
    async claimLease(sessionId, holder, ttlMs, now) {
      return claim(sessionId, holder, ttlMs, now);
    },
    async releaseLease(sessionId, holder) {
      q.releaseLease.run(sessionId, holder);
    },
    async getLease(sessionId) {
      const row = q.getLease.get(sessionId);
      return row ? { holder: row.holder, expiresAt: row.expires_at, token: q.getFence.get(sessionId)?.fence ?? 0 } : null;
    },
    async ping() {
      if (closed) return false;
      try {
        db.prepare('SELECT 1').get();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await checkpointer?.stop();
      db.close(); // checkpoints what is left and removes the WAL
    },
  };
}

/**
 * A statement's rows: all of them (`all()`: the fastest way), or with `maxBytes` stepped
 * through one by one and stopped, with ReadCapExceeded, at the row that passes it.
 */
function capped<P extends unknown[], R>(
  statement: Database.Statement<P, R>,
  args: Readonly<P>,
  size: (row: R) => number,
  maxBytes: number | undefined,
): R[] {
  if (maxBytes === undefined) return statement.all(...(args as P));
  return takeWithin(statement.iterate(...(args as P)), size, maxBytes);
}

/**
 * better-sqlite3, loaded with the first database opened rather than with this module: every
 * app imports this module for its default store (app.ts), and a process on PostgreSQL, which
 * opens no SQLite file, must not load the native driver. Loaded as an import would be, outside
 * StoreOpenError: a driver that cannot load is no fault of the store's file.
 */
let driver: typeof Database | undefined;
const sqliteDriver = () => (driver ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database);

/**
 * Opens (creating it and its folder if missing) and migrates the database; a file that is
 * not a database, an unwritable folder and the like throw StoreOpenError.
 */
export function openSqliteDatabase(path: string, busyTimeoutMs = 5000): Database.Database {
  const Driver = sqliteDriver();
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:') makeFolder(dirname(path));
    db = new Driver(path, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a process crash; only an OS crash may lose the last ones.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // After a checkpoint lets the WAL start over, a file grown by a burst is cut back to this.
    db.pragma('journal_size_limit = 67108864');
    migrate(db);
    return db;
  } catch (error) {
    db?.close();
    const reason = (error as Error).message.split('\n')[0] ?? 'unknown error';
    throw new StoreOpenError(path, reason, { cause: error });
  }
}

/**
 * mkdir -p, one level at a time from the nearest folder that exists. Node 20's own recursive
 * mkdir never returns for a path it cannot make under some parents (/proc/anything).
 */
function makeFolder(folder: string) {
  const missing: string[] = [];
  for (let f = folder; !existsSync(f) && dirname(f) !== f; f = dirname(f)) missing.unshift(f);
  for (const f of missing) mkdirSync(f);
}

function migrate(db: Database.Database) {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const applied = new Set(
    db.prepare<[], { version: number }>('SELECT version FROM schema_migrations').all().map((r) => r.version),
  );
  for (const migration of sqliteMigrations) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(migration.version, new Date().toISOString());
    })();
  }
}
