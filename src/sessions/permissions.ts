import type { Clock, TimerHandle } from '../clock.js';
import type { EventLog } from '../log/event-log.js';
import type { PermissionMode, PermissionResolution, PermissionStatus } from '../events/types.js';
import { permissionStatusOf } from '../events/types.js';
import type { PermissionAsk } from '../agents/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/types.js';

export interface PermissionGateOptions {
  clock: Clock;
  log: EventLog;
  store: Store;
  sessionId: string;
  turnId: string;
  mode: PermissionMode;
  /** How long a request waits before it is denied (TIMEOUT); 0 or less: forever. */
  timeoutMs: number;
  newId: () => string;
  /** Counts the requests waiting for an answer. @default not counted */
  metrics?: Pick<Metrics, 'permissionAsked' | 'permissionSettled'>;
}

interface Waiter {
  toolName: string;
  timer: TimerHandle | null;
  settle: (allowed: boolean) => void;
  fail: (reason: unknown) => void;
}

/**
 * The permission waits of one turn. Every way a request can end (a human's answer, the
 * expiry timer, a cancel) goes through `resolve`, whose synchronous claim of the waiter
 * makes the first one win and every later one see "already resolved".
 */
export class PermissionGate {
  private readonly waiters = new Map<string, Waiter>();

  constructor(private readonly options: PermissionGateOptions) {}

  /** The agent's `requestPermission`: answers by mode, rule, or a human within the timeout. */
  async request(ask: PermissionAsk): Promise<boolean> {
    const { mode, store, sessionId, log, clock, timeoutMs } = this.options;
    if (mode === 'ALLOW_ALL') return true;
    if (mode === 'DENY_ALL') return false;
    if (await store.hasPermissionRule(sessionId, ask.toolName)) {
      this.emitResolved(this.options.newId(), true, false, 'RULE');
      return true;
    }
    const requestId = this.options.newId();
    const expiresAt = timeoutMs > 0 ? new Date(clock.now() + timeoutMs).toISOString() : null;
    const answer = new Promise<boolean>((settle, fail) => {
      this.waiters.set(requestId, { toolName: ask.toolName, timer: null, settle, fail });
    });
    this.options.metrics?.permissionAsked();
    // The request must be visible (pendingPermissions, status) before anyone can answer it.
    await log.emitAndWait({
      type: 'PERMISSION_REQUEST',
      sessionId,
      turnId: this.options.turnId,
      at: new Date(clock.now()).toISOString(),
      request: {
        requestId,
        toolName: ask.toolName,
        command: ask.command ?? null,
        description: ask.description ?? null,
        expiresAt,
      },
    });
    const waiter = this.waiters.get(requestId);
    if (waiter && timeoutMs > 0) {
      waiter.timer = clock.setTimeout(() => void this.resolve(requestId, false, false, 'TIMEOUT'), timeoutMs);
    }
    return answer;
  }

  /** True while this turn waits on the request. */
  isWaiting(requestId: string): boolean {
    return this.waiters.has(requestId);
  }

  /**
   * Ends a waiting request. Returns the status it ended in, or null when it was not waiting
   * (already resolved, or never this turn's). The PermissionResolvedEvent is stored and
   * published before this resolves.
   */
  async resolve(
    requestId: string,
    allowed: boolean,
    alwaysAllow: boolean,
    resolution: PermissionResolution,
  ): Promise<PermissionStatus | null> {
    const waiter = this.waiters.get(requestId);
    if (!waiter) return null;
    this.forget(requestId);
    if (waiter.timer) this.options.clock.clearTimeout(waiter.timer);
    const always = allowed && alwaysAllow;
    if (always) await this.options.store.addPermissionRule(this.options.sessionId, waiter.toolName);
    this.emitResolved(requestId, allowed, always, resolution);
    await this.options.log.settled(this.options.sessionId);
    if (resolution === 'CANCELLED') waiter.fail(new Error('permission request cancelled'));
    else waiter.settle(allowed);
    return permissionStatusOf({ allowed, resolution });
  }

  /** Cancels every waiting request (the turn is ending); their events are emitted in order. */
  cancelAll(): void {
    for (const [requestId, waiter] of this.waiters) {
      this.forget(requestId);
      if (waiter.timer) this.options.clock.clearTimeout(waiter.timer);
      this.emitResolved(requestId, false, false, 'CANCELLED');
      waiter.fail(new Error('permission request cancelled'));
    }
  }

  /** Drops every wait without a word: the session moved to another instance, which reports it. */
  abandon(): void {
    for (const [requestId, waiter] of this.waiters) {
      this.forget(requestId);
      if (waiter.timer) this.options.clock.clearTimeout(waiter.timer);
      waiter.fail(new Error('permission request abandoned'));
    }
  }

  /** A request stops waiting, however it ended. */
  private forget(requestId: string) {
    this.waiters.delete(requestId);
    this.options.metrics?.permissionSettled();
  }

  private emitResolved(requestId: string, allowed: boolean, alwaysAllow: boolean, resolution: PermissionResolution) {
    this.options.log.emit({
      type: 'PERMISSION_RESOLVED',
      sessionId: this.options.sessionId,
      turnId: this.options.turnId,
      at: new Date(this.options.clock.now()).toISOString(),
      requestId,
      allowed,
      alwaysAllow,
      resolution,
    });
  }
}
