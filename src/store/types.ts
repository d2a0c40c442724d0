import type {
  NewSessionEvent,
  PermissionMode,
  PermissionRequest,
  PermissionStatus,
  SessionEvent,
  SessionStatus,
} from '../events/types.js';

export interface SessionRecord {
  id: string;
  userId: string;
  title: string;
  model: string;
  permissionMode: PermissionMode;
  status: SessionStatus;
  /** Seq of the newest event, 0 if none. */
  lastSeq: number;
  createdAt: string;
  updatedAt: string;
  /**
   * The owner's usage, read in the same query as the session: present only when
   * `getSession` was asked for it (`withUsage`), so the quota check of `sendMessage` costs
   * no store call of its own.
   */
  ownerUsage?: UsageRecord;
}

/**
 * What one user keeps in the store, kept up to date inside the writes that change it, so it
 * holds across instances and restarts. `storedBytes` is the UTF-8 size of the user's stored
 * events as JSON (what the event log holds; messages and the queue are projections of it):
 * each session counts its own, and this is their sum.
 */
export interface UsageRecord {
  sessions: number;
  storedBytes: number;
}

/** What `createSession` did: `exists` and `over-quota` wrote nothing. */
export type CreateSessionOutcome = 'created' | 'exists' | 'over-quota';

export interface ToolCallRecord {
  toolUseId: string;
  toolName: string;
  input: unknown;
  result: string | null;
  isError: boolean;
}

export interface MessageRecord {
  id: string;
  role: 'USER' | 'ASSISTANT';
  text: string;
  turnId: string;
  createdAt: string;
  toolCalls: ToolCallRecord[];
}

export interface AttachmentRecord {
  name: string;
  mediaType: string;
  dataBase64: string;
}

/** A message waiting for the running turn; it becomes a turn when it reaches the head. */
export interface QueuedMessageRecord {
  turnId: string;
  messageId: string;
  text: string;
  attachments: AttachmentRecord[];
  createdAt: string;
}

export interface PermissionRecord {
  request: PermissionRequest;
  turnId: string | null;
  status: PermissionStatus;
}

export interface ConfigRecord {
  defaultModel: string;
  permissionMode: PermissionMode;
  theme: unknown;
}

/** What the first `sendMessage` with a clientMessageId answered; retries answer the same. */
export interface ClientMessageRecord {
  turnId: string;
  queued: boolean;
}

/** What `startTurn` is asked to do (see there). */
export interface TurnRequest {
  /** The session must be this user's: another user's session answers `not-found`, as an absent one. @default no check */
  userId?: string;
  /** A message to queue first; absent: only the head of the queue starts (a turn ended, a takeover). */
  message?: {
    record: QueuedMessageRecord;
    /** At the head of the queue (INTERRUPT), else at the tail. */
    front: boolean;
    /**
     * The idempotency key: a record under it answers `duplicate` and nothing is written;
     * else the message's record (its exact `queued`) is written with it.
     */
    clientMessageId?: string;
    /** `over-quota` when the owner's stored bytes are more than this. @default 0: no bound */
    maxStoredBytes?: number;
    /** `rejected` once ownership, idempotency and quota have passed (the REJECT strategy while a turn runs). @default false */
    reject?: boolean;
    /** `queue-full` when the queue already holds this many messages. @default 0: no bound */
    maxQueued?: number;
  };
  /** No turn runs (the caller knows): the head of the queue, if any, starts. */
  start: boolean;
  /**
   * Start only a session whose status is IDLE: one left RUNNING (its holder died) starts
   * nothing, and the answer's session shows its status (a takeover settles it first).
   * @default false
   */
  onlyIfIdle?: boolean;
  /** The started turn's USER_MESSAGE `at`. */
  at: string;
  /** The lease's fencing token (see Store); undefined: unfenced. */
  token?: number;
}

/** A turn `startTurn` started: the queue's head, now a USER_MESSAGE. */
export interface StartedTurn {
  /** The USER_MESSAGE as stored (seq assigned, projection applied). */
  event: SessionEvent;
  /** The queued message it came from (text, attachments, ids), no longer in the queue. */
  message: QueuedMessageRecord;
  /** The conversation before this turn's message, as `listMessages` gave it just before. */
  history: MessageRecord[];
}

/** What `startTurn` did. Every outcome but `done` wrote nothing. */
export type TurnOutcome =
  | { outcome: 'not-found' }
  | { outcome: 'duplicate'; record: ClientMessageRecord; session: SessionRecord }
  | { outcome: 'over-quota'; usage: UsageRecord }
  | { outcome: 'rejected' }
  | { outcome: 'queue-full' }
  | {
      outcome: 'done';
      /** The message's record (as written under its clientMessageId, if any); null without a message. */
      record: ClientMessageRecord | null;
      /** null: nothing started (not asked to, or the queue is empty). */
      started: StartedTurn | null;
      /** The session as the operation left it (equal to `getSession`'s answer after it). */
      session: SessionRecord;
    };

/** Who runs a session's turns, until when (ms since the epoch). */
export interface LeaseRecord {
  holder: string;
  expiresAt: number;
  /**
   * The session's fencing token as this grant left it: it grows by one with every grant to a
   * holder that did not hold the lease just before (claimed free, taken over after expiry,
   * claimed again after a release), never with a renewal. Writes carry it (see Store).
   */
  token: number;
}

/** A bound on how much one read may bring back (see ReadCapExceeded). */
export interface ReadCap {
  /** Most bytes of stored text (UTF-8 JSON or column text) the read may return. */
  maxBytes: number;
}

/** Which messages `listMessages` returns. */
export interface MessagePage {
  /** The newest this many (of those before `before`). @default all */
  last?: number;
  /** Only messages older than the message with this id. @default none: up to the newest */
  before?: string | null;
  /** As ReadCap's. @default no cap */
  maxBytes?: number;
}

/** What `listQueue` returns. */
export interface QueueView {
  /** False: leave attachments out (and unread). @default true */
  attachments?: boolean;
  /** As ReadCap's. @default no cap */
  maxBytes?: number;
}

/**
 * Durable state. Every method is async so that SQLite and PostgreSQL fit behind it.
 *
 * `appendEvents` is the heart: it gives events the session's next seqs and applies their
 * projection (status, lastSeq, messages, permissions, queue) in one atomic step, so that by
 * the time an event is published, every query already sees the state it implies.
 *
 * Fencing: the writes that change a session's turn state (`appendEvents`, `enqueue`) take the
 * lease's `token` (LeaseRecord). When the session has been granted since with a newer token,
 * the store refuses the write inside the write itself (same statement or transaction) with
 * FencedError, changing nothing: a holder that lost its lease without knowing it (a stalled
 * connection, a paused process) can never write to the session again. No token: unfenced.
 */
export interface Store {
  /**
   * True when several instances may use this store at once (PostgreSQL). An embedded store
   * belongs to one process, so a restarted process is the same instance and takes its
   * sessions back at once instead of waiting for its old leases to expire.
   */
  readonly shared: boolean;

  /**
   * Inserts a session and counts it in its owner's usage, in one atomic step: `over-quota`
   * when the owner already has `maxSessionsPerUser` sessions (0 or absent: no bound), checked
   * under the owner's usage lock, so two instances racing at the bound cannot both pass it;
   * `exists` when the id is taken. Either refusal writes nothing.
   */
  createSession(session: SessionRecord, options?: { maxSessionsPerUser?: number }): Promise<CreateSessionOutcome>;
  /** The session; with `withUsage`, its `ownerUsage` too, from the same query. */
  getSession(id: string, options?: { withUsage?: boolean }): Promise<SessionRecord | null>;
  /** A user's usage; zeros for a user who has never had a session. */
  getUsage(userId: string): Promise<UsageRecord>;
  /** A user's sessions, newest first. */
  listSessions(userId: string, limit: number): Promise<SessionRecord[]>;
  /** Removes the session and everything that belongs to it, and frees its space in its owner's usage. */
  deleteSession(id: string): Promise<void>;
  /**
   * Sessions that need attention at start-up: a turn left open (status not IDLE) or
   * messages waiting in the queue.
   */
  listUnsettledSessions(): Promise<SessionRecord[]>;

  /**
   * Appends in order, assigning seqs lastSeq+1…; returns the stored events. Their size is
   * added to what the session counts in its owner's usage, in the same atomic step.
   */
  appendEvents(sessionId: string, events: NewSessionEvent[], token?: number): Promise<SessionEvent[]>;
  /**
   * Events with seq > after, oldest first, at most `limit`. With `cap`, the read stops at the
   * event that takes the stored bytes read past `cap.maxBytes` and throws ReadCapExceeded.
   */
  readEvents(sessionId: string, after: number, limit: number, cap?: ReadCap): Promise<SessionEvent[]>;

  /**
   * The conversation, oldest first: every message, or with `page.last` only the newest
   * `last` of those before the message `page.before` (or of all). A `before` that is not a
   * message of the session gives no messages. Read newest first and stopped, with
   * ReadCapExceeded, once past `page.maxBytes`.
   */
  listMessages(sessionId: string, page?: MessagePage): Promise<MessageRecord[]>;

  getPermission(sessionId: string, requestId: string): Promise<PermissionRecord | null>;
  listPermissions(sessionId: string, status?: PermissionStatus): Promise<PermissionRecord[]>;
  addPermissionRule(sessionId: string, toolName: string): Promise<void>;
  hasPermissionRule(sessionId: string, toolName: string): Promise<boolean>;

  /**
   * Queues a message at the tail, or at the head with `front` (INTERRUPT). With `clientMessage`,
   * its record is written in the same transaction: a retry finds the record whenever it finds
   * the message (exactly once across a takeover; `putClientMessage` may refine it after).
   */
  enqueue(
    sessionId: string,
    message: QueuedMessageRecord,
    front?: boolean,
    token?: number,
    clientMessage?: { id: string; record: ClientMessageRecord },
  ): Promise<void>;
  /**
   * Queues a message and starts the queue's head, as ONE atomic step (one transaction, one
   * call): the way a turn starts in one round trip. In this order, stopping at the first that
   * refuses, with nothing written:
   * 1. the session exists and is `userId`'s (`not-found`);
   * 2. with a message: its clientMessageId is not recorded yet (`duplicate`, with that record);
   *    the owner's stored bytes are within `maxStoredBytes` (`over-quota`); not `reject`
   *    (`rejected`); the queue holds fewer than `maxQueued` (`queue-full`);
   * 3. fenced by `token` like `enqueue` (FencedError): the message goes in (tail, or head with
   *    `front`) with its client-message record;
   * 4. with `start`: the head of the queue (this message or one queued before) becomes a
   *    USER_MESSAGE event, appended exactly as `appendEvents` appends it (seq, projection,
   *    usage; fenced), returned with the head and the conversation before it.
   * The record's `queued` is exact: false when this message started or went to the head
   * (`front`: it starts when the running turn ends), else true.
   */
  startTurn(sessionId: string, request: TurnRequest): Promise<TurnOutcome>;
  /**
   * The queue, in order. With `view.attachments: false`, records come without their
   * attachments (`[]`), which are then never read; with `view.maxBytes`, as `readEvents`'s cap.
   */
  listQueue(sessionId: string, view?: QueueView): Promise<QueuedMessageRecord[]>;
  /** Drops every queued message of the session. */
  clearQueue(sessionId: string): Promise<void>;

  getClientMessage(sessionId: string, clientMessageId: string): Promise<ClientMessageRecord | null>;
  putClientMessage(sessionId: string, clientMessageId: string, record: ClientMessageRecord): Promise<void>;

  getConfig(userId: string): Promise<ConfigRecord | null>;
  putConfig(userId: string, config: ConfigRecord): Promise<void>;

  /**
   * Claims the right to run the session's turns until `now + ttlMs`. Granted when nobody
   * holds it, when `holder` holds it already (a renewal), or when the holder's claim expired
   * before `now`. Returns the lease as it stands after the call: granted iff its holder is
   * `holder`. A grant to a holder that did not hold it just before increments the session's
   * fencing token (LeaseRecord.token); the token outlives the lease row. Atomic across every
   * instance sharing the store.
   */
  claimLease(sessionId: string, holder: string, ttlMs: number, now: number): Promise<LeaseRecord>;
  /** Gives the lease up if `holder` holds it; otherwise does nothing. */
  releaseLease(sessionId: string, holder: string): Promise<void>;
  getLease(sessionId: string): Promise<LeaseRecord | null>;

  /** True when the backing store answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
