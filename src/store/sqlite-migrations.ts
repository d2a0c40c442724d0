/**
 * Versioned schema of the embedded store. Append a migration, never edit a shipped one:
 * start-up applies, in one transaction each, every version the database has not seen.
 */
export const sqliteMigrations: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        title TEXT NOT NULL,
        model TEXT NOT NULL,
        permission_mode TEXT NOT NULL,
        status TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX sessions_by_user ON sessions (user_id, created_at DESC);
      CREATE INDEX sessions_unsettled ON sessions (status) WHERE status <> 'IDLE';

      -- The log: one row per event, the event itself as JSON. A rowid table: deltas run to
      -- kilobytes, and WITHOUT ROWID tables handle rows that large poorly (measured ~1.6x
      -- slower appends at 30 KB).
      CREATE TABLE events (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
      );

      CREATE TABLE messages (
        session_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        id TEXT NOT NULL,
        role TEXT NOT NULL,
        text TEXT NOT NULL,
        turn_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        tool_calls TEXT NOT NULL,
        PRIMARY KEY (session_id, position)
      );

      CREATE TABLE permissions (
        session_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        turn_id TEXT,
        status TEXT NOT NULL,
        request TEXT NOT NULL,
        created_seq INTEGER NOT NULL,
        PRIMARY KEY (session_id, request_id)
      ) WITHOUT ROWID;

      CREATE TABLE permission_rules (
        session_id TEXT NOT NULL,
        tool_name TEXT NOT NULL,
        PRIMARY KEY (session_id, tool_name)
      ) WITHOUT ROWID;

      -- position orders the queue; INTERRUPT inserts below the current minimum.
      CREATE TABLE queue (
        session_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        turn_id TEXT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (session_id, position)
      ) WITHOUT ROWID;

      CREATE TABLE client_messages (
        session_id TEXT NOT NULL,
        client_message_id TEXT NOT NULL,
        turn_id TEXT NOT NULL,
        queued INTEGER NOT NULL,
        PRIMARY KEY (session_id, client_message_id)
      ) WITHOUT ROWID;

      CREATE TABLE configs (
        user_id TEXT PRIMARY KEY,
        config TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      -- Which instance runs a session's turns, until when (ms since the epoch).
      CREATE TABLE leases (
        session_id TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    sql: `
      -- Quotas. Each session keeps the size of its events, on the row every append writes
      -- anyway; a user's stored bytes are their sum, read with the session through
      -- sessions_by_user (no index covers stored_bytes: appends would write it too). The
      -- session count is kept per user and checked inside createSession's transaction.
      ALTER TABLE sessions ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE user_usage (
        user_id TEXT PRIMARY KEY,
        sessions INTEGER NOT NULL
      );
      -- Back-fill from what exists (a body's size is its UTF-8 length, as appends count it).
      UPDATE sessions SET stored_bytes = COALESCE(
        (SELECT SUM(length(CAST(body AS BLOB))) FROM events WHERE events.session_id = sessions.id), 0);
      INSERT INTO user_usage (user_id, sessions) SELECT user_id, COUNT(*) FROM sessions GROUP BY user_id;
    `,
  },
  {
    version: 4,
    sql: `
      -- Fencing: grows with every grant of the session's lease to a new holder (Store).
      ALTER TABLE sessions ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
    `,
  },
];
