import { Redis } from 'ioredis';
import { RateLimiter, type RateGate } from '../limits.js';
import { errorSink } from '../observability/error-sink.js';
import { defaultLogger } from '../observability/logger.js';

export interface RedisRateOptions {
  /** `redis://…`, the same server the instances share pub/sub on. */
  url: string;
  /** Calls each key may make per `periodMs` (the bucket's size; it refills steadily). */
  capacity: number;
  /** @default 60000 (a minute) */
  periodMs?: number;
  /**
   * Prefix of every key; instances that share a budget must use the same one. A bucket lives
   * at `<prefix><key>` and expires once it would be full again.
   * @default 'switchboard:rate:send:'
   */
  keyPrefix?: string;
  /** Milliseconds since the epoch; the buckets' time. @default Date.now */
  now?: () => number;
  /**
   * A Redis answer not there by then counts as Redis being away: this one call, and those
   * that follow while it stays away, are counted by this instance alone.
   * @default 1000
   */
  timeoutMs?: number;
  /** Told once when Redis becomes unusable (and once more after each recovery). @default the default logger's errors */
  onError?: (error: unknown) => void;
}

/**
 * A token bucket per key (the in-process RateLimiter's, same capacity and refill) kept in
 * Redis, so that every instance draws on one budget: with N instances behind a load balancer
 * a client still gets `capacity` calls a period in all, not N times that. One Lua script reads,
 * refills, takes and writes the bucket, so concurrent instances cannot both take its last token.
 *
 * Time is the caller's clock (instances' clocks agree to within NTP's error, which moves a
 * refill by as much); a bucket never goes back in time, so a lagging clock refills nothing.
 *
 * When Redis is away (refused, stalled past `timeoutMs`), calls are not refused for it:
 * each instance falls back to its own in-process bucket, so the limit holds per instance
 * (N instances: up to N times the rate) until Redis answers again. That is reported once per
 * outage through `onError`.
 */
export function createRedisRate(options: RedisRateOptions): RateGate & { close(): Promise<void> } {
  const periodMs = options.periodMs ?? 60_000;
  const prefix = options.keyPrefix ?? 'switchboard:rate:send:';
  const now = options.now ?? Date.now;
  const onError = options.onError ?? errorSink(defaultLogger());
  const timeoutMs = options.timeoutMs ?? 1000;
  const local = new RateLimiter(options.capacity, periodMs, now);
  const redis = new Redis(options.url, {
    connectionName: 'switchboard:rate',
    // Fail at once while disconnected (the fallback answers), never replay a stale take.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 50, 2000),
  });
  // Takes made while the first connection is being made wait for it (up to timeoutMs), rather
  // than reporting an outage that is only start-up. Once it is up, or has failed (an error, or
  // a wait that timed out), nothing waits: a Redis that is away answers at once, by failing.
  let starting = true;
  const firstConnect = new Promise<void>((resolve) => {
    const done = () => {
      starting = false;
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    redis.on('ready', done);
    redis.on('error', done);
  });
  let away = false;
  const fallBack = (error: unknown) => {
    if (away) return;
    away = true;
    onError(new Error(`Redis is unusable for the shared sendMessage rate (${(error as Error)?.message ?? error}); each instance counts its own until it is back.`, { cause: error }));
  };
  // ioredis reports connection errors here (and prints them itself without a listener).
  redis.on('error', fallBack);
  redis.defineCommand('takeToken', { numberOfKeys: 1, lua: TAKE });
  const take = (redis as unknown as { takeToken(key: string, capacity: number, periodMs: number, now: number): Promise<number> }).takeToken.bind(redis);

  return {
    async take(key) {
      if (options.capacity <= 0) return true;
      try {
        if (starting) {
          await within(firstConnect, timeoutMs);
          starting = false;
        }
        const ok = (await take(prefix + key, options.capacity, periodMs, now())) === 1;
        away = false;
        return ok;
      } catch (error) {
        fallBack(error);
        return local.take(key);
      }
    },
    async close() {
      redis.removeAllListeners('error');
      redis.on('error', () => {});
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Settles with `promise`, or after `ms` when it has not by then. */
function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

/**
 * KEYS[1] the bucket; ARGV capacity, periodMs, now. Returns 1 when a token was taken, else 0.
 * The bucket is {tokens, at}; missing means full. It expires when it would be full again.
 */
const TAKE = `
local capacity = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
elseif now > at then
  tokens = math.min(capacity, tokens + (now - at) * capacity / period)
  at = now
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) * period / capacity) + 1000)
return taken
`;
