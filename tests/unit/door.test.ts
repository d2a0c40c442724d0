import { describe, expect, it } from 'vitest';
import { createDoor, isOwnOrigin } from '../../src/transport/door.js';

describe('isOwnOrigin', () => {
  it.each([
    ['http://127.0.0.1:4000', '127.0.0.1:4000', true],
    ['http://localhost:4000', 'LOCALHOST:4000', true],
    ['http://[::1]:4000', '[::1]:4000', true],
    // Default ports, made explicit on either side.
    ['http://example.com', 'example.com', true],
    ['http://example.com', 'example.com:80', true],
    ['https://example.com', 'example.com', true],
    ['https://example.com', 'example.com:443', true],
    // Behind a TLS-terminating proxy the page is https, the Host the same name and port.
    ['https://example.com:8443', 'example.com:8443', true],
    ['http://127.0.0.1:4001', '127.0.0.1:4000', false],
    ['http://localhost:4000', '127.0.0.1:4000', false],
    ['https://example.com', 'example.com:80', false],
    ['http://example.com.evil.example', 'example.com', false],
    ['null', '127.0.0.1:4000', false],
    ['http://127.0.0.1:4000/', '127.0.0.1:4000', false],
    ['ftp://127.0.0.1:4000', '127.0.0.1:4000', false],
    ['not a url', '127.0.0.1:4000', false],
  ])('%s with Host %s: %s', (origin, host, own) => {
    expect(isOwnOrigin(origin, host)).toBe(own);
  });
});

describe('createDoor', () => {
  const knock = (headers: Record<string, string | string[]>) => ({ headers });

  it('without authentication checks the Host, port ignored, case-insensitively', () => {
    const door = createDoor({ listenHost: '::1', allowedHosts: ['switchboard.lan'] });
    for (const host of ['localhost', '127.0.0.1:1', '[::1]:4000', 'SWITCHBOARD.lan:80']) expect(door.refusal(knock({ host })), host).toBeNull();
    for (const host of ['evil.example', 'localhost.evil.example:4000', '127.0.0.2', '', 'switchboard.lan.evil']) {
      expect(door.refusal(knock({ host })), host).toMatch(/ALLOWED_HOSTS/);
    }
    expect(door.refusal(knock({}))).toMatch(/ALLOWED_HOSTS/);
    expect(createDoor({ authenticated: true }).refusal(knock({ host: 'evil.example' }))).toBeNull();
  });

  it('serves the own origin and listed ones (normalised), refuses others and repeated ones', () => {
    const door = createDoor({ allowedOrigins: ['https://App.example.com/', 'null'] });
    const host = '127.0.0.1:4000';
    for (const origin of ['http://127.0.0.1:4000', 'https://app.example.com', 'null']) {
      expect(door.refusal(knock({ host, origin })), origin).toBeNull();
      expect(door.corsOrigin(origin, host)).toBe(origin);
    }
    for (const origin of ['http://evil.example', 'https://app.example.com:8443', '', 'http://127.0.0.1:4000, http://evil.example']) {
      expect(door.refusal(knock({ host, origin })), origin).toMatch(/ALLOWED_ORIGINS/);
      expect(door.corsOrigin(origin, host)).toBeNull();
    }
    expect(door.corsOrigin(null, host)).toBeNull();
  });

  it('takes "*" only with authentication', () => {
    expect(() => createDoor({ allowedOrigins: ['*'] })).toThrow(/authentication/);
    const door = createDoor({ allowedOrigins: ['*'], authenticated: true });
    expect(door.refusal(knock({ host: 'any.example', origin: 'http://evil.example' }))).toBeNull();
  });
});
