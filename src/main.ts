import { createAgentFromConfig } from './agents/index.js';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createMemoryPubSub } from './events/pubsub/memory.js';
import type { PubSub } from './events/pubsub/types.js';
import { errorSink } from './observability/error-sink.js';
import { createLogger, defaultLogger, type Logger } from './observability/logger.js';
import { stallBounds } from './sessions/stall-bounds.js';
import { StoreOpenError } from './store/sqlite.js';
import type { Store } from './store/types.js';

/** Made once the configuration is read; JSON lines on stdout at LOG_LEVEL. */
let logger: Logger | null = null;

/** Entry point: configuration from the environment, then serve until SIGTERM/SIGINT. */
async function main() {
  const config = loadConfig();
  const log = (logger = createLogger({ level: config.logLevel }));
  // Node would print these to stderr as text and exit; they are errors like any other.
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });
  const agent = await createAgentFromConfig(config);
  const store = await openStore(config, errorSink(log));
  const pubsub = await openPubSub(config, errorSink(log));
  const app = createApp({
    logger: log,
    agent,
    port: config.port,
    host: config.host,
    dataDir: config.dataDir,
    store,
    pubsub,
    coalesceWindowMs: config.coalesceWindowMs,
    coalesceMaxBytes: config.coalesceMaxBytes,
    permissionTimeoutMs: config.permissionTimeoutMs,
    leaseTtlMs: config.leaseTtlMs,
    auth: { secret: config.authSecret, jwksUrl: config.authJwksUrl, issuer: config.authIssuer, audience: config.authAudience },
    limits: config.limits,
    sendRate: await openSendRate(config, errorSink(log)),
    allowedOrigins: config.allowedOrigins,
    allowedHosts: config.allowedHosts,
    metricsToken: config.metricsToken,
  });
  const { url, host, port } = await app.start();
  // tests/utils/process.ts finds the URL in this line: it ends at the space after it.
  log.info(
    { url, host, port, agent: config.agent, store: config.databaseUrl ? 'postgres' : 'sqlite', pubsub: config.redisUrl ? 'redis' : 'memory' },
    `Switchboard listening on ${url} (GraphiQL there in a browser; the chat app at ${new URL('/', url).href})`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const startedAt = Date.now();
    log.info({ signal }, 'stopping');
    // Never hang on the way out.
    setTimeout(() => {
      log.error({ signal, timeoutMs: 10_000 }, 'stop took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000).unref();
    await app.stop();
    log.info({ signal, durationMs: Date.now() - startedAt }, 'stopped');
    // Nothing is left to flush: the logger writes stdout synchronously (observability/logger.ts).
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** PostgreSQL with DATABASE_URL, else the embedded SQLite file. Backend modules load only when used. */
async function openStore(config: Config, onError: (error: unknown) => void): Promise<Store | undefined> {
  if (config.databaseUrl === null) {
    const { createThreadedSqliteStore } = await import('./store/sqlite-thread.js');
    const { join } = await import('node:path');
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
async function openPubSub(config: Config, onError: (error: unknown) => void): Promise<PubSub> {
  if (config.redisUrl === null) return createMemoryPubSub();
  const { createRedisPubSub } = await import('./events/pubsub/redis.js');
  return createRedisPubSub({ url: config.redisUrl, onError, publishTimeoutMs: stallBounds(config.leaseTtlMs).redisPublishTimeoutMs });
}

/**
 * With REDIS_URL, SEND_MESSAGES_PER_MINUTE is one budget for all instances together, kept in
 * Redis (each instance's own while Redis is away); else this process's own.
 */
async function openSendRate(config: Config, onError: (error: unknown) => void) {
  if (config.redisUrl === null || config.limits.sendMessagesPerMinute === 0) return undefined;
  const { createRedisRate } = await import('./sessions/redis-rate.js');
  return createRedisRate({
    url: config.redisUrl,
    capacity: config.limits.sendMessagesPerMinute,
    onError,
    timeoutMs: stallBounds(config.leaseTtlMs).redisRateTimeoutMs,
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    // One plain line on stderr for whoever started the server: it may come before there is
    // a logger at all (LOG_LEVEL itself may be the bad value).
    process.stderr.write(`switchboard: ${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    (logger ?? defaultLogger()).fatal('the port is in use (set PORT to another one)');
  } else {
    (logger ?? defaultLogger()).fatal({ err: error }, 'failed to start');
  }
  process.exit(1);
});
