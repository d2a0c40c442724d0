import type { Clock } from '../clock.js';
import type { LeaseRecord, Store } from '../store/types.js';

export interface LeasesOptions {
  store: Store;
  clock: Clock;
  /** This instance's name in the store's leases. */
  instanceId: string;
  /** How long a claim lasts without renewal. */
  ttlMs: number;
  /**
   * A claim's answer shows a lease held here lost: another holder, or this one again under a
   * newer fencing token (the lease was taken over, then given back or left to expire, in
   * between). Whatever this instance runs for the session must end, silently. The lease is
   * already forgotten when this is called.
   */
  lost?: (sessionId: string) => void;
}

/**
 * This instance's side of the store's per-session leases: which sessions it holds, with when
 * each lease expires as last granted (this instance's clock), and the claims and releases it
 * writes. Until a lease expires no other instance can take it (a lease is only granted over
 * one that expired), so a lease held with time to spare needs no claim before acting on it.
 *
 * Writes of one session run one at a time, in the order issued. A pooled store runs
 * concurrent queries on different connections in any order: a claim sent while a release is
 * in flight could run first and be undone by it, and this instance would then run a turn on a
 * lease that no longer exists, which another instance may take.
 */
export class Leases {
  private readonly held = new Map<string, number>();
  /**
   * The fencing token of each session's last grant to this instance. Kept after the lease is
   * lost or released (until a new grant replaces it): a write still on its way carries the old
   * token, and the store refuses it once another instance has been granted the session.
   */
  private readonly tokens = new Map<string, number>();
  /** The tail of each session's writes from this instance. */
  private readonly writes = new Map<string, Promise<unknown>>();

  constructor(private readonly options: LeasesOptions) {}

  holds(sessionId: string): boolean {
    return this.held.has(sessionId);
  }

  /** The sessions held now (a copy: renewal and release change the set as they go). */
  sessions(): string[] {
    return [...this.held.keys()];
  }

  /** When the lease, as last granted, expires; undefined when not held. */
  expiresAt(sessionId: string): number | undefined {
    return this.held.get(sessionId);
  }

  /**
   * Whether the lease is held with at least half its TTL left: no other instance can have it
   * and none will before renewal comes round, so there is no need to claim it again.
   */
  isFresh(sessionId: string): boolean {
    const expiresAt = this.held.get(sessionId);
    return expiresAt !== undefined && expiresAt - this.options.clock.now() >= this.options.ttlMs / 2;
  }

  /** The fencing token this instance's writes to the session carry; undefined if never granted here. */
  token(sessionId: string): number | undefined {
    return this.tokens.get(sessionId);
  }

  /** Records a lease the store granted this instance. */
  granted(sessionId: string, lease: Pick<LeaseRecord, 'expiresAt' | 'token'>): void {
    this.held.set(sessionId, lease.expiresAt);
    this.tokens.set(sessionId, lease.token);
  }

  /** Records a renewal, unless the lease was given up while the renewal was on its way. */
  renewed(sessionId: string, expiresAt: number): void {
    if (this.held.has(sessionId)) this.held.set(sessionId, expiresAt);
  }

  /** Forgets a lease without a write: lost to another instance (its token is kept, see `tokens`). */
  forget(sessionId: string): void {
    this.held.delete(sessionId);
  }

  /** Forgets everything of a deleted session. */
  drop(sessionId: string): void {
    this.held.delete(sessionId);
    this.tokens.delete(sessionId);
  }

  /**
   * Claims (or renews) the lease in the store; the answer names whoever holds it now. A lease
   * held here that the answer shows lost (another holder, or a newer token: it changed hands
   * in between) is forgotten and `lost` told, before the caller sees the answer.
   */
  async claim(sessionId: string): Promise<LeaseRecord> {
    const { store, instanceId, ttlMs, clock } = this.options;
    const lease = await this.write(sessionId, () => store.claimLease(sessionId, instanceId, ttlMs, clock.now()));
    if (this.held.has(sessionId) && (lease.holder !== instanceId || lease.token !== this.tokens.get(sessionId))) {
      this.held.delete(sessionId);
      this.options.lost?.(sessionId);
    }
    return lease;
  }

  /**
   * Gives the lease up. A claim made meanwhile (a command arriving) may have landed before the
   * release and been undone by it, so a lease recorded again in the meantime is marked stale:
   * the next turn start claims it again rather than trusting it.
   */
  async release(sessionId: string): Promise<void> {
    const { store, instanceId } = this.options;
    this.held.delete(sessionId);
    await this.write(sessionId, () => store.releaseLease(sessionId, instanceId));
    if (this.held.has(sessionId)) this.held.set(sessionId, 0);
  }

  /** Gives every lease up (stopping): other instances take the sessions over at once. */
  async releaseAll(onError: (error: unknown) => void): Promise<void> {
    await Promise.all(this.sessions().map((id) => this.release(id).catch(onError)));
    this.held.clear();
  }

  private write<T>(sessionId: string, write: () => Promise<T>): Promise<T> {
    const result = (this.writes.get(sessionId) ?? Promise.resolve()).then(write);
    const tail = result.catch(() => {});
    this.writes.set(sessionId, tail);
    void tail.then(() => {
      if (this.writes.get(sessionId) === tail) this.writes.delete(sessionId);
    });
    return result;
  }
}
