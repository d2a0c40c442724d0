import { join } from 'node:path';
import { ConfigError, type Config } from './config.js';
import type { PubSub } from './events/pubsub/types.js';
import type { RateGate } from './limits.js';
import { stallBounds } from './sessions/stall-bounds.js';
import type { Store } from './store/types.js';

// The backends the configuration names, and only those: each is imported when it is chosen,
// so a process on the defaults never loads pg or ioredis, and one on PostgreSQL never loads
// better-sqlite3 (tests/integration/backends.test.ts). Imports here stay type-only or light.

/** PostgreSQL with DATABASE_URL, else the embedded SQLite file. */
export async function openStore(config: Config, onError: (error: unknown) => void): Promise<Store> {
  if (config.databaseUrl === null) {
    const { createThreadedSqliteStore } = await import('./store/sqlite-thread.js');
    const { StoreOpenError } = await import('./store/sqlite.js');
    try {
      return createThreadedSqliteStore({ path: join(config.dataDir, 'switchboard.db') });
    } catch (error) {
      if (error instanceof StoreOpenError) {
        throw new ConfigError(`DATA_DIR=${JSON.stringify(config.dataDir)} is not usable: ${error.reason} (${error.path})`);
      }
      throw error;
    }
  }
  const { createPostgresStore, PostgresStoreOpenError } = await import('./store/postgres.js');
  try {
    // Bounded by the lease TTL: a stalled link fails a query before the lease could lapse unseen.
    const { statementTimeoutMs, queryTimeoutMs, keepAliveInitialDelayMs } = stallBounds(config.leaseTtlMs);
    return await createPostgresStore({
      connectionString: config.databaseUrl,
      onError,
      statementTimeoutMs,
      queryTimeoutMs,
      keepAliveInitialDelayMs,
      connectionTimeoutMs: queryTimeoutMs,
    });
  } catch (error) {
    if (error instanceof PostgresStoreOpenError) {
      throw new ConfigError(`DATABASE_URL is not usable: ${error.reason} (${error.target})`);
    }
    throw error;
  }
}

/** Redis with REDIS_URL, so several instances share events; else in-process. */
export async function openPubSub(config: Config, onError: (error: unknown) => void): Promise<PubSub> {
  if (config.redisUrl === null) {
    const { createMemoryPubSub } = await import('./events/pubsub/memory.js');
    return createMemoryPubSub();
  }
  const { createRedisPubSub } = await import('./events/pubsub/redis.js');
  return createRedisPubSub({ url: config.redisUrl, onError, publishTimeoutMs: stallBounds(config.leaseTtlMs).redisPublishTimeoutMs });
}

/**
 * With REDIS_URL, SEND_MESSAGES_PER_MINUTE is one budget for all instances together, kept in
 * Redis (each instance's own while Redis is away); else undefined: this process's own.
 */
export async function openSendRate(config: Config, onError: (error: unknown) => void): Promise<RateGate | undefined> {
  if (config.redisUrl === null || config.limits.sendMessagesPerMinute === 0) return undefined;
  const { createRedisRate } = await import('./sessions/redis-rate.js');
  return createRedisRate({
    url: config.redisUrl,
    capacity: config.limits.sendMessagesPerMinute,
    onError,
    timeoutMs: stallBounds(config.leaseTtlMs).redisRateTimeoutMs,
  });
}
