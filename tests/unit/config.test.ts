import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

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

describe('loadConfig', () => {
  it('has a default for everything', () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: '127.0.0.1',
      dataDir: resolve('./data'),
      databaseUrl: null,
      redisUrl: null,
      authSecret: null,
      allowedOrigins: [],
      allowedHosts: [],
      agent: 'demo',
      coalesceWindowMs: 50,
      coalesceMaxBytes: 16384,
      permissionTimeoutMs: 300_000,
      leaseTtlMs: 10_000,
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
        ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:5173',
        ALLOWED_HOSTS: 'switchboard.internal',
        AGENT: 'demo',
        COALESCE_WINDOW_MS: '0',
        COALESCE_MAX_BYTES: '1024',
        PERMISSION_TIMEOUT_MS: '1000',
        LEASE_TTL_MS: '2500',
      }),
    ).toEqual({
      port: 8080,
      host: '0.0.0.0',
      dataDir: '/tmp/switchboard-data',
      databaseUrl: 'postgres://u:p@db:5432/switchboard',
      redisUrl: 'redis://cache:6379',
      authSecret: 'secret',
      allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      allowedHosts: ['switchboard.internal'],
      agent: 'demo',
      coalesceWindowMs: 0,
      coalesceMaxBytes: 1024,
      permissionTimeoutMs: 1000,
      leaseTtlMs: 2500,
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
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://cache'],
    ['AGENT', 'other'],
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
