import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../utils/manual-clock.js';
import { openRawSocket } from '../utils/raw-ws.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';

const SECRET = 'a test secret of reasonable length';
const TOKEN = 'x-graphql-event-stream-token';

const bearer = async (sub: string) =>
  `Bearer ${await new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))}`;

/** graphql-sse's single connection mode by hand, as one caller (`authorization` or none). */
function caller(server: TestServer, authorization?: string) {
  const auth: Record<string, string> = authorization ? { authorization } : {};
  const url = `${server.url}/stream`;
  return {
    /** PUT: the status and the body (the token when 201). */
    async reserve() {
      const res = await fetch(url, { method: 'PUT', headers: auth });
      return { status: res.status, body: await res.text() };
    },
    /** Opens the stream of `token`: its status, and (when 200) a way to read it and to close it. */
    async open(token: string) {
      const abort = new AbortController();
      onCleanup(() => abort.abort());
      const res = await fetch(url, { headers: { ...auth, accept: 'text/event-stream', [TOKEN]: token }, signal: abort.signal });
      if (res.status !== 200) return { status: res.status, body: await res.text(), read: async () => '', close: () => {} };
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      return {
        status: res.status,
        body: '',
        /** What the stream says until `until` appears in it. */
        async read(until: string) {
          let text = '';
          while (!text.includes(until)) {
            const { value, done } = await reader.read();
            if (done) break;
            text += decoder.decode(value, { stream: true });
          }
          return text;
        },
        close: () => abort.abort(),
      };
    },
    /** POSTs an operation onto the stream of `token`. */
    async operate(token: string, operationId: string, query = '{ sessions { id } }') {
      const res = await fetch(url, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', [TOKEN]: token },
        body: JSON.stringify({ query, extensions: { operationId } }),
      });
      return { status: res.status, body: await res.text() };
    },
    async cancel(token: string, operationId: string) {
      const res = await fetch(`${url}?operationId=${operationId}`, { method: 'DELETE', headers: { ...auth, [TOKEN]: token } });
      return { status: res.status, body: await res.text() };
    },
  };
}

const codeOf = (body: string) => (JSON.parse(body) as { errors: Array<{ extensions?: { code?: string } }> }).errors[0]?.extensions?.code;

describe('graphql-sse reservations (PUT /graphql/stream)', () => {
  it('need authentication, and serve only the user who made them', async () => {
    const server = await startTestServer({ authSecret: SECRET });
    const alice = caller(server, await bearer('alice'));
    const bob = caller(server, await bearer('bob'));
    const anonymous = caller(server);

    const refused = await anonymous.reserve();
    expect(refused.status).toBe(401);
    expect(codeOf(refused.body)).toBe('UNAUTHENTICATED');

    const reserved = await alice.reserve();
    expect(reserved.status).toBe(201);
    const token = reserved.body;

    // Bob holding Alice's token gets what an unknown token gets, on every method.
    const unknown = await bob.open(randomUUID());
    expect(unknown.status).toBe(404);
    const stolen = await bob.open(token);
    expect(stolen).toMatchObject({ status: 404, body: unknown.body });
    expect(await bob.operate(token, 'b1')).toMatchObject({ status: 404, body: unknown.body });
    expect(await bob.cancel(token, 'b1')).toMatchObject({ status: 404, body: unknown.body });
    // No credentials at all: refused before the token is looked at.
    expect((await anonymous.open(token)).status).toBe(401);
    expect((await anonymous.operate(token, 'n1')).status).toBe(401);

    // None of that opened or spoiled it: Alice's stream works.
    const stream = await alice.open(token);
    expect(stream.status).toBe(200);
    expect((await alice.operate(token, 'a1')).status).toBe(202);
    expect(await stream.read('"id":"a1"')).toContain('"sessions":[]');
    // Once open, Bob still cannot post onto it.
    expect(await bob.operate(token, 'b2')).toMatchObject({ status: 404, body: unknown.body });
  });

  it('count as connections: a flood past maxConnectionsPerUser is refused with 429 RATE_LIMITED, other users unaffected', async () => {
    const server = await startTestServer({ authSecret: SECRET, limits: { maxConnectionsPerUser: 5 } });
    const alice = caller(server, await bearer('alice'));
    const bob = caller(server, await bearer('bob'));

    const flood = await Promise.all(Array.from({ length: 200 }, () => alice.reserve()));
    expect(flood.filter((r) => r.status === 201)).toHaveLength(5);
    const over = flood.filter((r) => r.status !== 201);
    expect(over).toHaveLength(195);
    for (const r of over) {
      expect(r.status).toBe(429);
      expect(codeOf(r.body)).toBe('RATE_LIMITED');
    }

    // The same count as graphql-ws connections: Alice has none left there either.
    const aliceWs = await openRawSocket(server.wsUrl);
    aliceWs.send({ type: 'connection_init', payload: { authorization: await bearer('alice') } });
    expect((await aliceWs.closed).code).toBe(4429);

    // Bob's own count is untouched.
    for (let i = 0; i < 5; i++) expect((await bob.reserve()).status).toBe(201);
    expect((await bob.reserve()).status).toBe(429);
  });

  it('without authentication, are bounded all the same', async () => {
    const server = await startTestServer({ limits: { maxConnectionsPerUser: 50 } });
    const local = caller(server);
    const flood = await Promise.all(Array.from({ length: 300 }, () => local.reserve()));
    expect(flood.filter((r) => r.status === 201)).toHaveLength(50);
    expect(flood.filter((r) => r.status === 429)).toHaveLength(250);
  });

  it('expire 30 s after their making when no stream has opened them, giving their count back', async () => {
    const clock = createManualClock(Date.now());
    const server = await startTestServer({ clock, limits: { maxConnectionsPerUser: 2 } });
    const local = caller(server);
    const unused = (await local.reserve()).body;
    const used = (await local.reserve()).body;
    const stream = await local.open(used);
    expect(stream.status).toBe(200);
    expect((await local.reserve()).status).toBe(429);

    clock.advance(29_999);
    expect((await local.reserve()).status).toBe(429);
    clock.advance(1);
    // The unused one is gone (and its count with it); the one in use stays.
    expect((await local.open(unused)).status).toBe(404);
    expect((await local.operate(unused, 'u1')).status).toBe(404);
    expect((await local.operate(used, 'o1')).status).toBe(202);
    expect(await stream.read('"id":"o1"')).toContain('"sessions":[]');
    const again = await local.reserve();
    expect(again.status).toBe(201);
    expect((await local.reserve()).status).toBe(429);

    // Long after: the open stream still serves; the later reservation, never opened, is gone.
    clock.advance(60_000);
    expect((await local.operate(used, 'o2')).status).toBe(202);
    expect((await local.open(again.body)).status).toBe(404);
  });

  it('take reservationTtlMs as their TTL', async () => {
    const clock = createManualClock(Date.now());
    const server = await startTestServer({ clock, limits: { maxConnectionsPerUser: 1, reservationTtlMs: 1000 } });
    const local = caller(server);
    const token = (await local.reserve()).body;
    clock.advance(999);
    expect((await local.reserve()).status).toBe(429);
    clock.advance(1);
    expect((await local.open(token)).status).toBe(404);
    expect((await local.reserve()).status).toBe(201);
  });

  it('give their count back when their stream closes', async () => {
    const server = await startTestServer({ limits: { maxConnectionsPerUser: 1 } });
    const local = caller(server);
    const token = (await local.reserve()).body;
    const stream = await local.open(token);
    expect(stream.status).toBe(200);
    expect((await local.reserve()).status).toBe(429);
    // A second stream on the same token is graphql-sse's 409, and counts nothing more.
    expect((await local.open(token)).status).toBe(409);

    stream.close();
    // The server sees the stream end a moment after the client drops it.
    let next = await local.reserve();
    for (let attempt = 0; next.status !== 201 && attempt < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      next = await local.reserve();
    }
    expect(next.status).toBe(201);
    // The closed stream's token is spent.
    expect((await local.operate(token, 'late')).status).toBe(404);
  });
});
