import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { promisify } from 'node:util';
import { onTestFinished } from 'vitest';
import { requireService, tcpReachable, type ServiceRequirement } from './services.js';

/**
 * Redis for tests. Suites that only publish and subscribe share the server at REDIS_URL (fresh
 * topics per test, so parallel files never meet); a test that kills or pauses Redis starts a
 * redis-server of its own with `startRedis`, never touching the shared one.
 */
export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

/** Skips (outside CI) or fails (in CI) the suites that need the shared Redis when nothing answers. */
export function requireRedis(): Promise<ServiceRequirement> {
  return requireService(
    `Redis at ${REDIS_HOST}:${REDIS_PORT}`,
    tcpReachable(REDIS_HOST, REDIS_PORT),
    `nothing answers on ${REDIS_HOST}:${REDIS_PORT}; start redis-server`,
  );
}

/** Skips (outside CI) or fails (in CI) the suites that start their own redis-server when it is not installed. */
export function requireRedisServer(): Promise<ServiceRequirement> {
  return requireService(
    'redis-server and redis-cli on PATH',
    Promise.all([run('redis-server', ['--version']), run('redis-cli', ['--version'])]).then(
      () => true,
      () => false,
    ),
    'install Redis (e.g. apt-get install redis-server)',
  );
}

export interface OwnRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: an outage, not a shutdown) and waits until it has exited. */
  stop(): Promise<void>;
  /** Stops the server if it runs, starts it again on the same port, and waits until it answers PING. */
  restart(): Promise<void>;
  /** Runs a command with redis-cli against this server and returns its output, trimmed. */
  cli(...args: string[]): Promise<string>;
}

/**
 * Starts a redis-server of this test's own on a free port (no persistence), waits until it
 * answers PING, and kills it after the test whatever happens. Call it inside a test.
 *
 * @example
 * const redis = await startRedis();
 * const pubsub = createRedisPubSub({ url: redis.url, onError: () => {} });
 * await redis.restart(); // every connection drops; Redis comes back empty
 */
export async function startRedis(timeoutMs = 10_000): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const kill = () => child?.kill('SIGKILL');
  // A worker that exits before the test finishes must not leave the server behind.
  process.once('exit', kill);

  const start = async () => {
    output = '';
    const started = spawn('redis-server', ['--port', String(port), '--bind', REDIS_HOST, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    started.stdout!.on('data', (d) => (output += d));
    started.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}):\n${output}`))),
    );
    exited.catch(() => {});
    const deadline = Date.now() + timeoutMs;
    while (!(await Promise.race([redisPing(port), exited]))) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };

  onTestFinished(async () => {
    process.removeListener('exit', kill);
    await stop();
  });
  await start();

  return {
    url: `redis://${REDIS_HOST}:${port}`,
    port,
    stop,
    async restart() {
      await stop();
      await start();
    },
    cli: (...args) => run('redis-cli', ['-h', REDIS_HOST, '-p', String(port), ...args]).then((out) => out.trim()),
  };
}

/** Resolves true when a Redis server at 127.0.0.1:port answers PING within `timeoutMs`. */
export function redisPing(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: REDIS_HOST, port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d;
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, REDIS_HOST, resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function run(command: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(command, args, { timeout: 10_000 });
  return stdout;
}
