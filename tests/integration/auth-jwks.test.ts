import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { wsClient } from '../utils/clients.js';
import { signingKey, startKeyServer } from '../utils/jwks.js';
import { createQueue } from '../utils/queue.js';
import { openRawSocket } from '../utils/raw-ws.js';
import { waitUntil } from '../utils/wait.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { CreateSessionMutation, SessionsQuery } from '../utils/operations.js';

const SECRET = 'a test secret of reasonable length';

/** What a POST of `{ sessions { id } }` with this token gets: the status, the error code or the ids. */
async function sessionsWith(server: TestServer, token: string | null) {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query: '{ sessions { id } }' }),
  });
  const body = (await res.json()) as { data?: { sessions: Array<{ id: string }> }; errors?: Array<{ extensions?: { code?: string } }> };
  return { status: res.status, code: body.errors?.[0]?.extensions?.code, ids: body.data?.sessions.map((s) => s.id) };
}

/** The close code a graphql-ws connection with this token ends with, or 'acked' if it is accepted. */
async function wsOutcome(server: TestServer, token: string) {
  const outcome = createQueue<number | 'acked'>();
  wsClient(server, {
    lazy: false,
    onNonLazyError: () => {}, // the close code is what is asserted
    connectionParams: { authorization: `Bearer ${token}` },
    on: { connected: () => outcome.push('acked'), closed: (e) => outcome.push((e as CloseEvent).code) },
  });
  return outcome.next();
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const HOUR = 3600_000;

describe('tokens from an identity provider (AUTH_JWKS_URL)', () => {
  it('accepts RS256, ES256 and EdDSA tokens of its keys, each as its own user', async () => {
    const [rsa, ec, ed] = await Promise.all([signingKey('RS256', 'rsa-1'), signingKey('ES256', 'ec-1'), signingKey('EdDSA', 'ed-1')]);
    const keys = await startKeyServer([rsa, ec, ed]);
    const server = await startTestServer({ auth: { jwksUrl: keys.url } });
    const alice = await rsa.sign({ sub: 'alice' });
    await server.request(CreateSessionMutation, { input: { id: 'alices' } }, { authorization: `Bearer ${alice}` });
    expect(await sessionsWith(server, alice)).toEqual({ status: 200, code: undefined, ids: ['alices'] });
    expect(await sessionsWith(server, await ec.sign({ sub: 'alice' }))).toMatchObject({ status: 200, ids: ['alices'] });
    expect(await sessionsWith(server, await ed.sign({ sub: 'bob' }))).toMatchObject({ status: 200, ids: [] });
    expect(await wsOutcome(server, await ec.sign({ sub: 'alice' }))).toBe('acked');
    expect(await sessionsWith(server, null)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    // Fetched once, then cached.
    expect(keys.fetches).toBe(1);
  });

  it('refuses alg none, HS256, an algorithm the key does not fit, a foreign key, and an expired token', async () => {
    const [rsa, ec, stranger] = await Promise.all([signingKey('RS256', 'rsa-1'), signingKey('ES256', 'ec-1'), signingKey('RS256', 'rsa-1')]);
    const keys = await startKeyServer([rsa, ec]);
    const server = await startTestServer({ auth: { jwksUrl: keys.url, jwksCooldownMs: 0 } });
    const unsigned = `${base64url({ alg: 'none', kid: 'rsa-1' })}.${base64url({ sub: 'alice' })}.`;
    const hs256 = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(new TextEncoder().encode(SECRET));
    const cases: Array<[string, string]> = [
      ['alg none', unsigned],
      ['HS256', hs256],
      // An ES256 signature claiming the RSA key's kid: that key cannot verify ES256.
      ['ES256 on the RSA kid', await ec.sign({ sub: 'alice' }, { header: { kid: 'rsa-1' } })],
      ['RS256 by a key not in the set', await stranger.sign({ sub: 'alice' })],
      ['expired', await rsa.sign({ sub: 'alice' }, { expiresAt: Date.now() - 60_000 })],
      ['no sub', await rsa.sign({})],
    ];
    for (const [name, token] of cases) {
      expect(await sessionsWith(server, token), name).toEqual({ status: 401, code: 'UNAUTHENTICATED', ids: undefined });
    }
    expect(await wsOutcome(server, unsigned)).toBe(4403);
    expect(await sessionsWith(server, await rsa.sign({ sub: 'alice' }))).toMatchObject({ status: 200 });
  });

  it('follows a key rotation: a new kid is fetched, a removed key is refused', async () => {
    const [old, next] = await Promise.all([signingKey('RS256', 'key-2025'), signingKey('ES256', 'key-2026')]);
    const keys = await startKeyServer([old]);
    const server = await startTestServer({ auth: { jwksUrl: keys.url, jwksCooldownMs: 0 } });
    expect(await sessionsWith(server, await old.sign({ sub: 'alice' }))).toMatchObject({ status: 200 });
    expect(keys.fetches).toBe(1);

    keys.publish([next]);
    expect(await sessionsWith(server, await next.sign({ sub: 'alice' }))).toMatchObject({ status: 200 });
    expect(keys.fetches).toBe(2);
    expect(await sessionsWith(server, await old.sign({ sub: 'alice' }))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await wsOutcome(server, await old.sign({ sub: 'alice' }))).toBe(4403);
    expect(await wsOutcome(server, await next.sign({ sub: 'alice' }))).toBe('acked');
  });

  it('does not refetch for unknown kids within the cooldown', async () => {
    const [known, unknown] = await Promise.all([signingKey('ES256', 'known'), signingKey('ES256', 'unknown')]);
    const keys = await startKeyServer([known]);
    const server = await startTestServer({ auth: { jwksUrl: keys.url } });
    expect(await sessionsWith(server, await known.sign({ sub: 'alice' }))).toMatchObject({ status: 200 });
    for (let i = 0; i < 5; i++) {
      expect(await sessionsWith(server, await unknown.sign({ sub: 'mallory' }))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
    expect(keys.fetches).toBe(1);
  });

  it('answers within the fetch bound when the key server is slow: 503 SERVICE_UNAVAILABLE, graphql-ws 1013', async () => {
    const key = await signingKey('RS256', 'slow');
    const keys = await startKeyServer([key]);
    keys.delayMs = 60_000;
    const server = await startTestServer({ auth: { jwksUrl: keys.url, jwksTimeoutMs: 200 } });
    const token = await key.sign({ sub: 'alice' });
    const started = Date.now();
    expect(await sessionsWith(server, token)).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE', ids: undefined });
    // Far below the key server's minute; generous for a loaded machine.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await wsOutcome(server, token)).toBe(1013);

    // Once the key server answers again, the same token is good.
    keys.delayMs = 0;
    expect(await sessionsWith(server, token)).toMatchObject({ status: 200 });
  });
  it('counts no connection for a socket that closed while its token was being checked', async () => {
    const key = await signingKey('RS256', 'k');
    const keys = await startKeyServer([key]);
    keys.delayMs = 300;
    const server = await startTestServer({ auth: { jwksUrl: keys.url }, limits: { maxConnectionsPerUser: 1 } });
    const token = await key.sign({ sub: 'alice' });
    // connection_init, then gone before the key set (and so the verdict) arrives.
    const early = await openRawSocket(server.wsUrl);
    early.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    await waitUntil(() => keys.fetches === 1, 'the server asks for the key set');
    early.terminate();
    await early.closed;
    // Answered once the key set has come and the closed socket's check has finished too.
    expect(await sessionsWith(server, token)).toMatchObject({ status: 200 });
    // Alice has no connection open: this one is accepted, not refused as her second (4429).
    expect(await wsOutcome(server, token)).toBe('acked');
  });
});

describe('required issuer and audience (AUTH_ISSUER, AUTH_AUDIENCE)', () => {
  const claims = { sub: 'alice', iss: 'https://id.example.com/', aud: 'switchboard' };

  it('with a key set: only tokens of that issuer for that audience', async () => {
    const key = await signingKey('ES256', 'k');
    const keys = await startKeyServer([key]);
    const server = await startTestServer({ auth: { jwksUrl: keys.url, issuer: claims.iss, audience: claims.aud } });
    const sign = (c: Record<string, unknown>) => key.sign(c);
    expect(await sessionsWith(server, await sign(claims))).toMatchObject({ status: 200 });
    expect(await sessionsWith(server, await sign({ ...claims, aud: ['other', 'switchboard'] }))).toMatchObject({ status: 200 });
    for (const [name, c] of [
      ['other issuer', { ...claims, iss: 'https://evil.example.com/' }],
      ['other audience', { ...claims, aud: 'another-app' }],
      ['no issuer', { sub: 'alice', aud: claims.aud }],
      ['no audience', { sub: 'alice', iss: claims.iss }],
    ] as const) {
      expect(await sessionsWith(server, await sign(c)), name).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
    expect(await wsOutcome(server, await sign({ ...claims, aud: 'another-app' }))).toBe(4403);
    expect(await wsOutcome(server, await sign(claims))).toBe('acked');
  });

  it('with AUTH_SECRET too', async () => {
    const server = await startTestServer({ authSecret: SECRET, auth: { issuer: claims.iss, audience: claims.aud } });
    const sign = (c: Record<string, unknown>) => new SignJWT(c).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    expect(await sessionsWith(server, await sign(claims))).toMatchObject({ status: 200 });
    expect(await sessionsWith(server, await sign({ ...claims, iss: 'https://evil.example.com/' }))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await sessionsWith(server, await sign({ ...claims, aud: 'another-app' }))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await wsOutcome(server, await sign({ ...claims, iss: 'https://evil.example.com/' }))).toBe(4403);
    expect(await wsOutcome(server, await sign(claims))).toBe('acked');
  });
});
