/**
 * Every bound the server puts on what a client may ask of it. Each is an option of
 * `createApp({ limits })` with the default below and a variable of its own (config.ts
 * LIMIT_VARIABLES); SECURITY.md lists them with their reasons. "Per user" is per client
 * address when there is no authentication (transport/limit-key.ts).
 */
export interface Limits {
  /** Largest HTTP request body, in bytes: larger is HTTP 413, PAYLOAD_TOO_LARGE. @default 16777216 (16 MiB) */
  maxRequestBytes: number;
  /** Longest `sendMessage` text, in characters: longer is PAYLOAD_TOO_LARGE; 0: no bound but `maxRequestBytes`. @default 100000 */
  maxMessageChars: number;
  /** Most attachments on one message: more is PAYLOAD_TOO_LARGE; 0: no bound but the bytes. @default 10 */
  maxAttachments: number;
  /** Largest total size of one message's attachments, decoded bytes: PAYLOAD_TOO_LARGE; 0: no bound but `maxRequestBytes`. @default 10485760 (10 MiB) */
  maxAttachmentBytes: number;
  /**
   * Largest result one operation may build, in bytes of JSON: a query or mutation that would
   * build more fails with one PAYLOAD_TOO_LARGE error (schema/result-budget.ts). @default 16777216 (16 MiB)
   */
  maxResponseBytes: number;
  /** Deepest selection (graphql-armor): deeper is rejected before execution. 0 turns this and each armor limit below off. @default 12 */
  maxDepth: number;
  /**
   * Most aliases in one operation (graphql-armor). Clients' documents use none; each alias of
   * a list field is one more copy of it in the result, so this also caps how many times one
   * operation can ask for the same large list (MAX_RESPONSE_BYTES bounds what remains). @default 10
   */
  maxAliases: number;
  /** Most tokens in one document (graphql-armor). @default 3000 */
  maxTokens: number;
  /**
   * Highest estimated cost of one operation (graphql-armor cost-limit, which multiplies a field
   * by a literal `first`/`last` argument): one page of 200 messages with every field costs
   * about 7,200; the largest of the documents clients send (tests/gql) about 540. @default 10000
   */
  maxCost: number;
  /** Most directives in one operation (graphql-armor). @default 50 */
  maxDirectives: number;
  /** Most subscriptions open at once on one graphql-ws connection: more is RATE_LIMITED; 0 turns it off. @default 100 */
  maxSubscriptionsPerConnection: number;
  /**
   * Most connections of one user at once: graphql-ws sockets (more are closed with 4429) and
   * graphql-sse reservations (more are 429 RATE_LIMITED) together; 0 turns it off. @default 50
   */
  maxConnectionsPerUser: number;
  /**
   * Most `sessionEvents` subscriptions of one user open at once, over every transport (an SSE
   * stream in distinct connections mode is one): more is RATE_LIMITED; 0 turns it off. 5000 is
   * what graphql-ws already lets one user open (50 connections × 100 subscriptions); it bounds
   * SSE streams, which are no connections, the same. (It was 500, which held back a load test
   * of 1000 subscribers from one address once counting went per address.) @default 5000
   */
  maxSubscriptionsPerUser: number;
  /**
   * `sendMessage` calls per user per minute (a bucket that refills steadily): more is
   * RATE_LIMITED; 0 turns it off. With Redis, a budget all instances share (sessions/redis-rate.ts).
   * @default 120
   */
  sendMessagesPerMinute: number;
  /** Most messages waiting in one session's queue: more is RATE_LIMITED; 0 turns it off. @default 100 */
  maxQueuedMessages: number;
  /**
   * Most sessions one user may have at once, across every instance (counted in the store):
   * `createSession` beyond it is QUOTA_EXCEEDED; deleting a session makes room. 0: no bound.
   * @default 1000
   */
  maxSessionsPerUser: number;
  /**
   * Most bytes of stored events (their JSON) one user's sessions may hold, across every
   * instance (counted in the store): once past it, `sendMessage` is QUOTA_EXCEEDED until
   * sessions are deleted. Checked when a message is sent, so a running turn ends normally
   * and may take the user past it. 0: no bound.
   * @default 1073741824 (1 GiB)
   */
  maxStoredBytesPerUser: number;
  /** graphql-ws: how long a socket may stay open before `connection_init` (then 4408). @default 3000 */
  connectionInitWaitTimeoutMs: number;
  /** graphql-ws keep-alive: a ping every interval; a socket that missed the last pong is closed. @default 30000 */
  keepAliveMs: number;
  /**
   * graphql-sse single connection mode: how long a reservation (`PUT /graphql/stream`) waits
   * for its stream to open before it expires, giving back the connection it counts as. @default 30000
   */
  reservationTtlMs: number;
}

export const defaultLimits: Limits = {
  maxRequestBytes: 16 * 1024 * 1024,
  maxMessageChars: 100_000,
  maxAttachments: 10,
  maxAttachmentBytes: 10 * 1024 * 1024,
  maxResponseBytes: 16 * 1024 * 1024,
  maxDepth: 12,
  maxAliases: 10,
  maxTokens: 3000,
  maxCost: 10_000,
  maxDirectives: 50,
  maxSubscriptionsPerConnection: 100,
  maxConnectionsPerUser: 50,
  maxSubscriptionsPerUser: 5000,
  sendMessagesPerMinute: 120,
  maxQueuedMessages: 100,
  maxSessionsPerUser: 1000,
  maxStoredBytesPerUser: 1024 * 1024 * 1024,
  connectionInitWaitTimeoutMs: 3000,
  keepAliveMs: 30_000,
  reservationTtlMs: 30_000,
};

/**
 * Whether `key` may do one more thing now (a token taken from its budget). The in-process
 * RateLimiter answers at once; one shared by instances (sessions/redis-rate.ts) asks Redis.
 */
export interface RateGate {
  take(key: string): boolean | Promise<boolean>;
  /** Lets go of what it holds (a connection); the app calls it on stop. */
  close?(): Promise<void>;
}

/**
 * A per-key token bucket on a clock: `capacity` tokens, refilled at `capacity` per `periodMs`.
 * Idle keys are forgotten once full again, so memory follows active users only.
 */
export class RateLimiter implements RateGate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly periodMs: number,
    private readonly now: () => number,
  ) {}

  /** Takes one token for `key`; false when none is left. A capacity of 0 is no limit. */
  take(key: string): boolean {
    if (this.capacity <= 0) return true;
    const now = this.now();
    const tokens = this.tokensAt(key, now);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return false;
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.buckets.size > 10_000) this.prune(now);
    return true;
  }

  private tokensAt(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return this.capacity;
    return Math.min(this.capacity, bucket.tokens + ((now - bucket.at) * this.capacity) / this.periodMs);
  }

  private prune(now: number) {
    for (const key of this.buckets.keys()) if (this.tokensAt(key, now) >= this.capacity) this.buckets.delete(key);
  }
}
