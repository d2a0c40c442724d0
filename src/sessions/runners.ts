import { join } from 'node:path';
import type { Agent } from '../agents/types.js';
import type { Clock } from '../clock.js';
import type { StopReason } from '../events/types.js';
import type { EventLog } from '../log/event-log.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { FencedError } from '../store/fenced.js';
import type { SessionRecord, StartedTurn, Store, TurnOutcome, TurnRequest } from '../store/types.js';
import type { SessionCommand } from './cluster.js';
import type { Leases } from './leases.js';
import { PermissionGate } from './permissions.js';
import { runTurn } from './turn.js';

export interface SessionRunnersOptions {
  store: Store;
  log: EventLog;
  clock: Clock;
  agent: Agent;
  /** This instance's leases (the placement's): only the holder starts a session's turns. */
  leases: Leases;
  instanceId: string;
  /** Sessions' workspaces live in `<dataDir>/workspaces/<sessionId>`. */
  dataDir: string;
  /** How long a permission request waits before it is denied. @default 300000 */
  permissionTimeoutMs?: number;
  newId: () => string;
  onError: (error: unknown) => void;
  /** Each turn logs through a child of it (sessionId, turnId). */
  logger: Logger;
  /** Counts turns and permission waits. @default not counted */
  metrics?: Metrics;
  /** Told every session record a turn start read (SessionManager remembers owners). */
  seen?: (session: SessionRecord) => void;
}

/** A turn running in this process. */
export interface RunningTurn {
  turnId: string;
  controller: AbortController;
  gate: PermissionGate;
  /** null: the lease was lost to another instance, which ends the turn itself; emit nothing. */
  stopReason: StopReason | null;
  /** Settles when the turn has ended and the next queued one (if any) has started. */
  done: Promise<void>;
}

/** In-memory state of a session that has had activity in this process. */
export interface Runner {
  turn: RunningTurn | null;
  deleting: boolean;
  /** Serializes decisions on the turn and the queue (see `exclusive`). */
  lock: Promise<unknown>;
  /** Exclusive sections queued or running: a runner is dropped only when none but the caller's is. */
  sections: number;
}

/**
 * The turns of the sessions this instance runs: per session, the turn running here (if any)
 * and the exclusive sections that decide on it and on the queue; starting the head of the
 * queue (one store operation), running a turn in the background and the next after it, taking
 * over a session a dead holder left open, giving the lease up once a session is idle.
 * SessionManager's commands decide what to do; this is where a turn lives while it runs.
 */
export class SessionRunners {
  private readonly runners = new Map<string, Runner>();
  private stopping = false;

  constructor(private readonly options: SessionRunnersOptions) {}

  /** The session's runner, made if there is none. */
  runner(sessionId: string): Runner {
    let runner = this.runners.get(sessionId);
    if (!runner) {
      runner = { turn: null, deleting: false, lock: Promise.resolve(), sections: 0 };
      this.runners.set(sessionId, runner);
    }
    return runner;
  }

  /** The session's runner if it has one; no new one is made. */
  find(sessionId: string): Runner | undefined {
    return this.runners.get(sessionId);
  }

  /** Forgets the session's runner (the session was deleted, or is not there). */
  drop(sessionId: string, runner?: Runner): void {
    if (runner === undefined || this.runners.get(sessionId) === runner) this.runners.delete(sessionId);
  }

  /** The turns running here now. */
  turns(): RunningTurn[] {
    return [...this.runners.values()].flatMap((r) => (r.turn ? [r.turn] : []));
  }

  /** From now on no turn starts here (server stop); queued messages stay queued. */
  halt(): void {
    this.stopping = true;
  }

  /**
   * Runs `fn` after every earlier exclusive section of the session. Deciding "is a turn
   * running?" and acting on the queue must not interleave with a turn ending and picking
   * the next message, or a message could be queued behind a turn that never comes.
   */
  exclusive<T>(runner: Runner, fn: () => Promise<T>): Promise<T> {
    runner.sections++;
    const result = runner.lock.then(fn).finally(() => runner.sections--);
    runner.lock = result.catch(() => {});
    return result;
  }

  /** The session's workspace folder. */
  workspace(sessionId: string): string {
    return join(this.options.dataDir, 'workspaces', sessionId);
  }

  /**
   * This instance lost the session's lease (renewal saw another holder or a newer token, or
   * the store refused a write as fenced). The new holder ends the turn (INTERRUPTED); this
   * instance stops it at once and publishes nothing more of it.
   */
  lost(sessionId: string): void {
    const turn = this.runners.get(sessionId)?.turn;
    if (turn) {
      turn.stopReason = null;
      turn.controller.abort();
    }
    this.options.log.discard(sessionId);
  }

  /**
   * Called when this instance has just claimed a session's lease: a turn still open in the
   * store but running nowhere here (its instance died, or this one restarted) ends
   * INTERRUPTED, its pending permissions CANCELLED; then the queue runs. Before a sendMessage,
   * nothing: its store operation sees the session's state and does this itself (SessionManager.sendMessageHere).
   */
  async adopt(sessionId: string, next?: SessionCommand): Promise<void> {
    if (next?.op === 'sendMessage') return;
    const runner = this.runner(sessionId);
    await this.exclusive(runner, async () => {
      if (runner.turn) return;
      // One call when the session was left idle: its queue, if any, starts.
      const outcome = await this.startNext(sessionId, runner, { onlyIfIdle: true });
      const session = outcome?.outcome === 'done' ? outcome.session : null;
      if (session && session.status !== 'IDLE') await this.settle(sessionId, runner, session);
    });
  }

  /**
   * Ends the turn a dead holder left open (`session` shows it: not IDLE, and nothing runs here),
   * then starts the queue. Call inside `exclusive`.
   */
  async settle(sessionId: string, runner: Runner, session: SessionRecord): Promise<void> {
    const { store, log, clock } = this.options;
    const [last] = await store.readEvents(sessionId, session.lastSeq - 1, 1);
    const turnId = last?.turnId ?? null;
    const at = () => new Date(clock.now()).toISOString();
    for (const p of await store.listPermissions(sessionId, 'PENDING')) {
      log.emit({
        type: 'PERMISSION_RESOLVED',
        sessionId,
        turnId: p.turnId,
        at: at(),
        requestId: p.request.requestId,
        allowed: false,
        alwaysAllow: false,
        resolution: 'CANCELLED',
      });
    }
    await log.emitAndWait({ type: 'COMPLETE', sessionId, turnId, at: at(), reason: 'INTERRUPTED', usage: null });
    // A turn's end like any other, though its start was another process's.
    this.options.logger.info({ sessionId, turnId, reason: 'INTERRUPTED', recovered: true }, 'turn ended');
    await this.startNext(sessionId, runner);
  }

  /** Gives the lease up once the session has nothing running and nothing queued. */
  async releaseIfIdle(sessionId: string): Promise<void> {
    if (!this.options.leases.holds(sessionId)) return;
    // Always inside `exclusive`, so that a startNext that follows sees a claim made meanwhile
    // marked stale (Leases.release).
    const runner = this.runner(sessionId);
    const release = async () => {
      if (runner.turn || !this.options.leases.holds(sessionId)) return;
      if ((await this.options.store.listQueue(sessionId)).length > 0 && !this.stopping) return;
      await this.options.leases.release(sessionId);
      // Not while another section waits on this runner (a sendMessage that took it before this
      // release ran): that section would start a turn on a runner no longer in the map, which
      // cancelTurn, deleteSession and stop() could not find.
      if (!runner.turn && !runner.deleting && runner.sections === 1 && this.runners.get(sessionId) === runner) {
        this.runners.delete(sessionId);
      }
    };
    await this.exclusive(runner, release).catch(this.options.onError);
  }

  /**
   * Whether a turn may start here now: nothing runs, the session is not being deleted, the
   * server is not stopping, and this instance holds the lease. A lease claimed or renewed
   * moments ago (the sendMessage that got here claimed it) is not claimed again: that would be
   * a write per turn start for nothing. Call inside `exclusive`.
   */
  async mayStart(sessionId: string, runner: Runner): Promise<boolean> {
    if (runner.turn || runner.deleting || this.stopping) return false;
    if (!this.options.leases.isFresh(sessionId)) {
      const lease = await this.options.leases.claim(sessionId);
      if (lease.holder !== this.options.instanceId) return false;
      this.options.leases.granted(sessionId, lease);
    }
    return true;
  }

  /**
   * Starts the head of the queue if nothing runs (one store call). Call inside `exclusive`.
   * Resolves once the turn's UserMessageEvent is stored and published; the turn goes on in the
   * background. The store's answer (its session), or null when none was asked or the write was
   * refused as fenced (the lease is lost: whoever holds it runs the queue).
   */
  async startNext(sessionId: string, runner: Runner, options?: { onlyIfIdle?: boolean }): Promise<TurnOutcome | null> {
    const start = await this.mayStart(sessionId, runner);
    // Not starting: adopt still needs the session's state; nobody else asks.
    if (!start && !options?.onlyIfIdle) return null;
    try {
      return await this.startTurn(sessionId, runner, { start, onlyIfIdle: options?.onlyIfIdle });
    } catch (error) {
      // Already handled as a refused append (EventLog.write): the turn is another instance's.
      if (error instanceof FencedError) return null;
      throw error;
    }
  }

  /**
   * Store.startTurn through the event log (the USER_MESSAGE it appends is published in the
   * session's order), then the turn it started, if any, runs. Call inside `exclusive`.
   */
  async startTurn(sessionId: string, runner: Runner, request: Omit<TurnRequest, 'at' | 'token'>): Promise<TurnOutcome> {
    const { store, log, clock } = this.options;
    const at = new Date(clock.now()).toISOString();
    const outcome = await log.write(
      sessionId,
      (token) => store.startTurn(sessionId, { ...request, at, token }),
      (o) => (o.outcome === 'done' && o.started ? [o.started.event] : []),
    );
    if (outcome.outcome === 'done' || outcome.outcome === 'duplicate') this.options.seen?.(outcome.session);
    if (outcome.outcome === 'done' && outcome.started) this.run(sessionId, runner, outcome.started, outcome.session);
    return outcome;
  }

  /** Runs a turn Store.startTurn started, in the background; the next one starts after it. */
  private run(sessionId: string, runner: Runner, started: StartedTurn, session: SessionRecord): void {
    const { store, log, clock } = this.options;
    const next = started.message;
    const controller = new AbortController();
    const gate = new PermissionGate({
      clock,
      log,
      store,
      sessionId,
      turnId: next.turnId,
      mode: session.permissionMode,
      timeoutMs: this.options.permissionTimeoutMs ?? 300_000,
      newId: this.options.newId,
      metrics: this.options.metrics,
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

    void runTurn({
      turn: {
        sessionId,
        turnId: next.turnId,
        model: session.model,
        text: next.text,
        attachments: next.attachments,
        history: started.history,
        workspace: this.workspace(sessionId),
      },
      agent: this.options.agent,
      log,
      clock,
      gate,
      controller,
      stopReason: () => turn.stopReason,
      onError: this.options.onError,
      logger: this.options.logger.child({ sessionId, turnId: next.turnId }),
      metrics: this.options.metrics,
    })
      .catch(this.options.onError)
      .then(() =>
        this.exclusive(runner, async () => {
          runner.turn = null;
          await this.startNext(sessionId, runner);
        }),
      )
      .then(() => this.releaseIfIdle(sessionId))
      .catch(this.options.onError)
      .finally(finished);
  }
}
