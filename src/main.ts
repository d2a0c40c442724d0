import { createAgentFromConfig } from './agents/index.js';
import { createApp } from './app.js';
import { openPubSub, openSendRate, openStore } from './backends.js';
import { ConfigError, loadConfig } from './config.js';
import { errorSink } from './observability/error-sink.js';
import { createLogger, defaultLogger, type Logger } from './observability/logger.js';

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
