import pg from 'pg';
import { logError } from '../observability/error-sink.js';
import { SwitchboardError } from '../errors.js';
import type { NewSessionEvent, SessionEvent, SessionStatus } from '../events/types.js';
import { postgresMigrations } from './postgres-migrations.js';
import { projectionOf, userMessageOf, type ProjectionOp } from './projection.js';
import { FencedError, isFenced } from './fenced.js';
import { ReadCapExceeded } from './read-cap.js';
import { toMessage, toSession, type MessageRow, type SessionRow } from './rows.js';
import type {
  ClientMessageRecord,
  ConfigRecord,
  CreateSessionOutcome,
  LeaseRecord,
  MessageRecord,
  PermissionRecord,
  QueuedMessageRecord,
  Store,
  ToolCallRecord,
  TurnOutcome,
  TurnRequest,
  UsageRecord,
} from './types.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`, as `DATABASE_URL` gives it. */
  connectionString: string;
  pool?: {
    /**
     * Most connections this instance opens.
     * @default 10
     */
    max?: number;
    /**
     * How long an idle connection is kept before it is closed.
     * @default 10000
     */
    idleTimeoutMs?: number;
  };
  /**
   * How long to wait for a connection (a new one, or a free one from a busy pool) before
   * the operation fails.
   * @default 5000
   */
  connectionTimeoutMs?: number;
  /**
   * How long one statement may run before the server cancels it; a query whose answer does
   * not come back within this plus a few seconds (a dead link) fails on the client side.
   * Also how long a connection may sit idle inside a transaction before the server ends it,
   * so that a stuck instance cannot hold a session's row lock for ever.
   * @default 30000
   */
  statementTimeoutMs?: number;
  /**
   * How long the client waits for a query's answer before it fails it and drops the
   * connection: what bounds a query on a link that went silent (nothing closed).
   * @default statementTimeoutMs + 5000
   */
  queryTimeoutMs?: number;
  /**
   * Idle time before TCP keepalive probes a pooled connection.
   * @default 0 (the system's)
   */
  keepAliveInitialDelayMs?: number;
  /**
   * How long `ping()` waits for `SELECT 1` before it answers false.
   * @default 2000
   */
  pingTimeoutMs?: number;
  /**
   * Told about errors that concern no caller: a pooled connection lost while idle (a server
   * restart kills them all). The pool replaces lost connections by itself on the next query,
   * so these are for logging. A throwing hook is ignored.
   * @default logged at `error`
   */
  onError?: (error: Error) => void;
}

/** The PostgreSQL store could not be opened: the message names the server (no password) and the reason. */
export class PostgresStoreOpenError extends Error {
  override name = 'PostgresStoreOpenError';
  constructor(
    readonly target: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot open the PostgreSQL store ${target}: ${reason}`, options);
  }
}

/** Serializes migrations of every instance starting against the same database. */
const MIGRATION_LOCK_KEY = 0x53_57_42_44; // "SWBD"

interface PermissionRow {
  request: PermissionRecord['request'];
  turn_id: string | null;
  status: PermissionRecord['status'];
}

/** BIGINT arrives as a string (it may exceed 2^53); ms timestamps do not. */
interface LeaseRow {
  holder: string;
  expires_at: string;
  fence: string | null;
}

type Queryable = pg.Pool | pg.PoolClient;

/**
 * PostgreSQL holds neither U+0000 (in TEXT or JSONB) nor, in JSONB, a lone UTF-16 surrogate,
 * yet tool output (a binary file read as text) or user input may carry them. Rather than
 * failing the append, and the turn with it, they are stored as U+FFFD; what appendEvents
 * returns (and so what is published) is what was stored.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;
/** JSON text for a JSONB parameter (see UNSTORABLE_ESCAPE). */
const toJson = (value: unknown) => JSON.stringify(value).replace(UNSTORABLE_ESCAPE, '$1\\ufffd');
const storable = (value: unknown) =>
  typeof value === 'string' && value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;

/** One statement; text parameters are made storable (JSON ones come from toJson). */
const run = <R extends pg.QueryResultRow = pg.QueryResultRow>(db: Queryable, text: string, values: unknown[] = []) =>
  db.query<R>(text, values.map(storable));

const LEASE_QUERY = 'SELECT holder, expires_at, (SELECT fence FROM sessions WHERE id = $1) AS fence FROM leases WHERE session_id = $1';
const SESSION_COLUMNS = 'id, user_id, title, model, permission_mode, status, last_seq, created_at, updated_at';
/** The same, of `sessions s` in a join. */
const SESSION_COLUMNS_OF_S = SESSION_COLUMNS.split(', ')
  .map((column) => `s.${column}`)
  .join(', ');

/** A user's usage as the queries read it: null for a user without sessions; SUM(BIGINT) arrives as a string. */
interface UsageColumns {
  owner_sessions: number | null;
  owner_stored_bytes: string | null;
}

const toUsage = (r: UsageColumns): UsageRecord => ({ sessions: r.owner_sessions ?? 0, storedBytes: Number(r.owner_stored_bytes ?? 0) });

/**
 * A read capped in SQL. `rows` selects the `columns`, each row's `size` in bytes and the
 * columns of `order` (an index order: the scan stops at `limit` rows, NULL: all), with a
 * running `total` of the sizes, up to the first row that takes it past `maxBytes` (NULL: no
 * cap). That row crosses the wire without its columns (NULL), so that checkCap sees the cap
 * was crossed: nothing past the cap reaches this process. (The result is ordered by `total`,
 * which grows with every row: `order`'s columns are NULL in that last row.)
 */
function capped(columns: string[], rows: string, order: string, limit: string, maxBytes: string): string {
  const within = `(${maxBytes}::bigint IS NULL OR total <= ${maxBytes})`;
  return `SELECT ${columns.map((c) => `CASE WHEN ${within} THEN ${c} END AS ${c}`).join(', ')}, total FROM (
      SELECT *, sum(size) OVER (ORDER BY ${order}) AS total FROM (${rows} ORDER BY ${order} LIMIT ${limit}) r
    ) c WHERE ${maxBytes}::bigint IS NULL OR total - size <= ${maxBytes} ORDER BY total`;
}

/** The rows of a `capped` read; ReadCapExceeded if the last one took the total past the cap. */
function checkCap<R extends { total: string }>(rows: R[], maxBytes: number | undefined): R[] {
  if (maxBytes !== undefined && rows.length > 0 && Number(rows.at(-1)!.total) > maxBytes) throw new ReadCapExceeded(maxBytes);
  return rows;
}

const toPermission = (r: PermissionRow): PermissionRecord => ({ request: r.request, turnId: r.turn_id, status: r.status });

const toLease = (r: LeaseRow): LeaseRecord => ({ holder: r.holder, expiresAt: Number(r.expires_at), token: Number(r.fence ?? 0) });

/** A connection string fit for a log line: the password is dropped. */
function describeTarget(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    url.password = '';
    return url.toString();
  } catch {
    return 'PostgreSQL';
  }
}

/**
 * The shared store for several instances: every instance appends through the same
 * PostgreSQL database, which arbitrates seqs (the session row is locked for the length of
 * an append, and `(session_id, seq)` is the primary key of the log).
 *
 * Connects, applies pending migrations and resolves once the store is usable. pg values
 * come back as fresh objects on every query (JSONB is parsed per row), so callers may
 * mutate what they get.
 *
 * @example
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL! });
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const {
    connectionString,
    pool: poolOptions = {},
    connectionTimeoutMs = 5000,
    statementTimeoutMs = 30_000,
    queryTimeoutMs = statementTimeoutMs + 5000,
    keepAliveInitialDelayMs = 0,
    pingTimeoutMs = 2000,
    onError = logError,
  } = options;

  const report = (error: unknown) => {
    try {
      onError(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // A logging hook must not turn a lost idle connection into a crash.
    }
  };

  const pool = new pg.Pool({
    connectionString,
    max: poolOptions.max ?? 10,
    idleTimeoutMillis: poolOptions.idleTimeoutMs ?? 10_000,
    connectionTimeoutMillis: connectionTimeoutMs,
    statement_timeout: statementTimeoutMs,
    // The server-side timeout cancels cleanly; this one only catches a link that went silent.
    query_timeout: queryTimeoutMs,
    idle_in_transaction_session_timeout: statementTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: keepAliveInitialDelayMs,
    application_name: 'switchboard',
  });
  // Without a listener, an idle connection killed by a server restart would crash the
  // process ('error' on an EventEmitter). The pool has already dropped the client, and new
  // queries open fresh connections once the server is back.
  pool.on('error', (error) => report(new Error(`idle connection lost: ${error.message}`, { cause: error })));

  async function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    // A checked-out client has no pool listener: the connection dying mid-transaction must
    // not crash the process. The pending (or next) query rejects with the same error.
    const ignore = () => {};
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that cannot even roll back is discarded rather than reused.
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.off('error', ignore);
      client.release(broken);
    }
  }

  try {
    await migrate(transaction);
  } catch (error) {
    await pool.end().catch(() => {});
    const reason = (error as Error).message.split('\n')[0] || 'unknown error';
    throw new PostgresStoreOpenError(describeTarget(connectionString), reason, { cause: error });
  }

  const query = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
    (await run<R>(pool, text, values)).rows;

  async function insertMessage(client: pg.PoolClient, sessionId: string, m: MessageRecord) {
    await run(
      client,
      `INSERT INTO messages (session_id, position, id, role, text, turn_id, created_at, tool_calls)
       VALUES ($1, COALESCE((SELECT MAX(position) + 1 FROM messages WHERE session_id = $1), 1), $2, $3, $4, $5, $6, $7)`,
      [sessionId, m.id, m.role, m.text, m.turnId, m.createdAt, toJson(m.toolCalls)],
    );
  }

  /** Applies one projection op; `state` collects what the final session update writes. */
  async function apply(
    client: pg.PoolClient,
    sessionId: string,
    seq: number,
    op: ProjectionOp,
    state: { status: SessionStatus },
  ) {
    switch (op.op) {
      case 'status':
        state.status = op.status;
        return;
      case 'dequeue':
        await run(client, 'DELETE FROM queue WHERE session_id = $1 AND turn_id = $2', [sessionId, op.turnId]);
        return;
      case 'addMessage':
        await insertMessage(client, sessionId, op.message);
        return;
      case 'addToolCall': {
        const { rows } = await run<MessageRow<ToolCallRecord[]>>(
          client,
          'SELECT position, role, turn_id, tool_calls FROM messages WHERE session_id = $1 ORDER BY position DESC LIMIT 1',
          [sessionId],
        );
        const last = rows[0];
        if (last && last.role === 'ASSISTANT' && last.turn_id === op.turnId) {
          await run(
            client,
            'UPDATE messages SET tool_calls = tool_calls || $1::jsonb WHERE session_id = $2 AND position = $3',
            [toJson([op.toolCall]), sessionId, last.position],
          );
        } else {
          await insertMessage(client, sessionId, { ...op.newMessage, toolCalls: [op.toolCall] });
        }
        return;
      }
      case 'toolResult': {
        // Newest message holding the call; containment keeps the match exact (no substring hits).
        const { rows } = await run<MessageRow<ToolCallRecord[]>>(
          client,
          `SELECT position, tool_calls FROM messages WHERE session_id = $1 AND tool_calls @> $2::jsonb
           ORDER BY position DESC LIMIT 1`,
          [sessionId, toJson([{ toolUseId: op.toolUseId }])],
        );
        const row = rows[0];
        const call = row?.tool_calls.find((c) => c.toolUseId === op.toolUseId);
        if (!row || !call) return;
        call.result = op.result;
        call.isError = op.isError;
        await run(client, 'UPDATE messages SET tool_calls = $1::jsonb WHERE session_id = $2 AND position = $3', [
          toJson(row.tool_calls),
          sessionId,
          row.position,
        ]);
        return;
      }
      case 'addPermission':
        await run(
          client,
          `INSERT INTO permissions (session_id, request_id, turn_id, status, request, created_seq)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [
            sessionId,
            op.permission.request.requestId,
            op.permission.turnId,
            op.permission.status,
            toJson(op.permission.request),
            seq,
          ],
        );
        return;
      case 'resolvePermission':
        await run(client, 'UPDATE permissions SET status = $1 WHERE session_id = $2 AND request_id = $3', [
          op.status,
          sessionId,
          op.requestId,
        ]);
        return;
    }
  }

  /**
   * Appends events that project to nothing. The UPDATE takes the same row lock as
   * appendProjected and, under READ COMMITTED, re-reads last_seq once a concurrent append
   * commits, so the seqs it hands out follow that append's; the whole batch is one statement,
   * hence atomic.
   */
  async function appendLogOnly(sessionId: string, events: NewSessionEvent[], token: number | undefined): Promise<SessionEvent[]> {
    const json = toJson(events);
    // The batch's JSON stands for its bodies (which add their seqs): a few bytes per event apart.
    const bytes = Buffer.byteLength(json);
    const { rows } = await run<{ base: number }>(
      pool,
      `WITH s AS (
         UPDATE sessions SET last_seq = last_seq + $2, updated_at = $3, stored_bytes = stored_bytes + $5
         WHERE id = $1 AND ($6::bigint IS NULL OR fence <= $6::bigint) RETURNING last_seq - $2 AS base
       ), inserted AS (
         INSERT INTO events (session_id, seq, body)
         SELECT $1, s.base + e.ord, e.value || jsonb_build_object('seq', s.base + e.ord)
         FROM s, jsonb_array_elements($4::jsonb) WITH ORDINALITY AS e (value, ord)
       )
       SELECT base FROM s`,
      [sessionId, events.length, events.at(-1)!.at, json, bytes, token ?? null],
    );
    const base = rows[0]?.base;
    if (base === undefined) {
      // Nothing was written; say why (the fence only grows, so a refusal stays one).
      const [row] = await query<{ fence: string }>('SELECT fence FROM sessions WHERE id = $1', [sessionId]);
      if (row) throw new FencedError(sessionId, token!);
      throw new Error(`appendEvents: no session ${sessionId}`);
    }
    // Returned as they read back: fresh objects, nothing shared with the caller's.
    return (JSON.parse(json) as NewSessionEvent[]).map((e, i) => ({ ...e, seq: base + i + 1 }) as SessionEvent);
  }

  /** Appends events with projection ops: one transaction holding the session row. */
  async function appendProjected(sessionId: string, events: NewSessionEvent[], token: number | undefined): Promise<SessionEvent[]> {
    return transaction(async (client) => {
      // The row lock serializes appends to one session across every instance; NO KEY
      // UPDATE (not UPDATE) so that writers that only need the session to exist (rules,
      // client messages) do not queue behind a streaming turn.
      const { rows } = await run<Pick<SessionRow, 'last_seq' | 'status' | 'updated_at'> & { fence: string }>(
        client,
        'SELECT last_seq, status, updated_at, fence FROM sessions WHERE id = $1 FOR NO KEY UPDATE',
        [sessionId],
      );
      const row = rows[0];
      if (!row) throw new Error(`appendEvents: no session ${sessionId}`);
      // Checked under the row lock: a takeover's grant (claimLease) bumps the fence on this
      // row, so it cannot slip in between this check and the commit.
      if (isFenced(token, Number(row.fence))) throw new FencedError(sessionId, token!);

      const state = { status: row.status };
      let seq = row.last_seq;
      const bodies: string[] = [];
      let bytes = 0;
      for (const e of events) {
        const body = toJson({ ...e, seq: ++seq });
        bodies.push(body);
        bytes += Buffer.byteLength(body);
        // Ops see the event exactly as it is stored and read back.
        const event = JSON.parse(body) as SessionEvent;
        for (const op of projectionOf(event)) await apply(client, sessionId, seq, op, state);
      }
      // One statement for the whole batch: the events, then the session's new state.
      await run(
        client,
        `WITH inserted AS (
           INSERT INTO events (session_id, seq, body)
           SELECT $1, (e->>'seq')::int, e FROM jsonb_array_elements($2::jsonb) AS e
         )
         UPDATE sessions SET status = $3, last_seq = $4, updated_at = $5, stored_bytes = stored_bytes + $6 WHERE id = $1`,
        [sessionId, `[${bodies.join(',')}]`, state.status, seq, events.at(-1)!.at, bytes],
      );
      return bodies.map((body) => JSON.parse(body) as SessionEvent);
    });
  }

  /**
   * Store.startTurn: one transaction of two statements. The first locks the session row (as
   * appends lock it: queue positions, seqs and the fence check cannot race) and reads all the
   * checks need: owner's usage, the idempotency record, the queue's length and head, and the
   * history. The second writes everything: the message and its record, and the USER_MESSAGE
   * with its projection (projection.ts's ops for it, in SQL).
   */
  async function startTurn(sessionId: string, request: TurnRequest): Promise<TurnOutcome> {
    return transaction(async (client): Promise<TurnOutcome> => {
      type Row = SessionRow &
        UsageColumns & {
          fence: string;
          client_turn_id: string | null;
          client_queued: boolean | null;
          queue_length: string;
          head: QueuedMessageRecord | null;
          history: MessageRow<ToolCallRecord[]>[] | null;
        };
      const { rows } = await run<Row>(
        client,
        `SELECT ${SESSION_COLUMNS_OF_S}, s.fence, u.sessions AS owner_sessions,
           (SELECT SUM(o.stored_bytes) FROM sessions o WHERE o.user_id = s.user_id) AS owner_stored_bytes,
           c.turn_id AS client_turn_id, c.queued AS client_queued,
           (SELECT COUNT(*) FROM queue WHERE session_id = s.id) AS queue_length,
           CASE WHEN $3::boolean THEN (SELECT message FROM queue WHERE session_id = s.id ORDER BY position LIMIT 1) END AS head,
           CASE WHEN $3::boolean THEN (SELECT json_agg(m ORDER BY m.position) FROM messages m WHERE m.session_id = s.id) END AS history
         FROM sessions s LEFT JOIN user_usage u ON u.user_id = s.user_id
           LEFT JOIN client_messages c ON c.session_id = s.id AND c.client_message_id = $2
         WHERE s.id = $1 FOR NO KEY UPDATE OF s`,
        [sessionId, request.message?.clientMessageId ?? null, request.start],
      );
      const row = rows[0];
      if (!row || (request.userId !== undefined && row.user_id !== request.userId)) return { outcome: 'not-found' };
      const m = request.message;
      if (m) {
        if (row.client_turn_id !== null) {
          return { outcome: 'duplicate', record: { turnId: row.client_turn_id, queued: row.client_queued === true }, session: toSession(row) };
        }
        const usage = toUsage(row);
        if ((m.maxStoredBytes ?? 0) > 0 && usage.storedBytes > m.maxStoredBytes!) return { outcome: 'over-quota', usage };
        if (m.reject) return { outcome: 'rejected' };
        if ((m.maxQueued ?? 0) > 0 && Number(row.queue_length) >= m.maxQueued!) return { outcome: 'queue-full' };
      }
      const start = request.start && !(request.onlyIfIdle && row.status !== 'IDLE');
      const head = !start ? undefined : m?.front ? m.record : (row.head ?? m?.record);
      if (!m && !head) return { outcome: 'done', record: null, started: null, session: toSession(row) };
      if (isFenced(request.token, Number(row.fence))) throw new FencedError(sessionId, request.token!);

      const record: ClientMessageRecord | null = m ? { turnId: m.record.turnId, queued: !m.front && head?.turnId !== m.record.turnId } : null;
      // A message that starts at once never needs a queue row: inserting and dequeuing it would
      // leave the same state (and, in one statement, the DELETE would not see the INSERT's row).
      const enqueued = m && head !== m.record ? m.record : null;
      let event: SessionEvent | null = null;
      let body: string | null = null;
      let bytes = 0;
      const projected: { status: SessionStatus; dequeue: string | null; message: MessageRecord | null } = { status: row.status, dequeue: null, message: null };
      if (head) {
        body = toJson({ ...userMessageOf(sessionId, head, request.at), seq: row.last_seq + 1 });
        bytes = Buffer.byteLength(body);
        event = JSON.parse(body) as SessionEvent;
        for (const op of projectionOf(event)) {
          if (op.op === 'status') projected.status = op.status;
          else if (op.op === 'dequeue') projected.dequeue = op.turnId;
          else if (op.op === 'addMessage') projected.message = op.message;
          else throw new Error(`startTurn: a USER_MESSAGE projects to ${op.op}, which this statement does not write`);
        }
      }
      const added = projected.message;
      const next = m?.front ? 'MIN(position) - 1' : 'MAX(position) + 1';
      await run(
        client,
        `WITH queued AS (
           INSERT INTO queue (session_id, position, turn_id, message)
           SELECT $1, COALESCE((SELECT ${next} FROM queue WHERE session_id = $1), 0), $2::text, $3::jsonb WHERE $3::jsonb IS NOT NULL
         ), recorded AS (
           INSERT INTO client_messages (session_id, client_message_id, turn_id, queued)
           SELECT $1, $4::text, $2::text, $5::boolean WHERE $4::text IS NOT NULL
           ON CONFLICT (session_id, client_message_id) DO UPDATE SET turn_id = excluded.turn_id, queued = excluded.queued
         ), dequeued AS (
           DELETE FROM queue WHERE session_id = $1 AND turn_id = $6::text
         ), added AS (
           INSERT INTO messages (session_id, position, id, role, text, turn_id, created_at, tool_calls)
           SELECT $1, COALESCE((SELECT MAX(position) + 1 FROM messages WHERE session_id = $1), 1),
             $7::text, $8::text, $9::text, $10::text, $11::text, $12::jsonb
           WHERE $7::text IS NOT NULL
         ), appended AS (
           INSERT INTO events (session_id, seq, body) SELECT $1, $13::int, $14::jsonb WHERE $14::jsonb IS NOT NULL
         )
         UPDATE sessions SET status = $15::text, last_seq = $13::int, updated_at = $16::text, stored_bytes = stored_bytes + $17::bigint
         WHERE id = $1 AND $14::jsonb IS NOT NULL`,
        [
          sessionId,
          m?.record.turnId ?? null,
          enqueued ? toJson(enqueued) : null,
          m?.clientMessageId ?? null,
          record?.queued ?? null,
          projected.dequeue,
          added?.id ?? null,
          added?.role ?? null,
          added?.text ?? null,
          added?.turnId ?? null,
          added?.createdAt ?? null,
          added ? toJson(added.toolCalls) : null,
          event?.seq ?? null,
          body,
          projected.status,
          event?.at ?? null,
          bytes,
        ],
      );
      const session = toSession(row);
      if (!event || !head) return { outcome: 'done', record, started: null, session };
      return {
        outcome: 'done',
        record,
        started: { event, message: head, history: (row.history ?? []).map(toMessage) },
        session: { ...session, status: projected.status, lastSeq: event.seq, updatedAt: event.at },
      };
    });
  }

  let closed = false;
  return reportUnavailable({
    // Several instances share one database: leases and seqs are arbitrated here.
    shared: true,
    async createSession(s, options) {
      const max = options?.maxSessionsPerUser ?? 0;
      return transaction(async (client): Promise<CreateSessionOutcome> => {
        // Counting the session takes the owner's usage row lock (DO UPDATE locks the row even
        // when its WHERE refuses): a createSession of the same user on any instance waits for
        // this one to commit, then checks the bound against the count it left.
        const { rows } = await run<{ counted: boolean; created: boolean }>(
          client,
          `WITH counted AS (
             INSERT INTO user_usage AS u (user_id, sessions) VALUES ($2, 1)
             ON CONFLICT (user_id) DO UPDATE SET sessions = u.sessions + 1 WHERE $10::int = 0 OR u.sessions < $10::int
             RETURNING 1
           ), created AS (
             INSERT INTO sessions (id, user_id, title, model, permission_mode, status, last_seq, created_at, updated_at)
             SELECT $1, $2, $3, $4, $5, $6, $7::int, $8, $9 FROM counted
             ON CONFLICT (id) DO NOTHING
             RETURNING 1
           )
           SELECT EXISTS (SELECT 1 FROM counted) AS counted, EXISTS (SELECT 1 FROM created) AS created`,
          [s.id, s.userId, s.title, s.model, s.permissionMode, s.status, s.lastSeq, s.createdAt, s.updatedAt, max],
        );
        const { counted, created } = rows[0]!;
        if (!counted) return 'over-quota';
        if (created) return 'created';
        // The id is taken: the session counted above does not exist.
        await run(client, 'UPDATE user_usage SET sessions = sessions - 1 WHERE user_id = $1', [s.userId]);
        return 'exists';
      });
    },
    async getSession(id, options) {
      if (!options?.withUsage) {
        const [row] = await query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`, [id]);
        return row ? toSession(row) : null;
      }
      const [row] = await query<SessionRow & UsageColumns>(
        `SELECT ${SESSION_COLUMNS_OF_S}, u.sessions AS owner_sessions,
           (SELECT SUM(o.stored_bytes) FROM sessions o WHERE o.user_id = s.user_id) AS owner_stored_bytes
         FROM sessions s LEFT JOIN user_usage u ON u.user_id = s.user_id WHERE s.id = $1`,
        [id],
      );
      return row ? { ...toSession(row), ownerUsage: toUsage(row) } : null;
    },
    async getUsage(userId) {
      const [row] = await query<UsageColumns>(
        `SELECT (SELECT sessions FROM user_usage WHERE user_id = $1) AS owner_sessions,
           (SELECT SUM(stored_bytes) FROM sessions WHERE user_id = $1) AS owner_stored_bytes`,
        [userId],
      );
      return toUsage(row!);
    },
    async listSessions(userId, limit) {
      const rows = await query<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, ord DESC LIMIT $2`,
        [userId, limit],
      );
      return rows.map(toSession);
    },
    async deleteSession(id) {
      await transaction(async (client) => {
        // Waits for an append in flight, so that none of its rows survives the session.
        await run(client, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [id]);
        await run(
          client,
          `WITH e AS (DELETE FROM events WHERE session_id = $1),
                m AS (DELETE FROM messages WHERE session_id = $1),
                p AS (DELETE FROM permissions WHERE session_id = $1),
                r AS (DELETE FROM permission_rules WHERE session_id = $1),
                q AS (DELETE FROM queue WHERE session_id = $1),
                c AS (DELETE FROM client_messages WHERE session_id = $1),
                l AS (DELETE FROM leases WHERE session_id = $1),
                gone AS (DELETE FROM sessions WHERE id = $1 RETURNING user_id)
           UPDATE user_usage u SET sessions = u.sessions - 1 FROM gone WHERE u.user_id = gone.user_id`,
          [id],
        );
      });
    },
    async listUnsettledSessions() {
      const rows = await query<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM sessions
         WHERE status <> 'IDLE' OR id IN (SELECT session_id FROM queue)
         ORDER BY ord`,
      );
      return rows.map(toSession);
    },

    async appendEvents(sessionId, events: NewSessionEvent[], token) {
      if (events.length === 0) {
        const { rowCount } = await run(pool, 'SELECT 1 FROM sessions WHERE id = $1', [sessionId]);
        if (!rowCount) throw new Error(`appendEvents: no session ${sessionId}`);
        return [];
      }
      // Most batches are coalesced text deltas, which change nothing but the log: they take
      // one statement (one round trip) instead of a transaction of several.
      const logOnly = events.every((e) => projectionOf({ ...e, seq: 0 } as SessionEvent).length === 0);
      return logOnly ? appendLogOnly(sessionId, events, token) : appendProjected(sessionId, events, token);
    },
    async readEvents(sessionId, after, limit, cap) {
      if (!cap) {
        const rows = await query<{ body: SessionEvent }>(
          'SELECT body FROM events WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
          [sessionId, after, limit],
        );
        return rows.map((r) => r.body);
      }
      const rows = await query<{ body: SessionEvent; total: string }>(
        capped(['body'], `SELECT seq, body, octet_length(body::text) AS size FROM events WHERE session_id = $1 AND seq > $2`, 'seq', '$3', '$4'),
        [sessionId, after, limit, cap.maxBytes],
      );
      return checkCap(rows, cap.maxBytes).map((r) => r.body);
    },

    async listMessages(sessionId, page = {}) {
      // Newest first, so that a cap stops at the oldest end; `before` unknown: no rows (NULL).
      const rows = await query<MessageRow<ToolCallRecord[]> & { total: string }>(
        capped(
          ['position', 'id', 'role', 'text', 'turn_id', 'created_at', 'tool_calls'],
          `SELECT *, octet_length(text) + octet_length(tool_calls::text) AS size
           FROM messages WHERE session_id = $1
             AND ($2::text IS NULL OR position < (SELECT position FROM messages WHERE session_id = $1 AND id = $2 LIMIT 1))`,
          'position DESC',
          '$3',
          '$4',
        ),
        [sessionId, page.before ?? null, page.last ?? null, page.maxBytes ?? null],
      );
      return checkCap(rows, page.maxBytes).reverse().map(toMessage);
    },

    async getPermission(sessionId, requestId) {
      const [row] = await query<PermissionRow>(
        'SELECT request, turn_id, status FROM permissions WHERE session_id = $1 AND request_id = $2',
        [sessionId, requestId],
      );
      return row ? toPermission(row) : null;
    },
    async listPermissions(sessionId, status) {
      const rows = await query<PermissionRow>(
        `SELECT request, turn_id, status FROM permissions
         WHERE session_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_seq`,
        [sessionId, status ?? null],
      );
      return rows.map(toPermission);
    },
    async addPermissionRule(sessionId, toolName) {
      // Only for a live session: the KEY SHARE lock makes a concurrent delete wait for
      // this insert (and then delete it too), or makes this insert see the delete.
      await run(
        pool,
        `INSERT INTO permission_rules (session_id, tool_name)
         SELECT id, $2 FROM sessions WHERE id = $1 FOR KEY SHARE
         ON CONFLICT DO NOTHING`,
        [sessionId, toolName],
      );
    },
    async hasPermissionRule(sessionId, toolName) {
      const rows = await query('SELECT 1 FROM permission_rules WHERE session_id = $1 AND tool_name = $2', [
        sessionId,
        toolName,
      ]);
      return rows.length > 0;
    },

    async enqueue(sessionId, message: QueuedMessageRecord, front = false, token, clientMessage) {
      await transaction(async (client) => {
        // Positions are computed from the current ones: two instances enqueueing at once
        // must not pick the same.
        const { rows } = await run<{ fence: string }>(client, 'SELECT fence FROM sessions WHERE id = $1 FOR NO KEY UPDATE', [sessionId]);
        if (rows.length === 0) throw new Error(`enqueue: no session ${sessionId}`);
        if (isFenced(token, Number(rows[0]!.fence))) throw new FencedError(sessionId, token!);
        const next = front ? 'MIN(position) - 1' : 'MAX(position) + 1';
        await run(
          client,
          `INSERT INTO queue (session_id, position, turn_id, message)
           VALUES ($1, COALESCE((SELECT ${next} FROM queue WHERE session_id = $1), 0), $2, $3)`,
          [sessionId, message.turnId, toJson(message)],
        );
        if (clientMessage) {
          await run(
            client,
            `INSERT INTO client_messages (session_id, client_message_id, turn_id, queued) VALUES ($1, $2, $3, $4)
             ON CONFLICT (session_id, client_message_id) DO UPDATE SET turn_id = excluded.turn_id, queued = excluded.queued`,
            [sessionId, clientMessage.id, clientMessage.record.turnId, clientMessage.record.queued],
          );
        }
      });
    },
    async startTurn(sessionId, request) {
      return startTurn(sessionId, request);
    },
    async listQueue(sessionId, view = {}) {
      // Without attachments, they stay in the database (megabytes each).
      const message = view.attachments === false ? `(message - 'attachments')` : 'message';
      const rows = await query<{ message: QueuedMessageRecord; total: string }>(
        capped(['message'], `SELECT position, ${message} AS message, octet_length(${message}::text) AS size FROM queue WHERE session_id = $1`, 'position', 'NULL', '$2'),
        [sessionId, view.maxBytes ?? null],
      );
      const records = checkCap(rows, view.maxBytes).map((r) => r.message);
      return view.attachments === false ? records.map((r) => ({ ...r, attachments: [] })) : records;
    },
    async clearQueue(sessionId) {
      await run(pool, 'DELETE FROM queue WHERE session_id = $1', [sessionId]);
    },

    async getClientMessage(sessionId, clientMessageId) {
      const [row] = await query<{ turn_id: string; queued: boolean }>(
        'SELECT turn_id, queued FROM client_messages WHERE session_id = $1 AND client_message_id = $2',
        [sessionId, clientMessageId],
      );
      return row ? { turnId: row.turn_id, queued: row.queued } : null;
    },
    async putClientMessage(sessionId, clientMessageId, record) {
      // Only for a live session, as addPermissionRule.
      await run(
        pool,
        `INSERT INTO client_messages (session_id, client_message_id, turn_id, queued)
         SELECT id, $2, $3, $4 FROM sessions WHERE id = $1 FOR KEY SHARE
         ON CONFLICT (session_id, client_message_id) DO UPDATE SET turn_id = excluded.turn_id, queued = excluded.queued`,
        [sessionId, clientMessageId, record.turnId, record.queued],
      );
    },

    async getConfig(userId) {
      const [row] = await query<{ config: ConfigRecord }>('SELECT config FROM configs WHERE user_id = $1', [userId]);
      return row ? row.config : null;
    },
    async putConfig(userId, config) {
      await run(
        pool,
        `INSERT INTO configs (user_id, config) VALUES ($1, $2::jsonb)
         ON CONFLICT (user_id) DO UPDATE SET config = excluded.config`,
        [userId, toJson(config)],
      );
    },

    async claimLease(sessionId, holder, ttlMs, now) {
      // RETURNING yields nothing when the WHERE refused the update: the lease is someone
      // else's, so read it. Between the two statements its holder may release it; then the
      // claim is simply tried again.
      // A grant to a holder other than the one before (or over no lease) bumps the session's
      // fence in the same statement, so a grant and its token are one atomic step. (`prev` reads
      // the statement's snapshot: a racing claim that inserted meanwhile makes this one's
      // ON CONFLICT re-check, and refuse, the row it inserted.)
      for (;;) {
        const [claimed] = await query<LeaseRow>(
          `WITH prev AS (SELECT holder FROM leases WHERE session_id = $1),
           claimed AS (
             INSERT INTO leases (session_id, holder, expires_at) VALUES ($1, $2, $3::bigint + $4::bigint)
             ON CONFLICT (session_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
               WHERE leases.holder = excluded.holder OR leases.expires_at < $3::bigint
             RETURNING holder, expires_at
           ),
           bumped AS (
             UPDATE sessions SET fence = fence + 1
             WHERE id = $1 AND EXISTS (SELECT 1 FROM claimed) AND NOT EXISTS (SELECT 1 FROM prev WHERE prev.holder = $2)
             RETURNING fence
           )
           SELECT holder, expires_at, COALESCE((SELECT fence FROM bumped), (SELECT fence FROM sessions WHERE id = $1)) AS fence
           FROM claimed`,
          [sessionId, holder, now, ttlMs],
        );
        const [row] = claimed ? [claimed] : await query<LeaseRow>(LEASE_QUERY, [sessionId]);
        if (row) return toLease(row);
      }
    },
    async releaseLease(sessionId, holder) {
      await run(pool, 'DELETE FROM leases WHERE session_id = $1 AND holder = $2', [sessionId, holder]);
    },
    async getLease(sessionId) {
      const [row] = await query<LeaseRow>(LEASE_QUERY, [sessionId]);
      return row ? toLease(row) : null;
    },

    async ping() {
      if (closed) return false;
      let timer: NodeJS.Timeout | undefined;
      // The race also bounds the wait for a connection, which query_timeout does not cover.
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), pingTimeoutMs);
      });
      const answer = run(pool, 'SELECT 1').then(
        () => true,
        () => false,
      );
      try {
        return await Promise.race([answer, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  });
}

/** SQLSTATE classes and socket errors that mean "the database is away", not "the query is wrong". */
function isUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code && (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code))) return true;
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|socket|connection|write after end/i.test(
    message ?? '',
  );
}

/**
 * Turns "the database is away" into a domain error that clients see as SERVICE_UNAVAILABLE
 * (retry later) instead of a masked internal error; anything else passes through untouched.
 */
function reportUnavailable(store: Store): Store {
  const wrapped: Record<string, unknown> = { ...store };
  for (const [name, value] of Object.entries(store)) {
    if (typeof value !== 'function' || name === 'ping' || name === 'close') continue;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await (value as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (error) {
        if (isUnavailable(error)) {
          throw new SwitchboardError('SERVICE_UNAVAILABLE', 'The database is unavailable; try again shortly.', { cause: error });
        }
        throw error;
      }
    };
  }
  return wrapped as unknown as Store;
}

/** How long the client waits for a migration statement (or for another instance's migration). */
const MIGRATION_TIMEOUT_MS = 3_600_000;

type Transaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/**
 * Applies, in one transaction each, every migration the database has not seen. The
 * transaction-scoped advisory lock makes instances that start together take turns; each
 * re-reads the applied versions once it holds the lock, so a version is applied once.
 */
async function migrate(transaction: Transaction) {
  // The pool's timeouts bound stalls of everyday queries (a fraction of the lease TTL); waiting
  // for another instance's migration, or back-filling a large table, may take longer.
  const lock = async (client: pg.PoolClient) => {
    await run(client, 'SET LOCAL statement_timeout = 0');
    await client.query({ text: `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`, query_timeout: MIGRATION_TIMEOUT_MS } as pg.QueryConfig);
  };
  const applied = await transaction(async (client) => {
    await lock(client);
    await run(
      client,
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
    );
    const { rows } = await run<{ version: number }>(client, 'SELECT version FROM schema_migrations');
    return new Set(rows.map((r) => r.version));
  });
  for (const migration of postgresMigrations) {
    if (applied.has(migration.version)) continue;
    await transaction(async (client) => {
      await lock(client);
      const { rowCount } = await run(client, 'SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (rowCount) return; // another instance applied it while this one waited
      await client.query({ text: migration.sql, query_timeout: MIGRATION_TIMEOUT_MS } as pg.QueryConfig);
      await run(client, 'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
        migration.version,
        new Date().toISOString(),
      ]);
    });
  }
}
