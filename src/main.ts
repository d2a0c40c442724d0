import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { StoreOpenError } from './store/sqlite.js';

/** Entry point: configuration from the environment, then serve until SIGTERM/SIGINT. */
async function main() {
  const config = loadConfig();
  dataDir = config.dataDir;
  // Refuse rather than run quietly without what the operator asked for.
  for (const [name, value] of [
    ['DATABASE_URL', config.databaseUrl],
    ['REDIS_URL', config.redisUrl],
    ['AUTH_SECRET', config.authSecret],
  ] as const) {
    if (value !== null) throw new ConfigError(`${name} is set, but this build does not support it yet; unset it.`);
  }
  const app = createApp({
    port: config.port,
    host: config.host,
    dataDir: config.dataDir,
    coalesceWindowMs: config.coalesceWindowMs,
    coalesceMaxBytes: config.coalesceMaxBytes,
    permissionTimeoutMs: config.permissionTimeoutMs,
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

let dataDir = '';

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`switchboard: ${error.message}`);
  } else if (error instanceof StoreOpenError) {
    console.error(`switchboard: DATA_DIR=${JSON.stringify(dataDir)} is not usable: ${error.reason} (${error.path})`);
  } else if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    console.error(`switchboard: the port is in use (set PORT to another one).`);
  } else {
    console.error('switchboard: failed to start:', error);
  }
  process.exit(1);
});
