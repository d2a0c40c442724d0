import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgentFromConfig } from '../../src/agents/index.js';
import { ConfigError, LIMIT_VARIABLES, loadConfig } from '../../src/config.js';
import { defaultLimits } from '../../src/limits.js';

/** The ConfigError that loading this environment throws (fails if it loads). */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
}

/** The agent settings of an environment that sets none of them. */
const AGENT_DEFAULTS = {
  models: null,
  anthropicApiKey: null,
  anthropicBaseUrl: 'https://api.anthropic.com',
  openaiApiKey: null,
  openaiBaseUrl: 'https://api.openai.com/v1',
  agentMaxTokens: 8192,
  agentMaxSteps: 25,
  agentSystemPrompt: null,
};

describe('loadConfig', () => {
  it('has a default for everything', () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: '127.0.0.1',
      dataDir: resolve('./data'),
      databaseUrl: null,
      redisUrl: null,
      authSecret: null,
      authJwksUrl: null,
      authIssuer: null,
      authAudience: null,
      allowedOrigins: [],
      allowedHosts: [],
      agent: 'demo',
      coalesceWindowMs: 50,
      coalesceMaxBytes: 16384,
      permissionTimeoutMs: 300_000,
      leaseTtlMs: 10_000,
      limits: defaultLimits,
      logLevel: 'info',
      metricsToken: null,
      ...AGENT_DEFAULTS,
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        PORT: '8080',
        HOST: '0.0.0.0',
        DATA_DIR: '/tmp/switchboard-data',
        DATABASE_URL: 'postgres://u:p@db:5432/switchboard',
        REDIS_URL: 'redis://cache:6379',
        AUTH_SECRET: 'secret',
        AUTH_ISSUER: 'https://id.example.com/',
        AUTH_AUDIENCE: 'switchboard',
        ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:5173',
        ALLOWED_HOSTS: 'switchboard.internal',
        AGENT: 'demo',
        COALESCE_WINDOW_MS: '0',
        COALESCE_MAX_BYTES: '1024',
        PERMISSION_TIMEOUT_MS: '1000',
        LEASE_TTL_MS: '2500',
        MAX_RESPONSE_BYTES: '65536',
        MAX_SESSIONS_PER_USER: '20',
        MAX_STORED_BYTES_PER_USER: '5000000000',
        LOG_LEVEL: 'warn',
        METRICS_TOKEN: 'scrape-token',
      }),
    ).toEqual({
      port: 8080,
      host: '0.0.0.0',
      dataDir: '/tmp/switchboard-data',
      databaseUrl: 'postgres://u:p@db:5432/switchboard',
      redisUrl: 'redis://cache:6379',
      authSecret: 'secret',
      authJwksUrl: null,
      authIssuer: 'https://id.example.com/',
      authAudience: 'switchboard',
      allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      allowedHosts: ['switchboard.internal'],
      agent: 'demo',
      coalesceWindowMs: 0,
      coalesceMaxBytes: 1024,
      permissionTimeoutMs: 1000,
      leaseTtlMs: 2500,
      limits: { ...defaultLimits, maxResponseBytes: 65536, maxSessionsPerUser: 20, maxStoredBytesPerUser: 5_000_000_000 },
      logLevel: 'warn',
      metricsToken: 'scrape-token',
      ...AGENT_DEFAULTS,
    });
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ PORT: '', HOST: ' ', AUTH_SECRET: '' })).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      authSecret: null,
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['COALESCE_WINDOW_MS', '-1'],
    ['COALESCE_MAX_BYTES', '0'],
    ['PERMISSION_TIMEOUT_MS', 'soon'],
    ['LEASE_TTL_MS', '50'],
    ['MAX_RESPONSE_BYTES', '100'],
    ['MAX_RESPONSE_BYTES', '16MiB'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://cache'],
    ['AUTH_JWKS_URL', 'ftp://id.example.com/jwks.json'],
    ['AUTH_JWKS_URL', 'not a url'],
    ['AUTH_JWKS_URL', 'file:///etc/jwks.json'],
    ['AGENT', 'other'],
    ['MAX_SESSIONS_PER_USER', '-1'],
    ['MAX_SESSIONS_PER_USER', 'many'],
    ['MAX_SESSIONS_PER_USER', '3000000000'],
    ['MAX_STORED_BYTES_PER_USER', '1.5'],
    ['MAX_STORED_BYTES_PER_USER', '1GiB'],
    ['MAX_STORED_BYTES_PER_USER', '99999999999999999999'],
    ['MAX_CONNECTIONS_PER_USER', '-1'],
    ['MAX_CONNECTIONS_PER_USER', 'unlimited'],
    ['MAX_SUBSCRIPTIONS_PER_USER', '1e3'],
    ['MAX_SUBSCRIPTIONS_PER_CONNECTION', '2.5'],
    ['SEND_MESSAGES_PER_MINUTE', 'off'],
    ['SEND_MESSAGES_PER_MINUTE', '99999999999'],
    ['MAX_QUEUED_MESSAGES', '-5'],
    ['MAX_MESSAGE_CHARS', '100k'],
    ['MAX_REQUEST_BYTES', '100'],
    ['MAX_REQUEST_BYTES', '2000000000'],
    ['MAX_ATTACHMENTS', 'ten'],
    ['MAX_ATTACHMENT_BYTES', '10MiB'],
    ['MAX_QUERY_DEPTH', '-1'],
    ['MAX_QUERY_ALIASES', 'x'],
    ['MAX_QUERY_TOKENS', '1.0'],
    ['MAX_QUERY_COST', '1e4'],
    ['MAX_QUERY_DIRECTIVES', '9999999'],
    ['CONNECTION_INIT_TIMEOUT_MS', '3s'],
    ['KEEP_ALIVE_MS', '50'],
    ['RESERVATION_TTL_MS', '99999999'],
    // A value with a line break must not break the message over lines.
    ['PORT', '40\n00'],
    ['AGENT', 'demo\nx'],
    ['HOST', '0.0.0.0\nx'],
    ['ALLOWED_ORIGINS', 'app.example.com'],
    ['ALLOWED_ORIGINS', 'https://app.example.com/path'],
    ['ALLOWED_ORIGINS', 'https://app.example.com?x=1'],
    ['ALLOWED_ORIGINS', 'https://user@app.example.com'],
    ['ALLOWED_ORIGINS', 'ftp://app.example.com'],
    ['ALLOWED_ORIGINS', 'https://ok.example.com, not an origin'],
    ['ALLOWED_ORIGINS', '*'],
    ['ALLOWED_ORIGINS', 'https://a.example.com\nhttps://b.example.com'],
    ['ALLOWED_HOSTS', 'http://app.example.com'],
    ['ALLOWED_HOSTS', 'app.example.com:4000'],
    ['ALLOWED_HOSTS', 'app example'],
    ['ALLOWED_HOSTS', '*'],
  ])('refuses %s=%j with a one-line message naming the variable', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message).toContain(name);
    expect(error.message).not.toMatch(/\n/);
  });

  it('refuses a non-loopback HOST without AUTH_SECRET, unless ALLOW_UNAUTHENTICATED=1', () => {
    const error = configError({ HOST: '0.0.0.0' });
    expect(error.message).toContain('HOST');
    expect(error.message).toContain('AUTH_SECRET');
    expect(error.message).not.toMatch(/\n/);

    expect(configError({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' })).toBeInstanceOf(ConfigError);
    expect(loadConfig({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: '1' })).toMatchObject({ host: '0.0.0.0', authSecret: null });
    expect(loadConfig({ HOST: '0.0.0.0', AUTH_SECRET: 's3cret' })).toMatchObject({ host: '0.0.0.0', authSecret: 's3cret' });
  });

  it('reads an identity provider: AUTH_JWKS_URL with AUTH_ISSUER and AUTH_AUDIENCE', () => {
    expect(
      loadConfig({
        AUTH_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
        AUTH_ISSUER: 'https://id.example.com/',
        AUTH_AUDIENCE: 'switchboard',
      }),
    ).toMatchObject({
      authSecret: null,
      authJwksUrl: 'https://id.example.com/.well-known/jwks.json',
      authIssuer: 'https://id.example.com/',
      authAudience: 'switchboard',
    });
    expect(loadConfig({ AUTH_JWKS_URL: 'http://127.0.0.1:8080/jwks' }).authJwksUrl).toBe('http://127.0.0.1:8080/jwks');
  });

  it('refuses AUTH_SECRET and AUTH_JWKS_URL together, naming both on one line', () => {
    const error = configError({ AUTH_SECRET: 's3cret', AUTH_JWKS_URL: 'https://id.example.com/jwks.json' });
    expect(error.message).toContain('AUTH_SECRET');
    expect(error.message).toContain('AUTH_JWKS_URL');
    expect(error.message).not.toMatch(/\n/);
  });

  it('counts AUTH_JWKS_URL as authentication for a non-loopback HOST', () => {
    expect(loadConfig({ HOST: '0.0.0.0', AUTH_JWKS_URL: 'https://id.example.com/jwks.json' })).toMatchObject({
      host: '0.0.0.0',
      authJwksUrl: 'https://id.example.com/jwks.json',
    });
    expect(configError({ HOST: '0.0.0.0' }).message).toContain('AUTH_JWKS_URL');
  });

  it.each(['AUTH_ISSUER', 'AUTH_AUDIENCE'])('refuses %s without a way to verify tokens', (name) => {
    const error = configError({ [name]: 'x' });
    expect(error.message).toContain(name);
    expect(error.message).toContain('AUTH_JWKS_URL');
    expect(error.message).not.toMatch(/\n/);
    expect(loadConfig({ [name]: 'x', AUTH_SECRET: 's3cret' })).toMatchObject({ authSecret: 's3cret' });
  });

  it('takes 0 for a quota: no bound', () => {
    expect(loadConfig({ MAX_SESSIONS_PER_USER: '0', MAX_STORED_BYTES_PER_USER: '0' })).toMatchObject({ limits: { maxSessionsPerUser: 0, maxStoredBytesPerUser: 0 } });
  });

  it('gives every limit of src/limits.ts a variable, and reads each', () => {
    // A limit added to Limits without a variable does not type-check (LIMIT_VARIABLES); this
    // checks the contract's names are there and each is read into its own field.
    expect(Object.keys(LIMIT_VARIABLES).sort()).toEqual(Object.keys(defaultLimits).sort());
    expect(Object.values(LIMIT_VARIABLES).map((v) => v.name)).toEqual(
      expect.arrayContaining([
        'MAX_CONNECTIONS_PER_USER',
        'MAX_SUBSCRIPTIONS_PER_USER',
        'MAX_SUBSCRIPTIONS_PER_CONNECTION',
        'SEND_MESSAGES_PER_MINUTE',
        'MAX_QUEUED_MESSAGES',
        'MAX_MESSAGE_CHARS',
        'MAX_REQUEST_BYTES',
        'MAX_RESPONSE_BYTES',
        'MAX_SESSIONS_PER_USER',
        'MAX_STORED_BYTES_PER_USER',
      ]),
    );
    const env: Record<string, string> = {};
    const expected: Record<string, number> = {};
    for (const [key, { name, min }] of Object.entries(LIMIT_VARIABLES)) {
      // A value of its own for each, inside its range and unlike its default.
      const value = Math.max(min, 1) + 1234;
      env[name] = String(value);
      expected[key] = value;
    }
    expect(loadConfig(env).limits).toEqual(expected);
  });

  it('takes 0 for every count and rate limit (off), and for none of the byte bounds and durations', () => {
    const off = [
      'MAX_CONNECTIONS_PER_USER',
      'MAX_SUBSCRIPTIONS_PER_USER',
      'MAX_SUBSCRIPTIONS_PER_CONNECTION',
      'SEND_MESSAGES_PER_MINUTE',
      'MAX_QUEUED_MESSAGES',
      'MAX_MESSAGE_CHARS',
      'MAX_ATTACHMENTS',
      'MAX_ATTACHMENT_BYTES',
      'MAX_QUERY_DEPTH',
      'MAX_QUERY_ALIASES',
      'MAX_QUERY_TOKENS',
      'MAX_QUERY_COST',
      'MAX_QUERY_DIRECTIVES',
      'MAX_SESSIONS_PER_USER',
      'MAX_STORED_BYTES_PER_USER',
    ];
    const limits = loadConfig(Object.fromEntries(off.map((name) => [name, '0']))).limits;
    for (const [key, { name }] of Object.entries(LIMIT_VARIABLES)) {
      if (off.includes(name)) expect(limits[key as keyof typeof limits], name).toBe(0);
    }
    for (const name of ['MAX_REQUEST_BYTES', 'MAX_RESPONSE_BYTES', 'CONNECTION_INIT_TIMEOUT_MS', 'KEEP_ALIVE_MS', 'RESERVATION_TTL_MS']) {
      const error = configError({ [name]: '0' });
      expect(error.message).toContain(name);
      expect(error.message).not.toMatch(/\n/);
    }
  });

  it.each(['127.0.0.1', 'localhost', '::1'])('serves loopback HOST=%s without AUTH_SECRET', (host) => {
    expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it('reads ALLOWED_ORIGINS as exact origins, normalised as browsers send them', () => {
    expect(loadConfig({ ALLOWED_ORIGINS: ' https://App.Example.com/ , http://127.0.0.1:8080,null,https://x.example.com:443,' }).allowedOrigins).toEqual([
      'https://app.example.com',
      'http://127.0.0.1:8080',
      'null',
      'https://x.example.com',
    ]);
  });

  it('accepts ALLOWED_ORIGINS=* only with authentication', () => {
    const error = configError({ ALLOWED_ORIGINS: '*' });
    expect(error.message).toContain('ALLOWED_ORIGINS');
    expect(error.message).toContain('AUTH_SECRET');
    expect(loadConfig({ ALLOWED_ORIGINS: '*', AUTH_SECRET: 's3cret' }).allowedOrigins).toEqual(['*']);
  });

  it('reads ALLOWED_HOSTS as host names, lowercased', () => {
    expect(loadConfig({ ALLOWED_HOSTS: 'Switchboard.LAN, 192.168.1.20,[fe80::1]' }).allowedHosts).toEqual([
      'switchboard.lan',
      '192.168.1.20',
      '[fe80::1]',
    ]);
  });
});

describe('loadConfig: agents', () => {
  const KEY = 'sk-ant-api03-abcdefghijklmnop';

  it('reads every agent variable', () => {
    expect(
      loadConfig({
        AGENT: 'anthropic',
        MODELS: ' claude-a , claude-b,claude-a ',
        ANTHROPIC_API_KEY: ` ${KEY} `,
        ANTHROPIC_BASE_URL: 'https://gateway.example/anthropic/',
        OPENAI_API_KEY: 'sk-other',
        OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
        AGENT_MAX_TOKENS: '1024',
        AGENT_MAX_STEPS: '3',
        AGENT_SYSTEM_PROMPT: 'You are terse.',
      }),
    ).toMatchObject({
      agent: 'anthropic',
      models: ['claude-a', 'claude-b'],
      anthropicApiKey: KEY,
      anthropicBaseUrl: 'https://gateway.example/anthropic',
      openaiApiKey: 'sk-other',
      openaiBaseUrl: 'http://127.0.0.1:11434/v1',
      agentMaxTokens: 1024,
      agentMaxSteps: 3,
      agentSystemPrompt: 'You are terse.',
    });
  });

  it('runs AGENT=openai against a local server without a key', () => {
    expect(loadConfig({ AGENT: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', MODELS: 'llama3.2' })).toMatchObject({
      agent: 'openai',
      models: ['llama3.2'],
      openaiApiKey: null,
    });
  });

  it.each([
    [{ AGENT: 'claude' }, 'AGENT'],
    [{ AGENT: 'anthropic' }, 'ANTHROPIC_API_KEY'],
    [{ AGENT: 'anthropic', ANTHROPIC_API_KEY: '  ' }, 'ANTHROPIC_API_KEY'],
    [{ AGENT: 'openai' }, 'OPENAI_API_KEY'],
    [{ AGENT: 'openai', OPENAI_BASE_URL: 'https://api.openai.com/v1/' }, 'OPENAI_API_KEY'],
    [{ ANTHROPIC_BASE_URL: 'not a url' }, 'ANTHROPIC_BASE_URL'],
    [{ OPENAI_BASE_URL: 'ftp://127.0.0.1/v1' }, 'OPENAI_BASE_URL'],
    [{ MODELS: 'a,,b' }, 'MODELS'],
    [{ MODELS: 'gpt 4' }, 'MODELS'],
    [{ AGENT_MAX_TOKENS: '0' }, 'AGENT_MAX_TOKENS'],
    [{ AGENT_MAX_TOKENS: 'lots' }, 'AGENT_MAX_TOKENS'],
    [{ AGENT_MAX_STEPS: '0' }, 'AGENT_MAX_STEPS'],
    [{ AGENT_MAX_STEPS: '2.5' }, 'AGENT_MAX_STEPS'],
  ])('refuses %j with one line naming %s', (env, name) => {
    const error = configError(env);
    expect(error.message).toContain(name);
    expect(error.message).not.toMatch(/\n/);
  });

  it.each(['ANTHROPIC_API_KEY', 'OPENAI_API_KEY'])('refuses a %s that cannot go into a header, without printing it', (name) => {
    const value = `${KEY}\nx-injected: 1`;
    const error = configError({ AGENT: 'anthropic', ANTHROPIC_API_KEY: KEY, [name]: value });
    expect(error.message).toContain(name);
    expect(error.message).not.toContain(KEY);
    expect(error.message).not.toMatch(/\n/);
  });
});

describe('createAgentFromConfig', () => {
  it('builds the demo agent, serving MODELS when set', async () => {
    expect((await createAgentFromConfig(loadConfig({}))).models).toEqual(['demo']);
    expect((await createAgentFromConfig(loadConfig({ MODELS: 'fast,slow' }))).models).toEqual(['fast', 'slow']);
  });
});
