import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Agent } from '../agents/types.js';
import { badInput, conflict, notFound, SwitchboardError } from '../errors.js';
import { SessionCursor } from '../events/cursor.js';
import type { EventLog } from '../events/log.js';
import type { PubSub } from '../events/pubsub/types.js';
import { sessionTopic, type SessionTopicMessage } from '../events/topics.js';
import type { PermissionMode, PermissionStatus, StopReason } from '../events/types.js';
import type { AttachmentRecord, QueuedMessageRecord, SessionRecord, Store } from '../store/types.js';
import type { UserConfigService } from '../user-config.js';
import { checkSessionId, newId as defaultNewId } from './ids.js';
import { PermissionGate } from './permissions.js';
import { runTurn } from './turn.js';

export type TurnStrategy = 'ENQUEUE' | 'REJECT' | 'INTERRUPT';

export interface SessionManagerOptions {
  store: Store;
  pubsub: PubSub;
  log: EventLog;
  clock: Clock;
  agent: Agent;
  config: UserConfigService;
  /** Sessions' workspaces live in `<dataDir>/workspaces/<sessionId>`. */
  dataDir: string;
  /** How long a permission request waits before it is denied. @default 300000 */
  permissionTimeoutMs?: number;
  /** @default randomUUID */
  newId?: () => string;
  /** Where unexpected failures (agent crashes, store errors in background work) go. @default console.error */
  onError?: (error: unknown) => void;
}

export interface CreateSessionInput {
  id?: string | null;
  title?: string | null;
  model?: string | null;
  permissionMode?: PermissionMode | null;
}

export interface SendMessageInput {
  sessionId: string;
  text: string;
  attachments?: AttachmentRecord[] | null;
  clientMessageId?: string | null;
  strategy?: TurnStrategy | null;
}

interface RunningTurn {
  turnId: string;
  controller: AbortController;
  gate: PermissionGate;
  stopReason: StopReason;
  /** Settles when the turn has ended and the next queued one (if any) has started. */
  done: Promise<void>;
}

/** In-memory state of a session that has had activity in this process. */
interface Runner {
  turn: RunningTurn | null;
  deleting: boolean;
  /** Serializes decisions on the turn and the queue (see `exclusive`). */
  lock: Promise<unknown>;
}

export const DEFAULT_TITLE = 'New session';
const MAX_TITLE_LENGTH = 200;

/**
 * Turns, queue, cancellation and permission waits of every session, over the Store (state)
 * and the EventLog (what happened). Transport-free: resolvers call it with the caller's
 * user id, and it reports another user's session exactly as an absent one.
 */
export class SessionManager {
  private readonly runners = new Map<string, Runner>();
  private readonly streams = new Set<SessionCursor>();
  private readonly newId: () => string;
  private readonly onError: (error: unknown) => void;
  private stopping = false;

  constructor(private readonly options: SessionManagerOptions) {
    this.newId = options.newId ?? defaultNewId;
    this.onError = options.onError ?? ((error) => console.error('[switchboard]', error));
  }

  // ── reads ────────────────────────────────────────────────────────────────

  /** The session if it exists and is the user's, else null. */
  async find(userId: string, id: string): Promise<SessionRecord | null> {
    const session = await this.options.store.getSession(id);
    return session && session.userId === userId ? session : null;
  }

  /** The session if it exists and is the user's, else NOT_FOUND. */
  async get(userId: string, id: string): Promise<SessionRecord> {
    const session = await this.find(userId, id);
    if (!session) throw notFound('Session');
    return session;
  }

  list(userId: string, limit: number) {
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw badInput('limit must be between 1 and 200.');
    return this.options.store.listSessions(userId, limit);
  }

  /**
   * The session's events as a stream: every stored event with seq > after, then live ones.
   * Ownership is checked here, before the first event, so a refused subscription fails at once.
   */
  async subscribe(userId: string, sessionId: string, after: number | null | undefined, signal?: AbortSignal) {
    if (after != null && (!Number.isInteger(after) || after < 0)) throw badInput('after must be 0 or more.');
    await this.get(userId, sessionId);
    const cursor = new SessionCursor({
      store: this.options.store,
      pubsub: this.options.pubsub,
      sessionId,
      after: after ?? undefined,
      signal,
    });
    this.streams.add(cursor);
    void cursor.closed.then(() => this.streams.delete(cursor));
    return cursor;
  }

  /** Settles when every open event stream has completed (they finish once told to stop). */
  async streamsClosed(): Promise<void> {
    await Promise.all([...this.streams].map((s) => s.closed));
  }

  // ── session lifecycle ────────────────────────────────────────────────────

  async create(userId: string, input: CreateSessionInput | null | undefined): Promise<SessionRecord> {
    const id = input?.id != null ? checkSessionId(input.id) : this.newId();
    const title = input?.title?.trim() || DEFAULT_TITLE;
    if (title.length > MAX_TITLE_LENGTH) throw badInput(`title must be at most ${MAX_TITLE_LENGTH} characters.`);
    const config = await this.options.config.get(userId);
    const model = input?.model ?? config.defaultModel;
    if (!this.options.agent.models.includes(model)) {
      throw badInput(`Unknown model "${model}"; available: ${this.options.agent.models.join(', ')}.`);
    }
    const now = new Date(this.options.clock.now()).toISOString();
    const session: SessionRecord = {
      id,
      userId,
      title,
      model,
      permissionMode: input?.permissionMode ?? config.permissionMode,
      status: 'IDLE',
      lastSeq: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.options.store.createSession(session))) throw conflict(`A session with id "${id}" exists.`);
    return session;
  }

  async delete(userId: string, id: string): Promise<boolean> {
    await this.get(userId, id);
    const runner = this.runner(id);
    if (runner.deleting) throw notFound('Session');
    runner.deleting = true;
    await this.exclusive(runner, () => this.options.store.clearQueue(id));
    const turn = runner.turn;
    if (turn) {
      turn.stopReason = 'CANCELLED';
      turn.controller.abort();
      await turn.done;
    }
    await this.options.log.settled(id);
    await this.options.store.deleteSession(id);
    const message: SessionTopicMessage = { kind: 'deleted' };
    await this.options.pubsub.publish(sessionTopic(id), message);
    this.runners.delete(id);
    await rm(this.workspace(id), { recursive: true, force: true }).catch(this.onError);
    return true;
  }

  // ── turns ────────────────────────────────────────────────────────────────

  async sendMessage(userId: string, input: SendMessageInput) {
    const { sessionId, text } = input;
    const strategy = input.strategy ?? 'ENQUEUE';
    const attachments = input.attachments ?? [];
    await this.get(userId, sessionId);
    const runner = this.runner(sessionId);
    if (runner.deleting || this.stopping) throw this.unavailable(runner);

    let interrupted: RunningTurn | null = null;
    const answer = await this.exclusive(runner, async () => {
      const { store } = this.options;
      if (input.clientMessageId != null) {
        const first = await store.getClientMessage(sessionId, input.clientMessageId);
        if (first) return first;
      }
      // After the idempotency lookup: a retry answers as the first call did, whatever its text.
      if (text.trim() === '' && attachments.length === 0) throw badInput('text must not be empty.');
      const running = runner.turn;
      if (running && strategy === 'REJECT') {
        throw conflict('A turn is running in this session (strategy REJECT).');
      }
      const message: QueuedMessageRecord = {
        turnId: this.newId(),
        messageId: this.newId(),
        text,
        attachments,
        createdAt: new Date(this.options.clock.now()).toISOString(),
      };
      const interrupt = running !== null && strategy === 'INTERRUPT';
      await store.enqueue(sessionId, message, interrupt);
      if (running) interrupted = interrupt ? running : null;
      else await this.startNext(sessionId, runner);
      const record = {
        turnId: message.turnId,
        queued: !interrupt && runner.turn?.turnId !== message.turnId,
      };
      if (input.clientMessageId != null) await store.putClientMessage(sessionId, input.clientMessageId, record);
      return record;
    });
    const toInterrupt = interrupted as RunningTurn | null;
    if (toInterrupt) {
      toInterrupt.stopReason = 'CANCELLED';
      toInterrupt.controller.abort();
      await toInterrupt.done;
    }
    return { ...answer, session: await this.get(userId, sessionId) };
  }

  async cancelTurn(userId: string, sessionId: string): Promise<SessionRecord> {
    await this.get(userId, sessionId);
    const turn = this.runners.get(sessionId)?.turn;
    if (turn) {
      turn.stopReason = 'CANCELLED';
      turn.controller.abort();
      await turn.done;
    }
    return this.get(userId, sessionId);
  }

  async respondToPermission(
    userId: string,
    input: { sessionId: string; requestId: string; allowed: boolean; alwaysAllow?: boolean | null },
  ): Promise<{ requestId: string; status: PermissionStatus; session: SessionRecord }> {
    const { sessionId, requestId } = input;
    await this.get(userId, sessionId);
    const permission = await this.options.store.getPermission(sessionId, requestId);
    if (!permission) throw notFound('Permission request');
    const gate = this.runners.get(sessionId)?.turn?.gate;
    const status =
      permission.status === 'PENDING' && gate
        ? await gate.resolve(requestId, input.allowed, input.alwaysAllow ?? false, 'USER')
        : null;
    if (!status) {
      const current = (await this.options.store.getPermission(sessionId, requestId))?.status ?? permission.status;
      throw conflict(`Permission request already resolved (${current}).`);
    }
    return { requestId, status, session: await this.get(userId, sessionId) };
  }

  /**
   * Start-up recovery: a turn left without a CompleteEvent (the process died) gets one,
   * INTERRUPTED, after its pending permissions are CANCELLED; then queued messages run.
   */
  async recover(): Promise<void> {
    const { store, log, clock } = this.options;
    for (const session of await store.listUnsettledSessions()) {
      const runner = this.runner(session.id);
      await this.exclusive(runner, async () => {
        if (runner.turn) return;
        if (session.status !== 'IDLE') {
          const [last] = await store.readEvents(session.id, session.lastSeq - 1, 1);
          const turnId = last?.turnId ?? null;
          const at = () => new Date(clock.now()).toISOString();
          for (const p of await store.listPermissions(session.id, 'PENDING')) {
            log.emit({
              type: 'PERMISSION_RESOLVED',
              sessionId: session.id,
              turnId: p.turnId,
              at: at(),
              requestId: p.request.requestId,
              allowed: false,
              alwaysAllow: false,
              resolution: 'CANCELLED',
            });
          }
          await log.emitAndWait({ type: 'COMPLETE', sessionId: session.id, turnId, at: at(), reason: 'INTERRUPTED', usage: null });
        }
        await this.startNext(session.id, runner);
      });
    }
  }

  /**
   * Stops every running turn with CompleteEvent{INTERRUPTED} and starts no new ones; queued
   * messages stay queued for the next start.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const turns = [...this.runners.values()].flatMap((r) => (r.turn ? [r.turn] : []));
    for (const turn of turns) {
      turn.stopReason = 'INTERRUPTED';
      turn.controller.abort();
    }
    await Promise.all(turns.map((t) => t.done));
    await this.options.log.drain();
  }

  // ── internals ────────────────────────────────────────────────────────────

  private runner(sessionId: string): Runner {
    let runner = this.runners.get(sessionId);
    if (!runner) {
      runner = { turn: null, deleting: false, lock: Promise.resolve() };
      this.runners.set(sessionId, runner);
    }
    return runner;
  }

  private unavailable(runner: Runner) {
    return runner.deleting ? notFound('Session') : new SwitchboardError('CONFLICT', 'The server is shutting down.');
  }

  /**
   * Runs `fn` after every earlier exclusive section of the session. Deciding "is a turn
   * running?" and acting on the queue must not interleave with a turn ending and picking
   * the next message, or a message could be queued behind a turn that never comes.
   */
  private exclusive<T>(runner: Runner, fn: () => Promise<T>): Promise<T> {
    const result = runner.lock.then(fn);
    runner.lock = result.catch(() => {});
    return result;
  }

  private workspace(sessionId: string) {
    return join(this.options.dataDir, 'workspaces', sessionId);
  }

  /**
   * Starts the head of the queue if nothing runs. Call inside `exclusive`. Resolves once the
   * turn's UserMessageEvent is stored and published; the turn goes on in the background.
   */
  private async startNext(sessionId: string, runner: Runner): Promise<void> {
    if (runner.turn || runner.deleting || this.stopping) return;
    const { store, log, clock } = this.options;
    const [next] = await store.listQueue(sessionId);
    const session = next ? await store.getSession(sessionId) : null;
    if (!next || !session) return;

    const controller = new AbortController();
    const gate = new PermissionGate({
      clock,
      log,
      store,
      sessionId,
      turnId: next.turnId,
      mode: session.permissionMode,
      timeoutMs: this.options.permissionTimeoutMs ?? 300_000,
      newId: this.newId,
    });
    let finished!: () => void;
    const turn: RunningTurn = {
      turnId: next.turnId,
      controller,
      gate,
      stopReason: 'CANCELLED',
      done: new Promise<void>((resolve) => (finished = resolve)),
    };
    runner.turn = turn;

    const history = await store.listMessages(sessionId);
    await log.emitAndWait({
      type: 'USER_MESSAGE',
      sessionId,
      turnId: next.turnId,
      at: new Date(clock.now()).toISOString(),
      messageId: next.messageId,
      text: next.text,
    });

    void runTurn({
      turn: {
        sessionId,
        turnId: next.turnId,
        model: session.model,
        text: next.text,
        attachments: next.attachments,
        history,
        workspace: this.workspace(sessionId),
      },
      agent: this.options.agent,
      log,
      clock,
      gate,
      controller,
      stopReason: () => turn.stopReason,
      onError: this.onError,
    })
      .catch(this.onError)
      .then(() =>
        this.exclusive(runner, async () => {
          runner.turn = null;
          await this.startNext(sessionId, runner);
        }),
      )
      .catch(this.onError)
      .finally(finished);
  }
}
