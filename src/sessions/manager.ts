import { rm } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { Agent } from '../agents/types.js';
import { badInput, conflict, notFound, SwitchboardError } from '../errors.js';
import type { EventLog } from '../log/event-log.js';
import type { PubSub } from '../events/pubsub/types.js';
import type { Metrics } from '../observability/metrics.js';
import { sessionTopic, type SessionTopicMessage } from '../events/topics.js';
import type { PermissionMode, PermissionStatus } from '../events/types.js';
import { FencedError } from '../store/fenced.js';
import type { AttachmentRecord, QueuedMessageRecord, SessionRecord, Store } from '../store/types.js';
import type { UserConfigService } from '../user-config.js';
import type { SessionCommand } from './cluster.js';
import { defaultLimits, RateLimiter, type Limits, type RateGate } from '../limits.js';
import { checkSessionId, newId as defaultNewId } from './ids.js';
import type { Leases } from './leases.js';
import { Placement } from './placement.js';
import { SessionRunners, type RunningTurn } from './runners.js';
import { logError } from '../observability/error-sink.js';
import { defaultLogger, type Logger } from '../observability/logger.js';

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
  /** Where unexpected failures (agent crashes, store errors in background work) go. @default logged at `error` */
  onError?: (error: unknown) => void;
  /** Each turn logs through a child of it (sessionId, turnId): its start at debug, its end at info. @default errors only, on stdout */
  logger?: Logger;
  /** Counts turns and permission waits (observability/metrics.ts). @default not counted */
  metrics?: Metrics;
  /**
   * How long a claim to run a session's turns lasts without renewal. The holder renews it
   * every third of this; when an instance dies, another takes its sessions over after this.
   * @default 10000
   */
  leaseTtlMs?: number;
  /** How long a command forwarded to the instance running a session waits for its answer. @default 5000 */
  forwardTimeoutMs?: number;
  /** This instance's name in leases and forwarded commands. @default a random UUID */
  instanceId?: string;
  /**
   * Counts `sendMessage` calls per limit key against `limits.sendMessagesPerMinute`: a
   * budget shared by instances (sessions/redis-rate.ts) or this process's own.
   * @default an in-process RateLimiter (none when the rate is 0)
   */
  sendRate?: RateGate;
  /** Message size, queue, rate and quota bounds. @default defaultLimits */
  limits?: Pick<
    Limits,
    | 'maxMessageChars'
    | 'maxAttachments'
    | 'maxAttachmentBytes'
    | 'sendMessagesPerMinute'
    | 'maxQueuedMessages'
    | 'maxSessionsPerUser'
    | 'maxStoredBytesPerUser'
  >;
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

/**
 * A sendMessage as the placement carries it (here or forwarded): with an idempotency key of the
 * command's own when the client gave none. Placement.run retries a command whose answer did not
 * come (the holder stalled, then lost the session): the retry must find the first one's effect.
 */
type SendMessageCommand = SendMessageInput & { commandKey?: string };

type RespondInput = { sessionId: string; requestId: string; allowed: boolean; alwaysAllow?: boolean | null };
type RespondAnswer = { requestId: string; status: PermissionStatus; session: SessionRecord };

export const DEFAULT_TITLE = 'New session';
const MAX_TITLE_LENGTH = 200;
/** Session owners remembered (SessionManager.owners): ~100 bytes each. */
const OWNERS_KEPT = 10_000;

/**
 * The session commands: create, list, read, delete, send a message (queue, reject or
 * interrupt), cancel a turn, answer a permission request; over the Store (state) and the
 * EventLog (what happened). Transport-free: resolvers call it with the caller's user id, and
 * it reports another user's session exactly as an absent one. The turns the commands start
 * run in sessions/runners.ts.
 *
 * One instance at a time runs a session's turns: the one holding its lease in the store.
 * Every mutation is carried out there (sessions/placement.ts decides where, forwarding to the
 * holder when need be); what it does there is this class's, as is what taking over a session
 * from a dead holder means (its turn ends INTERRUPTED). With one instance, all of this
 * reduces to running everything locally.
 */
export class SessionManager {
  readonly instanceId: string;
  /** The turns running here, and what decides on them (sessions/runners.ts). */
  private readonly turns: SessionRunners;
  /** Where each session's commands run (leases, forwarding, takeovers). */
  private readonly placement: Placement;
  /** The sessions whose lease this instance holds (the placement's). */
  private readonly leases: Leases;
  private readonly newId: () => string;
  private readonly onError: (error: unknown) => void;
  private readonly logger: Logger;
  private readonly limits: NonNullable<SessionManagerOptions['limits']>;
  private readonly sendRate: RateGate | null;
  private stopping = false;
  /**
   * Sessions' owners as store answers have shown them (an owner never changes), so that a
   * sendMessage to a session this process has seen skips the ownership read before its lease
   * claim: Store.startTurn checks ownership again anyway, and a session deleted meanwhile (by
   * another instance) is answered NOT_FOUND from there. The oldest go past OWNERS_KEPT.
   */
  private readonly owners = new Map<string, string>();
  /** Refused writes already counted (see the placement's `fenced`). */
  private readonly counted = new WeakSet<FencedError>();

  constructor(private readonly options: SessionManagerOptions) {
    this.newId = options.newId ?? defaultNewId;
    this.onError = options.onError ?? logError;
    this.logger = options.logger ?? defaultLogger();
    this.instanceId = options.instanceId ?? defaultNewId();
    this.limits = { ...defaultLimits, ...options.limits };
    const perMinute = this.limits.sendMessagesPerMinute;
    this.sendRate = perMinute > 0 ? (options.sendRate ?? new RateLimiter(perMinute, 60_000, () => options.clock.now())) : null;
    this.placement = new Placement({
      store: options.store,
      pubsub: options.pubsub,
      clock: options.clock,
      instanceId: this.instanceId,
      leaseTtlMs: options.leaseTtlMs ?? 10_000,
      forwardTimeoutMs: options.forwardTimeoutMs,
      onError: this.onError,
      execute: (command) => this.execute(command),
      adopt: (sessionId, next) => this.turns.adopt(sessionId, next),
      releaseIfIdle: (sessionId) => this.turns.releaseIfIdle(sessionId),
      // Not twice for one write: a refusal EventLog.write met is counted by `refused` below.
      fenced: (error) => void (this.counted.has(error) || this.options.metrics?.fencedWrite()),
      lost: (sessionId) => this.turns.lost(sessionId),
    });
    this.leases = this.placement.leases;
    this.turns = new SessionRunners({
      store: options.store,
      log: options.log,
      clock: options.clock,
      agent: options.agent,
      leases: this.leases,
      instanceId: this.instanceId,
      dataDir: options.dataDir,
      permissionTimeoutMs: options.permissionTimeoutMs,
      newId: this.newId,
      onError: this.onError,
      logger: this.logger,
      metrics: options.metrics,
      seen: (session) => this.ownedBy(session),
    });
    options.log.fenceWith({
      token: (sessionId) => this.leases.token(sessionId),
      refused: (sessionId, error) => {
        // Seen in the logs as this line, once per refused batch; the turn ends here silently.
        this.logger.warn({ sessionId, token: error.token }, 'write refused: the session was granted to another instance (fenced)');
        this.options.metrics?.fencedWrite();
        this.counted.add(error);
        this.leases.forget(sessionId);
        this.turns.lost(sessionId);
      },
    });
  }

  /**
   * Starts listening for forwarded commands, takes over sessions left unsettled (a crash,
   * a dead instance), and keeps doing so while it runs.
   */
  async start(): Promise<void> {
    await this.placement.start();
  }

  // ── reads ────────────────────────────────────────────────────────────────

  /** The session if it exists and is the user's, else null; `withUsage`: see Store.getSession. */
  async find(userId: string, id: string, options?: { withUsage?: boolean }): Promise<SessionRecord | null> {
    const session = await this.options.store.getSession(id, options);
    if (session) this.ownedBy(session);
    return session && session.userId === userId ? session : null;
  }

  /** The session if it exists and is the user's, else NOT_FOUND. */
  async get(userId: string, id: string, options?: { withUsage?: boolean }): Promise<SessionRecord> {
    const session = await this.find(userId, id, options);
    if (!session) throw notFound('Session');
    return session;
  }

  list(userId: string, limit: number) {
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw badInput('limit must be between 1 and 200.');
    return this.options.store.listSessions(userId, limit);
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
    const { maxSessionsPerUser } = this.limits;
    const outcome = await this.options.store.createSession(session, { maxSessionsPerUser });
    if (outcome === 'over-quota') {
      throw new SwitchboardError('QUOTA_EXCEEDED', `Quota exceeded: at most ${maxSessionsPerUser} sessions per user; delete one to create another.`);
    }
    if (outcome === 'exists') throw conflict(`A session with id "${id}" exists.`);
    this.ownedBy(session);
    return session;
  }

  async delete(userId: string, id: string): Promise<boolean> {
    await this.get(userId, id);
    const deleted = (await this.placement.run(id, { op: 'delete', userId, sessionId: id })) as boolean;
    this.owners.delete(id);
    return deleted;
  }

  private async deleteHere(userId: string, id: string): Promise<boolean> {
    await this.get(userId, id);
    const runner = this.turns.runner(id);
    if (runner.deleting) throw notFound('Session');
    runner.deleting = true;
    await this.turns.exclusive(runner, () => this.options.store.clearQueue(id));
    const turn = runner.turn;
    if (turn) {
      turn.stopReason = 'CANCELLED';
      turn.controller.abort();
      await turn.done;
    }
    await this.options.log.settled(id);
    await this.options.store.deleteSession(id);
    this.owners.delete(id);
    this.leases.drop(id);
    const message: SessionTopicMessage = { kind: 'deleted' };
    await this.options.pubsub.publish(sessionTopic(id), message);
    this.turns.drop(id);
    await rm(this.turns.workspace(id), { recursive: true, force: true }).catch(this.onError);
    return true;
  }

  // ── turns ────────────────────────────────────────────────────────────────

  /** `limitKey`: whom the call counts against for `sendMessagesPerMinute` (transport/limit-key.ts). */
  async sendMessage(
    userId: string,
    input: SendMessageInput,
    limitKey: string = userId,
  ): Promise<{ turnId: string; queued: boolean; session: SessionRecord }> {
    this.checkMessageSize(input);
    // A session seen before: its owner is known (it never changes), and the store operation of
    // sendMessageHere checks existence and ownership itself. Else read: no lease is claimed for
    // a session that does not exist or is not the user's.
    const owner = this.owners.get(input.sessionId);
    if (owner === undefined) await this.get(userId, input.sessionId);
    else if (owner !== userId) throw notFound('Session');
    if (this.stopping) throw this.unavailable();
    if (this.sendRate && !(await this.sendRate.take(limitKey))) {
      throw new SwitchboardError('RATE_LIMITED', `At most ${this.limits.sendMessagesPerMinute} messages a minute; try again shortly.`);
    }
    const command: SendMessageCommand = input.clientMessageId != null ? input : { ...input, commandKey: `command:${this.newId()}` };
    return (await this.placement.run(input.sessionId, { op: 'sendMessage', userId, input: command })) as {
      turnId: string;
      queued: boolean;
      session: SessionRecord;
    };
  }

  private async sendMessageHere(userId: string, input: SendMessageCommand) {
    const { sessionId, text } = input;
    // Recorded with the effect (Store.startTurn): the client's, else the command's.
    const idempotencyKey = input.clientMessageId ?? input.commandKey ?? null;
    const strategy = input.strategy ?? 'ENQUEUE';
    const attachments = input.attachments ?? [];
    const runner = this.turns.runner(sessionId);
    if (runner.deleting) throw notFound('Session');
    if (this.stopping) throw this.unavailable();

    let interrupted: RunningTurn | null = null;
    const answer = await this.turns.exclusive(runner, async () => {
      // Checked again here: the section may have waited for others past the start of stop().
      if (this.stopping) throw this.unavailable();
      if (text.trim() === '' && attachments.length === 0) {
        // Rare, and answered as ever: after the ownership check and the idempotency lookup (a
        // retry answers as the first call did, whatever its text).
        const session = await this.get(userId, sessionId);
        const first = idempotencyKey != null ? await this.options.store.getClientMessage(sessionId, idempotencyKey) : null;
        if (first) return { ...first, session };
        throw badInput('text must not be empty.');
      }
      const running = runner.turn;
      const interrupt = running !== null && strategy === 'INTERRUPT';
      const message: QueuedMessageRecord = {
        turnId: this.newId(),
        messageId: this.newId(),
        text,
        attachments,
        createdAt: new Date(this.options.clock.now()).toISOString(),
      };
      const { maxQueuedMessages, maxStoredBytesPerUser } = this.limits;
      const start = running === null && (await this.turns.mayStart(sessionId, runner));
      // Ownership, idempotency, quota, strategy, queue bound, the enqueue and (idle) the turn's
      // start: one store operation.
      const outcome = await this.turns.startTurn(sessionId, runner, {
        userId,
        message: {
          record: message,
          front: interrupt,
          clientMessageId: idempotencyKey ?? undefined,
          maxStoredBytes: maxStoredBytesPerUser,
          reject: running !== null && strategy === 'REJECT',
          maxQueued: running ? maxQueuedMessages : 0,
        },
        start,
        // A session left open by a dead holder is settled first (below): adopt left it to this.
        onlyIfIdle: true,
      });
      switch (outcome.outcome) {
        case 'not-found':
          this.owners.delete(sessionId);
          // Not kept for a session that is not there (or not the user's).
          if (!runner.turn && runner.sections === 1) this.turns.drop(sessionId, runner);
          throw notFound('Session');
        case 'duplicate':
          return { ...outcome.record, session: outcome.session };
        case 'over-quota':
          this.checkStoredBytes(outcome.usage);
          throw new Error('unreachable: over-quota within the quota');
        case 'rejected':
          throw conflict('A turn is running in this session (strategy REJECT).');
        case 'queue-full':
          throw new SwitchboardError('RATE_LIMITED', `The session's queue is full (${maxQueuedMessages} messages).`);
        case 'done': {
          if (running) interrupted = interrupt ? running : null;
          const record = outcome.record!;
          if (!start || outcome.started || outcome.session.status === 'IDLE') return { ...record, session: outcome.session };
          // Rare: just taken over from a holder that died mid-turn. Its turn ends, the queue runs,
          // and the record says what became of this message.
          await this.turns.settle(sessionId, runner, outcome.session);
          const exact = { turnId: record.turnId, queued: runner.turn?.turnId !== record.turnId };
          if (idempotencyKey != null && exact.queued !== record.queued) await this.options.store.putClientMessage(sessionId, idempotencyKey, exact);
          return { ...exact, session: await this.get(userId, sessionId) };
        }
      }
    });
    const toInterrupt = interrupted as RunningTurn | null;
    if (!toInterrupt) return answer;
    toInterrupt.stopReason = 'CANCELLED';
    toInterrupt.controller.abort();
    await toInterrupt.done;
    // The session as the interrupted turn's end and this message's start left it.
    return { ...answer, session: await this.get(userId, sessionId) };
  }

  async cancelTurn(userId: string, sessionId: string): Promise<SessionRecord> {
    await this.get(userId, sessionId);
    return (await this.placement.run(sessionId, { op: 'cancelTurn', userId, sessionId })) as SessionRecord;
  }

  private async cancelTurnHere(userId: string, sessionId: string): Promise<SessionRecord> {
    await this.get(userId, sessionId);
    const turn = this.turns.find(sessionId)?.turn;
    if (turn) {
      turn.stopReason = 'CANCELLED';
      turn.controller.abort();
      await turn.done;
    }
    return this.get(userId, sessionId);
  }

  async respondToPermission(userId: string, input: RespondInput): Promise<RespondAnswer> {
    await this.get(userId, input.sessionId);
    const permission = await this.options.store.getPermission(input.sessionId, input.requestId);
    if (!permission) throw notFound('Permission request');
    if (permission.status !== 'PENDING') throw conflict(`Permission request already resolved (${permission.status}).`);
    return (await this.placement.run(input.sessionId, { op: 'respondToPermission', userId, input })) as RespondAnswer;
  }

  private async respondHere(userId: string, input: RespondInput): Promise<RespondAnswer> {
    const { sessionId, requestId } = input;
    await this.get(userId, sessionId);
    const permission = await this.options.store.getPermission(sessionId, requestId);
    if (!permission) throw notFound('Permission request');
    const gate = this.turns.find(sessionId)?.turn?.gate;
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
   * Stops every running turn with CompleteEvent{INTERRUPTED} and starts no new ones; queued
   * messages stay queued (another instance, or the next start, runs them).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.turns.halt();
    this.placement.halt();
    const interruptAll = async () => {
      const turns = this.turns.turns();
      for (const turn of turns) {
        turn.stopReason = 'INTERRUPTED';
        turn.controller.abort();
      }
      await Promise.all(turns.map((t) => t.done));
    };
    await interruptAll();
    // Renewals, sweeps and commands (forwarded ones too) already under way when the halt came
    // still write to the store; the store is closed after this, so they finish first. A sweep
    // among them may have adopted a session and started its queue: that turn ends too.
    await this.placement.settle();
    await interruptAll();
    await this.options.log.drain();
    // Hand the sessions over at once rather than after the leases expire.
    await this.placement.close();
  }

  // ── what runs where the session's lease is held (see Placement) ──────────

  /** A command, carried out here (the placement has found this instance holds the lease). */
  private execute(command: SessionCommand): Promise<unknown> {
    switch (command.op) {
      case 'sendMessage':
        return this.sendMessageHere(command.userId, command.input as SendMessageCommand);
      case 'cancelTurn':
        return this.cancelTurnHere(command.userId, command.sessionId);
      case 'respondToPermission':
        return this.respondHere(command.userId, command.input as RespondInput);
      case 'delete':
        return this.deleteHere(command.userId, command.sessionId);
    }
  }

  // ── internals ────────────────────────────────────────────────────────────

  /** Bounds on what one message may carry, checked before anything else is done with it. */
  private checkMessageSize(input: SendMessageInput) {
    const { maxMessageChars, maxAttachments, maxAttachmentBytes } = this.limits;
    const tooLarge = (message: string) => new SwitchboardError('PAYLOAD_TOO_LARGE', message);
    if (maxMessageChars > 0 && input.text.length > maxMessageChars) throw tooLarge(`text is longer than ${maxMessageChars} characters.`);
    const attachments = input.attachments ?? [];
    if (maxAttachments > 0 && attachments.length > maxAttachments) throw tooLarge(`at most ${maxAttachments} attachments per message.`);
    let bytes = 0;
    for (const a of attachments) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(a.dataBase64) || a.dataBase64.length % 4 === 1) {
        throw badInput(`attachment "${a.name.slice(0, 100)}" is not valid base64.`);
      }
      bytes += Math.floor((a.dataBase64.length * 3) / 4);
      if (maxAttachmentBytes > 0 && bytes > maxAttachmentBytes) throw tooLarge(`attachments are larger than ${maxAttachmentBytes} bytes in all.`);
    }
  }

  /**
   * Past the stored-bytes quota no message is taken. Only here, when a message is sent: a
   * turn already running (or queued) ends normally even if it takes the user past it.
   */
  private checkStoredBytes(usage: SessionRecord['ownerUsage']) {
    const max = this.limits.maxStoredBytesPerUser;
    if (max > 0 && usage && usage.storedBytes > max) {
      throw new SwitchboardError(
        'QUOTA_EXCEEDED',
        `Quota exceeded: your sessions hold ${usage.storedBytes} bytes of events, more than the ${max} allowed per user; delete sessions to free space.`,
      );
    }
  }

  /** Remembers the session's owner (see `owners`). */
  private ownedBy(session: SessionRecord): void {
    if (this.owners.has(session.id)) return;
    if (this.owners.size >= OWNERS_KEPT) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(session.id, session.userId);
  }

  private unavailable() {
    // Not CONFLICT: nothing is wrong with the request, and another instance (or this one, restarted) takes it.
    return new SwitchboardError('SERVICE_UNAVAILABLE', 'The server is shutting down; try again shortly.');
  }
}
