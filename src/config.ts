import { resolve } from 'node:path';
import { defaultLimits } from './limits.js';

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
  /** HS256 secret for bearer JWTs; without it (and without `authJwksUrl`) every caller is the user `local`. */
  authSecret: string | null;
  /** An identity provider's JSON Web Key Set (http/https): bearer JWTs are verified against it. */
  authJwksUrl: string | null;
  /** When set, a token's `iss` must be exactly this (with either way of authenticating). */
  authIssuer: string | null;
  /** When set, a token's `aud` must be (or contain) this (with either way of authenticating). */
  authAudience: string | null;
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
  /** Largest result one operation may build, in bytes (`MAX_RESPONSE_BYTES`). @default 16777216 (16 MiB) */
  maxResponseBytes: number;
  /** `MAX_SESSIONS_PER_USER`: sessions one user may have; 0: no bound. @default 1000 */
  maxSessionsPerUser: number;
  /** `MAX_STORED_BYTES_PER_USER`: bytes of stored events past which sendMessage is refused; 0: no bound. @default 1073741824 */
  maxStoredBytesPerUser: number;
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

  const host = text('HOST') ?? '127.0.0.1';
  const authSecret = text('AUTH_SECRET');
  const authJwksUrl = url('AUTH_JWKS_URL', ['https', 'http']);
  if (authSecret !== null && authJwksUrl !== null) {
    throw new ConfigError('AUTH_SECRET and AUTH_JWKS_URL are both set: tokens are verified one way, so set only one of them.');
  }
  const authIssuer = text('AUTH_ISSUER');
  const authAudience = text('AUTH_AUDIENCE');
  if (authSecret === null && authJwksUrl === null && (authIssuer !== null || authAudience !== null)) {
    // Otherwise every caller would be `local` while the operator believes tokens are checked.
    const name = authIssuer !== null ? 'AUTH_ISSUER' : 'AUTH_AUDIENCE';
    throw new ConfigError(`${name} is set but no tokens are verified: set AUTH_SECRET or AUTH_JWKS_URL too.`);
  }
  if (authSecret === null && authJwksUrl === null && !LOOPBACK.has(host) && env.ALLOW_UNAUTHENTICATED !== '1') {
    throw new ConfigError(
      `HOST=${JSON.stringify(host)} is not a loopback address and neither AUTH_SECRET nor AUTH_JWKS_URL is set: set one, or ALLOW_UNAUTHENTICATED=1 to serve everyone as one user.`,
    );
  }
  const agent = text('AGENT') ?? 'demo';
  if (agent !== 'demo') throw new ConfigError(`AGENT must be "demo", got ${JSON.stringify(agent)}.`);

  return {
    port: int('PORT', 4000, 0, 65535),
    host,
    dataDir: resolve(text('DATA_DIR') ?? './data'),
    databaseUrl: url('DATABASE_URL', ['postgres', 'postgresql']),
    redisUrl: url('REDIS_URL', ['redis', 'rediss']),
    authSecret,
    authJwksUrl,
    authIssuer,
    authAudience,
    agent,
    coalesceWindowMs: int('COALESCE_WINDOW_MS', 50, 0, 60_000),
    coalesceMaxBytes: int('COALESCE_MAX_BYTES', 16384, 1, 16 * 1024 * 1024),
    permissionTimeoutMs: int('PERMISSION_TIMEOUT_MS', 300_000, 1, 7 * 24 * 3600 * 1000),
    leaseTtlMs: int('LEASE_TTL_MS', 10_000, 100, 600_000),
    // Up to 1 GiB: past about that, V8 cannot even hold the response as one string.
    maxResponseBytes: int('MAX_RESPONSE_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    // The stores count sessions in a 32-bit column.
    maxSessionsPerUser: int('MAX_SESSIONS_PER_USER', defaultLimits.maxSessionsPerUser, 0, 2 ** 31 - 1),
    maxStoredBytesPerUser: int('MAX_STORED_BYTES_PER_USER', defaultLimits.maxStoredBytesPerUser, 0, Number.MAX_SAFE_INTEGER),
  };
}
