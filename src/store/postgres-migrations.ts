/**
 * Versioned schema of the PostgreSQL store. Append a migration, never edit a shipped one:
 * start-up applies, in one transaction each and under an advisory lock (several instances
 * may start at once), every version the database has not seen.
 *
 * Timestamps stay TEXT, exactly the ISO strings the sessions layer gave (clients compare
 * them verbatim); `COLLATE "C"` makes them sort bytewise, as ISO-8601 strings must, whatever
 * the database's locale. JSON values (event bodies, tool calls, requests, queued messages,
 * configs) are JSONB.
 */
export const postgresMigrations: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        -- Insertion order: breaks createdAt ties in listSessions (newest first).
        ord BIGINT GENERATED ALWAYS AS IDENTITY,
        user_id TEXT NOT NULL,
        title TEXT NOT NULL,
        model TEXT NOT NULL,
        permission_mode TEXT NOT NULL,
        status TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX sessions_by_user ON sessions (user_id, created_at DESC, ord DESC);
      CREATE INDEX sessions_unsettled ON sessions (status) WHERE status <> 'IDLE';

      -- The log. The primary key is what keeps seq unique per session across instances:
      -- two appends can never both commit the same (session_id, seq).
      CREATE TABLE events (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        body JSONB NOT NULL,
        PRIMARY KEY (session_id, seq)
      );

      CREATE TABLE messages (
        session_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        id TEXT NOT NULL,
        role TEXT NOT NULL,
        text TEXT NOT NULL,
        turn_id TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        tool_calls JSONB NOT NULL,
        PRIMARY KEY (session_id, position)
      );

      CREATE TABLE permissions (
        session_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        turn_id TEXT,
        status TEXT NOT NULL,
        request JSONB NOT NULL,
        created_seq INTEGER NOT NULL,
        PRIMARY KEY (session_id, request_id)
      );

      CREATE TABLE permission_rules (
        session_id TEXT NOT NULL,
        tool_name TEXT NOT NULL,
        PRIMARY KEY (session_id, tool_name)
      );

      -- position orders the queue; INTERRUPT inserts below the current minimum.
      CREATE TABLE queue (
        session_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        turn_id TEXT NOT NULL,
        message JSONB NOT NULL,
        PRIMARY KEY (session_id, position)
      );
      CREATE INDEX queue_by_turn ON queue (session_id, turn_id);

      CREATE TABLE client_messages (
        session_id TEXT NOT NULL,
        client_message_id TEXT NOT NULL,
        turn_id TEXT NOT NULL,
        queued BOOLEAN NOT NULL,
        PRIMARY KEY (session_id, client_message_id)
      );

      CREATE TABLE configs (
        user_id TEXT PRIMARY KEY,
        config JSONB NOT NULL
      );

      -- Which instance runs a session's turns, until when (ms since the epoch).
      CREATE TABLE leases (
        session_id TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      -- Quotas. Each session keeps the size of its events, updated on the row every append
      -- locks and writes anyway (a per-user total would make all of a user's appends, on every
      -- instance, queue for one row); a user's stored bytes are their sum, read with the
      -- session. No index covers stored_bytes, so those updates stay HOT. The session count is
      -- kept per user: createSession locks that row to check its bound, so instances racing at
      -- it take turns.
      ALTER TABLE sessions ADD COLUMN stored_bytes BIGINT NOT NULL DEFAULT 0;
      CREATE TABLE user_usage (
        user_id TEXT PRIMARY KEY,
        sessions INTEGER NOT NULL
      );
      -- Back-fill from what exists. JSONB keeps no text, so an existing body counts as
      -- PostgreSQL prints it (a few bytes more than appends count).
      UPDATE sessions s SET stored_bytes = e.bytes
        FROM (SELECT session_id, SUM(octet_length(body::text)) AS bytes FROM events GROUP BY session_id) e
        WHERE e.session_id = s.id;
      INSERT INTO user_usage (user_id, sessions) SELECT user_id, COUNT(*) FROM sessions GROUP BY user_id;
    `,
  },
  {
    version: 3,
    sql: `
      -- Fencing: grows with every grant of the session's lease to a new holder (Store). On
      -- the session row, which every append locks or updates anyway, so that the check costs
      -- no read of its own; it outlives the lease row (released leases are deleted).
      ALTER TABLE sessions ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
    `,
  },
];
