import { print } from 'graphql';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { CreateSessionMutation, SendMessageMutation, SessionEventsSubscription } from '../utils/operations.js';
import { connectFrom, postFrom } from '../utils/from-address.js';
import { startTestServer } from '../utils/server.js';

const ONE = '127.0.0.1';
const TWO = '127.0.0.2';
const THREE = '127.0.0.3';

const send = (sessionId: string) => ({ query: print(SendMessageMutation), variables: { input: { sessionId, text: '/sleep 60000' } } });
const codeOf = (body: any) => body?.errors?.[0]?.extensions?.code;

/** The first result of a sessionEvents subscription over `client`: an event, or the error. */
function firstOf(client: Awaited<ReturnType<typeof connectFrom>>['client'], sessionId: string): Promise<unknown> {
  return new Promise((resolve) => {
    client.subscribe(
      { query: print(SessionEventsSubscription), variables: { sessionId, after: 0 } },
      { next: (value) => resolve(value), error: (error) => resolve({ errors: error }), complete: () => {} },
    );
  });
}

describe('per-user limits without authentication', () => {
  it('are kept per client address: each address has its own budget (with authentication, per user)', async () => {
    const server = await startTestServer({ limits: { maxConnectionsPerUser: 2, sendMessagesPerMinute: 2, maxSubscriptionsPerUser: 1 } });
    // Sessions stay the user `local`'s, whichever address asks: a session made from one
    // address is used from another.
    await server.gql(CreateSessionMutation, { input: { id: 'a' } });
    await server.gql(CreateSessionMutation, { input: { id: 'b' } });

    // Connections (graphql-ws sockets and graphql-sse reservations alike).
    const one = [await connectFrom(ONE, server.wsUrl), await connectFrom(ONE, server.wsUrl)];
    expect(one.map((c) => c.outcome)).toEqual(['acked', 'acked']);
    expect((await connectFrom(ONE, server.wsUrl)).outcome).toBe(4429);
    const two = [await connectFrom(TWO, server.wsUrl), await connectFrom(TWO, server.wsUrl)];
    expect(two.map((c) => c.outcome)).toEqual(['acked', 'acked']);
    expect((await connectFrom(TWO, server.wsUrl)).outcome).toBe(4429);
    expect((await postFrom(TWO, `${server.url}/stream`, undefined, { accept: 'text/plain' }, 'PUT')).status).toBe(429);
    expect((await postFrom(THREE, `${server.url}/stream`, undefined, { accept: 'text/plain' }, 'PUT')).status).toBe(201);

    // The sendMessage rate.
    expect(codeOf((await postFrom(ONE, server.url, send('a'))).body)).toBeUndefined();
    expect(codeOf((await postFrom(ONE, server.url, send('b'))).body)).toBeUndefined();
    expect(codeOf((await postFrom(ONE, server.url, send('b'))).body)).toBe('RATE_LIMITED');
    expect(codeOf((await postFrom(TWO, server.url, send('b'))).body)).toBeUndefined();
    expect(codeOf((await postFrom(TWO, server.url, send('b'))).body)).toBeUndefined();
    expect(codeOf((await postFrom(TWO, server.url, send('b'))).body)).toBe('RATE_LIMITED');

    // Open subscriptions (session a has an event now, so an accepted one yields it at once).
    expect(await firstOf(one[0]!.client, 'a')).toMatchObject({ data: { sessionEvents: { seq: 1 } } });
    expect(await firstOf(one[1]!.client, 'a')).toMatchObject({ errors: [{ extensions: { code: 'RATE_LIMITED' } }] });
    expect(await firstOf(two[0]!.client, 'a')).toMatchObject({ data: { sessionEvents: { seq: 1 } } });

    // With authentication they are the user's, from whatever address.
    const secret = 'per-address-secret';
    const authed = await startTestServer({ authSecret: secret, limits: { maxConnectionsPerUser: 2, sendMessagesPerMinute: 2 } });
    const token = async (sub: string) => `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).sign(new TextEncoder().encode(secret))}`;
    const alice = await token('alice');
    const bob = await token('bob');
    expect((await connectFrom(ONE, authed.wsUrl, { authorization: alice })).outcome).toBe('acked');
    expect((await connectFrom(TWO, authed.wsUrl, { authorization: alice })).outcome).toBe('acked');
    // A third address is no way around the user's budget; another user has their own.
    expect((await connectFrom(THREE, authed.wsUrl, { authorization: alice })).outcome).toBe(4429);
    expect((await connectFrom(ONE, authed.wsUrl, { authorization: bob })).outcome).toBe('acked');

    const create = { query: print(CreateSessionMutation), variables: { input: { id: 'x' } } };
    expect((await postFrom(ONE, authed.url, create, { authorization: alice })).status).toBe(200);
    expect(codeOf((await postFrom(ONE, authed.url, send('x'), { authorization: alice })).body)).toBeUndefined();
    expect(codeOf((await postFrom(TWO, authed.url, send('x'), { authorization: alice })).body)).toBeUndefined();
    expect(codeOf((await postFrom(THREE, authed.url, send('x'), { authorization: alice })).body)).toBe('RATE_LIMITED');
  });
});
