import { createAgentFromConfig } from './agents/index.js';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createMemoryPubSub } from './events/pubsub/memory.js';
import type { PubSub } from './events/pubsub/types.js';
import { StoreOpenError } from './store/sqlite.js';
import type { Store } from './store/types.js';

/** Entry point: configuration from the environment, then serve until SIGTERM/SIGINT. */
async function main() {
  const config = loadConfig();
  const agent = await createAgentFromConfig(config);
  const store = await openStore(config);
  const pubsub = await openPubSub(config);
  const app = createApp({
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
    limits: {
      maxResponseBytes: config.maxResponseBytes,
      maxSessionsPerUser: config.maxSessionsPerUser,
      maxStoredBytesPerUser: config.maxStoredBytesPerUser,
    },
    allowedOrigins: config.allowedOrigins,
    allowedHosts: config.allowedHosts,
    metricsToken: config.metricsToken,
  });
  const { url } = await app.start();
  console.log(`Switchboard listening on ${url} (GraphiQL in a browser)`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    // Never hang on the way out.
    setTimeout(() => {
      console.error('switchboard: stop took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000).unref();
    await app.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** PostgreSQL with DATABASE_URL, else the embedded SQLite file. Backend modules load only when used. */
async function openStore(config: Config): Promise<Store | undefined> {
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
    return await createPostgresStore({ connectionString: config.databaseUrl });
  } catch (error) {
    if (error instanceof PostgresStoreOpenError) {
      throw new ConfigError(`DATABASE_URL is not usable: ${error.reason} (${error.target})`);
    }
    throw error;
  }
}

/** Redis with REDIS_URL, so several instances share events; else in-process. */
async function openPubSub(config: Config): Promise<PubSub> {
  if (config.redisUrl === null) return createMemoryPubSub();
  const { createRedisPubSub } = await import('./events/pubsub/redis.js');
  return createRedisPubSub({ url: config.redisUrl });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`switchboard: ${error.message}`);
  } else if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    console.error(`switchboard: the port is in use (set PORT to another one).`);
  } else {
    console.error('switchboard: failed to start:', error);
  }
  process.exit(1);
});
