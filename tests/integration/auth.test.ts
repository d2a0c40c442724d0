import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { createQueue } from '../utils/queue.js';
import { sseClient, subscribe, subscribeEvents, wsClient } from '../utils/clients.js';
import {
  CancelTurnMutation,
  ConfigChangedSubscription,
  CreateSessionMutation,
  DeleteSessionMutation,
  RespondToPermissionMutation,
  SendMessageMutation,
  SessionQuery,
  SessionsQuery,
  UpdateConfigMutation,
} from '../utils/operations.js';
import { observedPubSub } from '../utils/observed-pubsub.js';
import { startTestServer, type TestServer } from '../utils/server.js';

const SECRET = 'a test secret of reasonable length';

async function token(sub: string | undefined, options: { secret?: string; expiresIn?: string | number; alg?: string } = {}) {
  const jwt = new SignJWT(sub === undefined ? {} : { sub }).setProtectedHeader({ alg: options.alg ?? 'HS256' }).setIssuedAt();
  if (options.expiresIn !== undefined) jwt.setExpirationTime(options.expiresIn);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const bearer = async (sub: string) => ({ authorization: `Bearer ${await token(sub)}` });

/** Every request of one user: HTTP with the header, graphql-ws with connectionParams. */
async function as(server: TestServer, sub: string) {
  const headers = await bearer(sub);
  return {
    headers,
    request: <R, V>(doc: Parameters<TestServer['request']>[0] & { __apiType?: unknown }, variables?: V) =>
      server.request(doc as never, variables as never, headers) as Promise<{ data?: R | null; errors?: Array<{ extensions?: Record<string, unknown> }> }>,
    ws: () => wsClient(server, { connectionParams: headers }),
  };
}

describe('authentication with AUTH_SECRET', () => {
  it('refuses HTTP requests without a valid bearer token with 401 UNAUTHENTICATED', async () => {
    const server = await startTestServer({ authSecret: SECRET });
    const cases: Array<[string, Record<string, string>]> = [
      ['no header', {}],
      ['not bearer', { authorization: 'Basic dXNlcjpwYXNz' }],
      ['garbage', { authorization: 'Bearer not.a.jwt' }],
      ['wrong secret', { authorization: `Bearer ${await token('alice', { secret: 'another secret entirely' })}` }],
      ['expired', { authorization: `Bearer ${await token('alice', { expiresIn: Math.floor(Date.now() / 1000) - 60 })}` }],
      ['no sub', { authorization: `Bearer ${await token(undefined)}` }],
      ['HS512', { authorization: `Bearer ${await token('alice', { alg: 'HS512' })}` }],
    ];
    for (const [name, headers] of cases) {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body: JSON.stringify({ query: '{ sessions { id } }' }),
      });
      expect(res.status, name).toBe(401);
      const body = (await res.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
      expect(body.errors[0]!.extensions, name).toEqual({ code: 'UNAUTHENTICATED' });
    }
    const ok = await server.request(SessionsQuery, {}, await bearer('alice'));
    expect(ok).toEqual({ data: { sessions: [] } });
  });

  it('closes a graphql-ws connection without a valid token with 4403', async () => {
    const server = await startTestServer({ authSecret: SECRET });
    for (const connectionParams of [{}, { authorization: 'Bearer nope' }]) {
      const closed = createQueue<number>();
      const client = wsClient(server, { connectionParams, lazy: false, on: { closed: (e) => closed.push((e as CloseEvent).code) } });
      expect(await closed.next()).toBe(4403);
      await client.dispose();
    }
    const client = wsClient(server, { connectionParams: await bearer('alice') });
    const created = subscribe(client, ConfigChangedSubscription, {});
    await created.nothingWithin(50);
    expect(created.ended).toBe(false);
  });

  it('accepts tokens on SSE in both modes', async () => {
    const server = await startTestServer({ authSecret: SECRET });
    const alice = await as(server, 'alice');
    await server.request(CreateSessionMutation, { input: { id: 'sse-auth' } }, alice.headers);
    for (const mode of ['distinct', 'single'] as const) {
      const events = subscribeEvents(sseClient(server, mode, { headers: alice.headers }), 'sse-auth', 0);
      if (mode === 'distinct') await server.request(SendMessageMutation, { input: { sessionId: 'sse-auth', text: 'hi' } }, alice.headers);
      expect((await events.untilComplete()).at(-1)).toMatchObject({ reason: 'END_TURN' });
    }
    const refused = subscribeEvents(sseClient(server, 'distinct'), 'sse-auth', 0);
    await expect(refused.next()).rejects.toThrow();
  });

  it("treats another user's session exactly like an absent one, everywhere", async () => {
    const server = await startTestServer({ authSecret: SECRET });
    const alice = await as(server, 'alice');
    const mallory = await as(server, 'mallory');
    await server.request(CreateSessionMutation, { input: { id: 'alices' } }, alice.headers);
    const aliceEvents = subscribeEvents(alice.ws(), 'alices', 0);
    await server.request(SendMessageMutation, { input: { sessionId: 'alices', text: '/write a.txt secret' } }, alice.headers);
    const asked = await aliceEvents.takeUntil((e) => e.__typename === 'PermissionRequestEvent');
    const requestId = (asked.at(-1) as { request: { requestId: string } }).request.requestId;

    expect(await server.request(SessionQuery, { id: 'alices' }, mallory.headers)).toEqual({ data: { session: null } });
    expect(await server.request(SessionQuery, { id: 'nobody' }, mallory.headers)).toEqual({ data: { session: null } });
    expect((await server.request(SessionsQuery, {}, mallory.headers)).data?.sessions).toEqual([]);
    const attempts = [
      server.request(SendMessageMutation, { input: { sessionId: 'alices', text: 'hi' } }, mallory.headers),
      server.request(CancelTurnMutation, { sessionId: 'alices' }, mallory.headers),
      server.request(RespondToPermissionMutation, { input: { sessionId: 'alices', requestId, allowed: true } }, mallory.headers),
      server.request(DeleteSessionMutation, { id: 'alices' }, mallory.headers),
    ];
    const absent = await server.request(SendMessageMutation, { input: { sessionId: 'nobody', text: 'hi' } }, mallory.headers);
    for (const result of await Promise.all(attempts)) {
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND' });
      expect(result.errors?.[0]?.message).toBe(absent.errors?.[0]?.message);
    }
    const spying = subscribeEvents(mallory.ws(), 'alices', 0);
    await expect(spying.next()).rejects.toThrow(/not found/i);

    // Alice's turn is untouched by all of that.
    const { data } = await server.request(SessionQuery, { id: 'alices' }, alice.headers);
    expect(data?.session).toMatchObject({ status: 'AWAITING_PERMISSION' });
    expect(data?.session?.pendingPermissions.map((p) => p.requestId)).toEqual([requestId]);
  });

  it("sends configChanged only to the user's own clients", async () => {
    const observed = observedPubSub();
    const server = await startTestServer({ authSecret: SECRET, pubsub: observed.pubsub });
    const alice = await as(server, 'alice');
    const bob = await as(server, 'bob');
    const alicesChanges = subscribe(alice.ws(), ConfigChangedSubscription, {});
    const bobsChanges = subscribe(bob.ws(), ConfigChangedSubscription, {});
    await Promise.all([observed.listeners('config:alice', 1), observed.listeners('config:bob', 1)]);

    await server.request(UpdateConfigMutation, { input: { theme: { n: 2 } } }, alice.headers);
    expect((await alicesChanges.next()).data?.configChanged.config.theme).toEqual({ n: 2 });
    await bobsChanges.nothingWithin(100);
    const bobsConfig = await server.request(UpdateConfigMutation, { input: {} }, bob.headers);
    expect(bobsConfig.data?.updateConfig.theme).toBeNull();
  });

  it('checks the token again when a subscription starts on an open socket', async () => {
    // The server's clock runs ahead when the test says so: the token expires without a wait.
    let skewMs = 0;
    const clock = { ...systemClock, now: () => Date.now() + skewMs };
    const server = await startTestServer({ authSecret: SECRET, clock });
    const shortLived = await token('alice', { expiresIn: Math.floor(Date.now() / 1000) + 60 });
    const client = wsClient(server, { connectionParams: { authorization: `Bearer ${shortLived}` } });
    await server.request(CreateSessionMutation, { input: { id: 'expiring' } }, await bearer('alice'));
    const first = subscribeEvents(client, 'expiring', 0);
    await first.nothingWithin(50);
    expect(first.ended).toBe(false);

    skewMs = 120_000;
    const second = subscribeEvents(client, 'expiring', 0);
    await expect(second.next()).rejects.toThrow(/expired/i);
  });
});
