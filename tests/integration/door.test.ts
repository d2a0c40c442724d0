import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { bodyJson, corsHeaders, rawRequest, tryUpgrade, type RawResponse } from '../utils/raw-http.js';
import { startTestServer, type TestServer } from '../utils/server.js';

const SECRET = 'a test secret of reasonable length';
const EVIL = 'http://evil.example';

const bearer = async (sub: string) =>
  `Bearer ${await new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))}`;

const createSession = (id: string) => JSON.stringify({ query: `mutation { createSession(input: { id: "${id}" }) { id } }` });
const watch = (id: string) => JSON.stringify({ query: `subscription { sessionEvents(sessionId: "${id}", after: 0) { __typename } }` });

/** What a page can send at this server: every path and transport, with the given extra headers. */
function knock(server: TestServer, headers: Record<string, string>) {
  const json = { 'content-type': 'application/json', ...headers };
  return {
    preflight: () =>
      rawRequest(server.url, {
        method: 'OPTIONS',
        headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type', ...headers },
      }),
    post: (id: string) => rawRequest(server.url, { method: 'POST', headers: json, body: createSession(id) }),
    get: () => rawRequest(`${server.url}?query=${encodeURIComponent('{ sessions { id } }')}`, { headers }),
    sse: (id: string) => rawRequest(server.url, { method: 'POST', headers: { ...json, accept: 'text/event-stream' }, body: watch(id) }),
    reserve: () => rawRequest(`${server.url}/stream`, { method: 'PUT', headers }),
    health: () => rawRequest(`${server.origin}/healthz`, { headers }),
    ready: () => rawRequest(`${server.origin}/readyz`, { headers }),
    graphiql: () => rawRequest(server.url, { headers: { accept: 'text/html', ...headers } }),
    upgrade: () => tryUpgrade(server.wsUrl, headers),
  };
}

function expectForbidden(res: RawResponse) {
  expect(res.status).toBe(403);
  expect(corsHeaders(res.headers)).toEqual({});
  expect(JSON.parse(res.body)).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
}

/** Everything a refused page tries: 403 without CORS headers on every path, the upgrade refused, nothing created. */
async function expectShutOut(server: TestServer, headers: Record<string, string>) {
  const page = knock(server, headers);
  for (const res of await Promise.all([page.preflight(), page.post('evil'), page.get(), page.sse('evil'), page.reserve(), page.health(), page.ready(), page.graphiql()])) {
    expectForbidden(res);
  }
  expect(await page.upgrade()).toEqual({ opened: false, status: 403 });
}

async function sessionIds(server: TestServer, authorization?: string): Promise<string[]> {
  const result = await server.request<{ sessions: Array<{ id: string }> }, never>('{ sessions { id } }', undefined, authorization ? { authorization } : {});
  return result.data!.sessions.map((s) => s.id);
}

describe('origins', () => {
  it('refuses a page from another origin on every path, SSE and the WebSocket upgrade: 403, no CORS headers, no session; requests without Origin pass', async () => {
    const server = await startTestServer();
    await expectShutOut(server, { origin: EVIL });
    // Also with its own Host rebound to look like this server's name.
    await expectShutOut(server, { origin: `${EVIL}:${new URL(server.origin).port}`, host: new URL(server.origin).host });
    // A sandboxed iframe or a file:// page sends "null": not this server's either.
    await expectShutOut(server, { origin: 'null' });
    expect(await sessionIds(server)).toEqual([]);

    // Requests without an Origin (curl, server-side clients) are left alone, with no CORS headers.
    const res = await knock(server, {}).post('no-origin');
    expect(res.status).toBe(200);
    expect(corsHeaders(res.headers)).toEqual({});
    expect(res.headers.vary).toMatch(/\bOrigin\b/i);
    expect((await knock(server, {}).upgrade()).opened).toBe(true);
  });

  it("serves the server's own origin, with CORS headers and credentials", async () => {
    const server = await startTestServer();
    const port = new URL(server.origin).port;
    for (const [origin, host] of [
      [server.origin, `127.0.0.1:${port}`],
      [`http://localhost:${port}`, `localhost:${port}`],
    ] as const) {
      const page = knock(server, { origin, host });
      const preflight = await page.preflight();
      expect(preflight.status).toBe(204);
      expect(corsHeaders(preflight.headers)).toMatchObject({ 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' });
      const id = `own-${host.split(':')[0]!.replace(/\W/g, '_')}`;
      const post = await page.post(id);
      expect(post.status).toBe(200);
      expect(JSON.parse(post.body)).toEqual({ data: { createSession: { id } } });
      expect(corsHeaders(post.headers)).toMatchObject({ 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' });
      await rawRequest(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `mutation { sendMessage(input: { sessionId: "${id}", text: "hi" }) { turnId } }` }),
      });
      const sse = await page.sse(id);
      expect(sse.status).toBe(200);
      expect(bodyJson(sse)).toEqual({ data: { sessionEvents: { __typename: 'UserMessageEvent' } } });
      expect(sse.headers['access-control-allow-origin']).toBe(origin);
      expect((await page.health()).status).toBe(200);
      expect((await page.graphiql()).status).toBe(200);
      const upgrade = await page.upgrade();
      expect(upgrade.opened).toBe(true);
    }
    // The same host on another port is another origin.
    await expectShutOut(server, { origin: `http://127.0.0.1:${Number(port) + 1}` });
  });

  it('serves an origin listed in allowedOrigins, with CORS headers and credentials, and no other', async () => {
    const server = await startTestServer({ allowedOrigins: ['https://app.example.com', 'null'] });
    for (const origin of ['https://app.example.com', 'null']) {
      const page = knock(server, { origin });
      const preflight = await page.preflight();
      expect(preflight.status).toBe(204);
      expect(corsHeaders(preflight.headers)).toMatchObject({
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'POST',
      });
      const post = await page.post(`listed-${origin.length}`);
      expect(post.status).toBe(200);
      expect(corsHeaders(post.headers)).toMatchObject({ 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' });
      // A cache must not serve this origin's answer to another page.
      expect(post.headers.vary).toMatch(/\bOrigin\b/i);
      expect((await page.upgrade()).opened).toBe(true);
    }
    await expectShutOut(server, { origin: 'https://app.example.com.evil.example' });
    await expectShutOut(server, { origin: 'http://app.example.com' });
  });

  it('accepts allowedOrigins "*" only with authentication', async () => {
    expect(() => createApp({ allowedOrigins: ['*'] })).toThrow(/authentication/);
    const server = await startTestServer({ authSecret: SECRET, allowedOrigins: ['*'] });
    const res = await knock(server, { origin: EVIL, authorization: await bearer('alice') }).post('anywhere');
    expect(res.status).toBe(200);
    expect(corsHeaders(res.headers)).toMatchObject({ 'access-control-allow-origin': EVIL, 'access-control-allow-credentials': 'true' });
  });
});

describe('host names (DNS rebinding)', () => {
  it('without authentication, refuses a Host that is not a local name, with or without an Origin', async () => {
    const server = await startTestServer();
    const port = new URL(server.origin).port;
    // A page at http://evil.example:PORT whose name now resolves to 127.0.0.1: same-origin.
    await expectShutOut(server, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` });
    await expectShutOut(server, { host: `evil.example:${port}` });
    await expectShutOut(server, { host: 'evil.example' });
    expect(await sessionIds(server)).toEqual([]);
    // Local names, any port: served.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST', '127.0.0.1:1']) {
      expect((await knock(server, { host }).health()).status, host).toBe(200);
    }
  });

  it('serves the names in allowedHosts', async () => {
    const server = await startTestServer({ allowedHosts: ['switchboard.lan'] });
    const port = new URL(server.origin).port;
    const page = knock(server, { host: `switchboard.lan:${port}`, origin: `http://switchboard.lan:${port}` });
    expect((await page.post('lan')).status).toBe(200);
    expect((await page.health()).status).toBe(200);
    expect((await page.upgrade()).opened).toBe(true);
    await expectShutOut(server, { host: `other.lan:${port}` });
  });

  it('with authentication, serves any Host (a rebound page has no token)', async () => {
    const server = await startTestServer({ authSecret: SECRET });
    const port = new URL(server.origin).port;
    const authorization = await bearer('alice');
    const page = knock(server, { host: `switchboard.example.com:${port}`, authorization });
    expect((await page.post('public')).status).toBe(200);
    expect((await page.health()).status).toBe(200);
    expect((await page.upgrade()).opened).toBe(true);
    expect(await sessionIds(server, authorization)).toEqual(['public']);
    // Its own origin under that name is served too; another origin still is not.
    const own = knock(server, { host: `switchboard.example.com:${port}`, origin: `http://switchboard.example.com:${port}`, authorization });
    expect((await own.post('own')).status).toBe(200);
    await expectShutOut(server, { host: `switchboard.example.com:${port}`, origin: EVIL, authorization });
  });
});
