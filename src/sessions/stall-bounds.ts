/**
 * How long a call to PostgreSQL or Redis may hang on a stalled link (packets stop, nothing
 * closes) before it fails, derived from the lease TTL rather than configured apart: each bound
 * is below the TTL, so that a request meeting a stalled connection answers with an error (503)
 * within it, and a renewal stuck on one gives up before its lease could run out unnoticed.
 * (Fencing, not these bounds, is what keeps a holder that stalled anyway from writing.)
 */
export interface StallBounds {
  /** PostgreSQL's statement_timeout (and idle_in_transaction_session_timeout): half the TTL. */
  statementTimeoutMs: number;
  /** pg's client-side query_timeout, for a link that went silent: three quarters of the TTL. */
  queryTimeoutMs: number;
  /** TCP keepalive's first probe on pooled connections: a third of the TTL. */
  keepAliveInitialDelayMs: number;
  /** Redis publish timeout: a third of the TTL, at most 2000 (the pub/sub's default). */
  redisPublishTimeoutMs: number;
  /** Redis rate-check timeout: a third of the TTL, at most 1000 (the rate gate's default). */
  redisRateTimeoutMs: number;
}

export function stallBounds(leaseTtlMs: number): StallBounds {
  const part = (fraction: number) => Math.max(50, Math.floor(leaseTtlMs * fraction));
  return {
    statementTimeoutMs: part(1 / 2),
    queryTimeoutMs: part(3 / 4),
    keepAliveInitialDelayMs: part(1 / 3),
    redisPublishTimeoutMs: Math.min(2000, part(1 / 3)),
    redisRateTimeoutMs: Math.min(1000, part(1 / 3)),
  };
}
