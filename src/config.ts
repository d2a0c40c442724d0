import { resolve } from 'node:path';
import { defaultLimits, type Limits } from './limits.js';
import { LOG_LEVELS, type LogLevel } from './observability/logger.js';

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
  /**
   * Every bound a client can meet, each from its variable (LIMIT_VARIABLES below); unset ones
   * keep the defaults of src/limits.ts. `0` turns a count or rate off.
   */
  limits: Limits;
  /** `LOG_LEVEL`: the least severe level logged (`fatal` … `trace`, or `silent`). @default 'info' */
  logLevel: LogLevel;
  /** `METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer <it>`. Never printed. @default null */
  metricsToken: string | null;
}

/**
 * The variable of each limit, with the values it accepts. Counts and rates take 0 (off);
 * the byte bounds of a request and a result, and the durations, cannot be turned off.
 */
export const LIMIT_VARIABLES: { readonly [K in keyof Limits]: { name: string; min: number; max: number } } = {
  maxRequestBytes: { name: 'MAX_REQUEST_BYTES', min: 1024, max: 1024 * 1024 * 1024 },
  maxMessageChars: { name: 'MAX_MESSAGE_CHARS', min: 0, max: 1_000_000_000 },
  maxAttachments: { name: 'MAX_ATTACHMENTS', min: 0, max: 1_000_000 },
  maxAttachmentBytes: { name: 'MAX_ATTACHMENT_BYTES', min: 0, max: 1024 * 1024 * 1024 },
  // Up to 1 GiB: past about that, V8 cannot even hold the response as one string.
  maxResponseBytes: { name: 'MAX_RESPONSE_BYTES', min: 1024, max: 1024 * 1024 * 1024 },
  maxDepth: { name: 'MAX_QUERY_DEPTH', min: 0, max: 1_000_000 },
  maxAliases: { name: 'MAX_QUERY_ALIASES', min: 0, max: 1_000_000 },
  maxTokens: { name: 'MAX_QUERY_TOKENS', min: 0, max: 1_000_000_000 },
  maxCost: { name: 'MAX_QUERY_COST', min: 0, max: 1_000_000_000 },
  maxDirectives: { name: 'MAX_QUERY_DIRECTIVES', min: 0, max: 1_000_000 },
  maxSubscriptionsPerConnection: { name: 'MAX_SUBSCRIPTIONS_PER_CONNECTION', min: 0, max: 1_000_000_000 },
  maxConnectionsPerUser: { name: 'MAX_CONNECTIONS_PER_USER', min: 0, max: 1_000_000_000 },
  maxSubscriptionsPerUser: { name: 'MAX_SUBSCRIPTIONS_PER_USER', min: 0, max: 1_000_000_000 },
  sendMessagesPerMinute: { name: 'SEND_MESSAGES_PER_MINUTE', min: 0, max: 1_000_000_000 },
  maxQueuedMessages: { name: 'MAX_QUEUED_MESSAGES', min: 0, max: 1_000_000_000 },
  // The stores count sessions in a 32-bit column.
  maxSessionsPerUser: { name: 'MAX_SESSIONS_PER_USER', min: 0, max: 2 ** 31 - 1 },
  maxStoredBytesPerUser: { name: 'MAX_STORED_BYTES_PER_USER', min: 0, max: Number.MAX_SAFE_INTEGER },
  // A socket that never says hello, a dead peer, an unused reservation: each must end some time.
  connectionInitWaitTimeoutMs: { name: 'CONNECTION_INIT_TIMEOUT_MS', min: 1, max: 600_000 },
  keepAliveMs: { name: 'KEEP_ALIVE_MS', min: 100, max: 3_600_000 },
  reservationTtlMs: { name: 'RESERVATION_TTL_MS', min: 100, max: 3_600_000 },
};

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
  const apiKey = (name: string) => headerSecret(name, env[name], 'API key');
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
    limits: Object.fromEntries(
      Object.entries(LIMIT_VARIABLES).map(([key, { name, min, max }]) => [key, int(name, defaultLimits[key as keyof Limits], min, max)]),
    ) as unknown as Limits,
    ...agentConfig,
    logLevel: logLevel(text('LOG_LEVEL')),
    metricsToken: headerSecret('METRICS_TOKEN', env.METRICS_TOKEN, 'token'),
  };
}

/** `LOG_LEVEL`, in any case; 'info' when unset. */
function logLevel(raw: string | null): LogLevel {
  if (raw === null) return 'info';
  const level = raw.toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.map((l) => `"${l}"`).join(', ')}, got ${JSON.stringify(raw)}.`);
  }
  return level;
}

/**
 * A secret that goes into a header as is (an API key, METRICS_TOKEN): printable ASCII without
 * spaces; null when unset. Its value is never echoed, not even in the error.
 */
function headerSecret(name: string, raw: string | undefined, what: string): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  if (!/^[\x21-\x7e]+$/.test(raw.trim())) {
    throw new ConfigError(`${name} is not a valid ${what}: it holds spaces or characters that are not printable ASCII.`);
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
