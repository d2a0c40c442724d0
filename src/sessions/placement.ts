import { sleep, type Clock, type TimerHandle } from '../clock.js';
import type { PubSub } from '../events/pubsub/types.js';
import { SwitchboardError } from '../errors.js';
import { FencedError } from '../store/fenced.js';
import type { Store } from '../store/types.js';
import { Cluster, NotHolderError, UnreachableError, type SessionCommand } from './cluster.js';
import { Leases } from './leases.js';

export interface PlacementOptions {
  store: Store;
  pubsub: PubSub;
  clock: Clock;
  /** This instance's name in leases and forwarded commands. */
  instanceId: string;
  /** How long a lease lasts without renewal; renewed every third of it, swept every whole. */
  leaseTtlMs: number;
  /** How long a forwarded command waits for its answer. @default 5000 (Cluster's) */
  forwardTimeoutMs?: number;
  onError: (error: unknown) => void;
  /** Carries a command out here: this instance holds the session's lease. */
  execute: (command: SessionCommand) => Promise<unknown>;
  /**
   * This instance has just been granted the session's lease it did not hold: what a holder
   * that died left unsettled is settled, then the queue runs. `next`: the command about to
   * run here (absent for a sweep), which may do that itself.
   */
  adopt: (sessionId: string, next?: SessionCommand) => Promise<void>;
  /** A command's write was refused as fenced (counted: switchboard_fenced_writes_total). @default nothing */
  fenced?: (error: FencedError) => void;
  /** After a command ran here (or a sweep adopted the session): gives the lease up if idle. */
  releaseIfIdle: (sessionId: string) => Promise<void>;
  /**
   * The lease was found lost (a renewal or claim saw another holder or a newer token, or the
   * store refused a write as fenced): whatever runs here must end, silently.
   */
  lost: (sessionId: string) => void;
}

/**
 * Where a session's commands run. One instance at a time runs a session's turns: the one
 * holding its lease in the store. A command is carried out here when this instance holds (or
 * can claim) the lease, else forwarded to the holder over the pub/sub; a holder that does not
 * answer is waited out until its lease expires, and then this instance takes the session
 * over. It renews the leases it holds and sweeps for sessions whose holder died. What a
 * command does, and what adopting a session means, is the SessionManager's.
 */
export class Placement {
  /** The sessions whose lease this instance holds, and its lease writes. */
  readonly leases: Leases;
  private readonly cluster: Cluster;
  private timers: TimerHandle[] = [];
  private stopping = false;
  /**
   * What runs here now and writes to the store: renewals, sweeps, commands (local or
   * forwarded). Stopping waits for them (`settle`): the store is closed after, and a write
   * still on its way then fails ("Cannot use a pool after calling end") and is logged.
   */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: PlacementOptions) {
    this.leases = new Leases({
      store: options.store,
      clock: options.clock,
      instanceId: options.instanceId,
      ttlMs: options.leaseTtlMs,
      lost: options.lost,
    });
    this.cluster = new Cluster({
      pubsub: options.pubsub,
      clock: options.clock,
      instanceId: options.instanceId,
      timeoutMs: options.forwardTimeoutMs,
      handle: (command) => this.handleForwarded(command),
      onError: options.onError,
    });
  }

  /**
   * Starts listening for forwarded commands, takes over sessions left unsettled (a crash,
   * a dead instance), and keeps renewing and sweeping while it runs.
   */
  async start(): Promise<void> {
    const { clock, leaseTtlMs, onError } = this.options;
    await this.cluster.start();
    await this.sweep();
    // Each loop keeps one slot in `timers`, its next tick, so that halt() can clear it.
    const every = (ms: number, fn: () => Promise<void>) => {
      const slot = this.timers.length;
      const tick = () => {
        void this.track(fn())
          .catch(onError)
          .finally(() => {
            if (!this.stopping) this.timers[slot] = clock.setTimeout(tick, ms);
          });
      };
      this.timers[slot] = clock.setTimeout(tick, ms);
    };
    every(Math.max(1, Math.floor(leaseTtlMs / 3)), () => this.renewLeases());
    every(leaseTtlMs, () => this.sweep());
  }

  /** No more sweeps, renewals or forwarded commands; the leases are kept until `close()`. */
  halt(): void {
    this.stopping = true;
    for (const timer of this.timers) this.options.clock.clearTimeout(timer);
    this.timers = [];
  }

  /** Resolves once nothing started before `halt()` (renewal, sweep, command) still runs. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Hands every session over at once (rather than after the leases expire) and stops listening. */
  async close(): Promise<void> {
    this.halt();
    await this.settle();
    await this.leases.releaseAll(this.options.onError);
    this.cluster.stop();
  }

  /** Runs `command` on the instance holding the session's lease (see the class comment). */
  async run(sessionId: string, command: SessionCommand): Promise<unknown> {
    const { clock, instanceId, leaseTtlMs } = this.options;
    const deadline = clock.now() + 3 * leaseTtlMs;
    for (;;) {
      // Stopping: another instance (or this one, restarted) takes the command.
      if (this.stopping) throw new SwitchboardError('SERVICE_UNAVAILABLE', 'The server is shutting down; try again shortly.');
      // A session whose lease this instance holds, fresh (Leases.isFresh), runs here without
      // a claim: a command on a busy session (a queued message, a cancel) costs no write.
      const lease = this.leases.isFresh(sessionId)
        ? { holder: instanceId, expiresAt: this.leases.expiresAt(sessionId)!, token: this.leases.token(sessionId)! }
        : await this.track(this.leases.claim(sessionId));
      if (lease.holder === instanceId) {
        if (this.stopping) throw new SwitchboardError('SERVICE_UNAVAILABLE', 'The server is shutting down; try again shortly.');
        const adopting = !this.leases.holds(sessionId);
        this.leases.granted(sessionId, lease);
        try {
          // releaseIfIdle inside: it writes too, and stopping waits for it.
          return await this.track(
            (async () => {
              try {
                if (adopting) await this.options.adopt(sessionId, command);
                return await this.options.execute(command);
              } finally {
                await this.options.releaseIfIdle(sessionId);
              }
            })(),
          );
        } catch (error) {
          // The store refused a write of the command: another instance was granted the session
          // meanwhile. Nothing of the refused write happened; the command goes to the new holder.
          if (!(error instanceof FencedError)) throw error;
          this.options.fenced?.(error);
          if (this.leases.holds(sessionId)) {
            this.leases.forget(sessionId);
            this.options.lost(sessionId);
          }
          if (clock.now() > deadline) throw new Error(`no instance runs session ${sessionId}`, { cause: error });
          continue;
        }
      }
      try {
        return await this.cluster.call(lease.holder, command);
      } catch (error) {
        if (!(error instanceof NotHolderError || error instanceof UnreachableError)) throw error;
        if (clock.now() > deadline) throw new Error(`no instance runs session ${sessionId}`, { cause: error });
        // A holder that moved on is asked again at once; a silent one, once its lease is over.
        const wait = error instanceof UnreachableError ? Math.max(0, lease.expiresAt - clock.now()) + 1 : 20;
        await sleep(clock, wait);
      }
    }
  }

  /** A command forwarded by another instance: ours to run only while we hold the lease. */
  private async handleForwarded(command: SessionCommand): Promise<unknown> {
    const sessionId =
      command.op === 'sendMessage' || command.op === 'respondToPermission'
        ? (command.input as { sessionId: string }).sessionId
        : command.sessionId;
    if (this.stopping || !this.leases.holds(sessionId)) throw new NotHolderError(`not running session ${sessionId}`);
    return this.track(
      (async () => {
        try {
          return await this.options.execute(command);
        } finally {
          await this.options.releaseIfIdle(sessionId);
        }
      })(),
    );
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const done = () => this.inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  /** Keeps this instance's leases; a lease found lost is forgotten and `lost` is told. */
  private async renewLeases(): Promise<void> {
    for (const sessionId of this.leases.sessions()) {
      // A lease found lost is forgotten, and `lost` told, by the claim itself.
      const lease = await this.leases.claim(sessionId);
      if (this.leases.holds(sessionId)) this.leases.renewed(sessionId, lease.expiresAt);
      // Granted again under a newer token (the session changed hands while this renewal was
      // on its way): not the lease this instance was running under. Given back, so that whoever
      // needs the session next need not wait for it to expire.
      else if (lease.holder === this.options.instanceId) await this.leases.release(sessionId);
    }
  }

  /** Takes over every unsettled session whose lease is free or expired (start-up, dead instances). */
  private async sweep(): Promise<void> {
    for (const session of await this.options.store.listUnsettledSessions()) {
      if (this.stopping) return;
      if (this.leases.holds(session.id)) continue;
      const lease = await this.leases.claim(session.id);
      if (lease.holder !== this.options.instanceId) continue;
      this.leases.granted(session.id, lease);
      await this.options.adopt(session.id);
      await this.options.releaseIfIdle(session.id);
    }
  }
}
