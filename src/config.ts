import { resolve } from 'node:path';

/** Server settings, read once from the environment. */
export interface Config {
  /** @default 4000 */
  port: number;
  /** @default '127.0.0.1' */
  host: string;
  /** Embedded store and session workspaces. @default './data' */
  dataDir: string;
  /** `postgres://…`: PostgreSQL instead of the embedded store. */
  databaseUrl: string | null;
  /** `redis://…`: Redis pub/sub, so several instances serve the same sessions. */
  redisUrl: string | null;
  /** HS256 secret for bearer JWTs; without it every caller is the user `local`. */
  authSecret: string | null;
  /** `ALLOWED_ORIGINS`: browser origins served besides the server's own (`*` only with authentication). @default [] */
  allowedOrigins: string[];
  /** `ALLOWED_HOSTS`: host names served besides the local ones and HOST, without authentication. @default [] */
  allowedHosts: string[];
  /** Which agent runs turns. @default 'demo' */
  agent: 'demo';
  /** @default 50 */
  coalesceWindowMs: number;
  /** @default 16384 */
  coalesceMaxBytes: number;
  /** @default 300000 */
  permissionTimeoutMs: number;
  /** How long an instance's claim on a session lasts without renewal. @default 10000 */
  leaseTtlMs: number;
}

/** A configuration value that cannot work; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

/** The only reader of process.env. Throws ConfigError on the first bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const text = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : null;
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = text(name);
    if (raw === null) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}.`);
    }
    return value;
  };

  const host = text('HOST') ?? '127.0.0.1';
  const authSecret = text('AUTH_SECRET');
  if (authSecret === null && !LOOPBACK.has(host) && env.ALLOW_UNAUTHENTICATED !== '1') {
    throw new ConfigError(
      `HOST=${JSON.stringify(host)} is not a loopback address and AUTH_SECRET is unset: set AUTH_SECRET, or ALLOW_UNAUTHENTICATED=1 to serve everyone as one user.`,
    );
  }
  const agent = text('AGENT') ?? 'demo';
  if (agent !== 'demo') throw new ConfigError(`AGENT must be "demo", got ${JSON.stringify(agent)}.`);
  const url = (name: string, schemes: string[]) => {
    const raw = text(name);
    if (raw === null) return null;
    let scheme: string;
    try {
      scheme = new URL(raw).protocol.replace(/:$/, '');
    } catch {
      throw new ConfigError(`${name} is not a valid URL.`);
    }
    if (!schemes.includes(scheme)) throw new ConfigError(`${name} must start with ${schemes.map((s) => `${s}://`).join(' or ')}.`);
    return raw;
  };

  const list = (name: string) =>
    (text(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const allowedOrigins = list('ALLOWED_ORIGINS').map((origin) => {
    if (origin === '*') {
      if (authSecret === null) {
        throw new ConfigError('ALLOWED_ORIGINS="*" needs AUTH_SECRET: without authentication any web page could act as the local user.');
      }
      return origin;
    }
    if (origin === 'null') return origin;
    let url: URL | null = null;
    try {
      url = new URL(origin);
    } catch {
      // reported below
    }
    // An origin is scheme, host and port only: what a browser sends in `Origin`.
    const isOrigin =
      url !== null &&
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.pathname === '/' &&
      !/[?#@]/.test(origin);
    if (!url || !isOrigin) {
      throw new ConfigError(`ALLOWED_ORIGINS must list origins like https://app.example.com (scheme, host, port; no path), got ${JSON.stringify(origin)}.`);
    }
    return url.origin;
  });
  const allowedHosts = list('ALLOWED_HOSTS').map((host) => {
    if (!/^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$/i.test(host)) {
      throw new ConfigError(`ALLOWED_HOSTS must list host names like app.example.com (no scheme or port), got ${JSON.stringify(host)}.`);
    }
    return host.toLowerCase();
  });

  return {
    port: int('PORT', 4000, 0, 65535),
    host,
    dataDir: resolve(text('DATA_DIR') ?? './data'),
    databaseUrl: url('DATABASE_URL', ['postgres', 'postgresql']),
    redisUrl: url('REDIS_URL', ['redis', 'rediss']),
    authSecret,
    allowedOrigins,
    allowedHosts,
    agent,
    coalesceWindowMs: int('COALESCE_WINDOW_MS', 50, 0, 60_000),
    coalesceMaxBytes: int('COALESCE_MAX_BYTES', 16384, 1, 16 * 1024 * 1024),
    permissionTimeoutMs: int('PERMISSION_TIMEOUT_MS', 300_000, 1, 7 * 24 * 3600 * 1000),
    leaseTtlMs: int('LEASE_TTL_MS', 10_000, 100, 600_000),
  };
}
