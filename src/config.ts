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
  /** Which agent runs turns (`AGENT`). @default 'demo' */
  agent: AgentKind;
  /** `MODELS`: model ids the agent serves, the first the default; null: the agent's own list. */
  models: string[] | null;
  /** `ANTHROPIC_API_KEY`; required when `agent` is `anthropic`. Never printed. */
  anthropicApiKey: string | null;
  /** `ANTHROPIC_BASE_URL`, without a trailing slash. @default 'https://api.anthropic.com' */
  anthropicBaseUrl: string;
  /** `OPENAI_API_KEY`, for servers that want one. Never printed. */
  openaiApiKey: string | null;
  /** `OPENAI_BASE_URL`, with its `/v1`, without a trailing slash. @default 'https://api.openai.com/v1' */
  openaiBaseUrl: string;
  /** `AGENT_MAX_TOKENS`: output token bound of one model request. @default 8192 */
  agentMaxTokens: number;
  /** `AGENT_MAX_STEPS`: most model requests in one turn. @default 25 */
  agentMaxSteps: number;
  /** `AGENT_SYSTEM_PROMPT`; null: the built-in one. */
  agentSystemPrompt: string | null;
  /** `ALLOWED_ORIGINS`: browser origins served besides the server's own (`*` only with authentication). @default [] */
  allowedOrigins: string[];
  /** `ALLOWED_HOSTS`: host names served besides the local ones and HOST, without authentication. @default [] */
  allowedHosts: string[];
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
  /** `METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer <it>`. Never printed. @default null */
  metricsToken: string | null;
}

export const AGENT_KINDS = ['demo', 'anthropic', 'openai'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

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
  // Agents (issue 12): which one runs turns, and what a real model needs.
  const agent = (text('AGENT') ?? 'demo') as AgentKind;
  if (!AGENT_KINDS.includes(agent)) {
    throw new ConfigError(`AGENT must be one of ${AGENT_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(agent)}.`);
  }
  /** An API key goes into a header as is: printable ASCII only. Its value is never echoed. */
  const apiKey = (name: string) => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return null;
    if (!/^[\x21-\x7e]+$/.test(raw.trim())) throw new ConfigError(`${name} is not a valid API key: it holds spaces or characters that are not printable ASCII.`);
    return raw.trim();
  };
  const baseUrl = (name: string, fallback: string) => (url(name, ['https', 'http']) ?? fallback).replace(/\/+$/, '');
  const anthropicApiKey = apiKey('ANTHROPIC_API_KEY');
  if (agent === 'anthropic' && anthropicApiKey === null) {
    throw new ConfigError('ANTHROPIC_API_KEY is required when AGENT=anthropic.');
  }
  const openaiApiKey = apiKey('OPENAI_API_KEY');
  const openaiBaseUrl = baseUrl('OPENAI_BASE_URL', 'https://api.openai.com/v1');
  // OpenAI itself always wants a key; a local server (Ollama, llama.cpp, vLLM) usually does not.
  if (agent === 'openai' && openaiApiKey === null && new URL(openaiBaseUrl).hostname === 'api.openai.com') {
    throw new ConfigError('OPENAI_API_KEY is required for api.openai.com; for a local server, set OPENAI_BASE_URL to it.');
  }
  const agentConfig = {
    models: modelList(text('MODELS')),
    anthropicApiKey,
    anthropicBaseUrl: baseUrl('ANTHROPIC_BASE_URL', 'https://api.anthropic.com'),
    openaiApiKey,
    openaiBaseUrl,
    agentMaxTokens: int('AGENT_MAX_TOKENS', 8192, 1, 1_000_000),
    agentMaxSteps: int('AGENT_MAX_STEPS', 25, 1, 1000),
    agentSystemPrompt: text('AGENT_SYSTEM_PROMPT'),
  };
  const list = (name: string) =>
    (text(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const allowedOrigins = list('ALLOWED_ORIGINS').map((origin) => {
    if (origin === '*') {
      if (authSecret === null && authJwksUrl === null) {
        throw new ConfigError('ALLOWED_ORIGINS="*" needs AUTH_SECRET or AUTH_JWKS_URL: without authentication any web page could act as the local user.');
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
    authJwksUrl,
    authIssuer,
    authAudience,
    allowedOrigins,
    allowedHosts,
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
    ...agentConfig,
    metricsToken: metricsToken(env.METRICS_TOKEN),
  };
}

/** `METRICS_TOKEN` goes into a header as is: printable ASCII without spaces. Its value is never echoed. */
function metricsToken(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  if (!/^[\x21-\x7e]+$/.test(raw.trim())) {
    throw new ConfigError('METRICS_TOKEN is not a valid token: it holds spaces or characters that are not printable ASCII.');
  }
  return raw.trim();
}

/** `MODELS`: comma-separated ids, blanks around them ignored, each once; null when unset. */
function modelList(raw: string | null): string[] | null {
  if (raw === null) return null;
  const ids = [...new Set(raw.split(',').map((id) => id.trim()))];
  if (ids.some((id) => id === '' || /\s/.test(id))) {
    throw new ConfigError(`MODELS must be comma-separated model ids without spaces inside, got ${JSON.stringify(raw)}.`);
  }
  return ids;
}
