import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { systemClock } from '../../src/clock.js';
import { sseClient, subscribeEvents, wsClient } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { createQueue } from '../utils/queue.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';

const codeOf = (result: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) => result.errors?.[0]?.extensions?.code;

async function session(server: TestServer, id: string) {
  await server.gql(CreateSessionMutation, { input: { id } });
  return id;
}

/** A raw graphql-transport-ws socket, to play a client that misbehaves. */
function rawSocket(server: TestServer, options: WebSocket.ClientOptions = {}) {
  const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws', options);
  const closed = createQueue<number>();
  socket.on('close', (code) => closed.push(code));
  socket.on('error', () => {});
  onCleanup(() => socket.terminate());
  return { socket, closed };
}

describe('limits', () => {
  it('refuses a request body over maxRequestBytes with 413 PAYLOAD_TOO_LARGE', async () => {
    const server = await startTestServer({ limits: { maxRequestBytes: 2000 } });
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ sessions { id } } # ${'x'.repeat(3000)}` }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    expect((await server.request('{ sessions { id } }')).errors).toBeUndefined();

    // A chunked body has no Content-Length to refuse it by up front: it is counted as it comes.
    const postChunked = (padding: number) =>
      new Promise<{ status?: number; body: string }>((resolve, reject) => {
        const req = request(server.url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', reject);
        const body = JSON.stringify({ query: `{ sessions { id } } # ${'x'.repeat(padding)}` });
        req.write(body.slice(0, 1000));
        req.end(body.slice(1000));
      });
    const chunked = await postChunked(3000);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    const fits = await postChunked(1500);
    expect(fits.status).toBe(200);
    expect(JSON.parse(fits.body)).toEqual({ data: { sessions: [] } });
  });

  it('bounds message text and attachments', async () => {
    const server = await startTestServer({ limits: { maxMessageChars: 10, maxAttachments: 1, maxAttachmentBytes: 6 } });
    const id = await session(server, 'sizes');
    const send = (input: Record<string, unknown>) => server.request(SendMessageMutation, { input: { sessionId: id, text: 'ok', ...input } });
    expect(codeOf(await send({ text: 'x'.repeat(11) }))).toBe('PAYLOAD_TOO_LARGE');
    const file = (dataBase64: string) => ({ name: 'a.bin', mediaType: 'application/octet-stream', dataBase64 });
    expect(codeOf(await send({ attachments: [file('aGk='), file('aGk=')] }))).toBe('PAYLOAD_TOO_LARGE');
    expect(codeOf(await send({ attachments: [file('aGVsbG8gd29ybGQ=')] }))).toBe('PAYLOAD_TOO_LARGE');
    expect(codeOf(await send({ attachments: [file('not base64!')] }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await send({ text: 'x'.repeat(10), attachments: [file('aGk=')] }))).toBeUndefined();
  });

  it('refuses deep, alias-heavy and oversized documents before running them', async () => {
    const server = await startTestServer({ limits: { maxDepth: 3, maxAliases: 3, maxTokens: 200 } });
    const deep = await server.request('{ sessions { messages { toolCalls { toolUseId } } } }');
    expect(deep.errors?.[0]?.message).toMatch(/depth/i);
    const aliases = await server.request('{ a: config { theme } b: config { theme } c: config { theme } d: config { theme } }');
    expect(aliases.errors?.[0]?.message).toMatch(/alias/i);
    const tokens = await server.request(`{ ${Array.from({ length: 150 }, () => 'config { theme }').join(' ')} }`);
    expect(tokens.errors?.[0]?.message).toMatch(/token/i);
    for (const result of [deep, aliases, tokens]) {
      expect(result.data ?? null).toBeNull();
      expect(['BAD_USER_INPUT', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED']).toContain(codeOf(result));
    }
  });

  it('rate-limits sendMessage per user, refilling over time', async () => {
    let skewMs = 0;
    const clock = { ...systemClock, now: () => Date.now() + skewMs };
    const server = await startTestServer({ clock, limits: { sendMessagesPerMinute: 3 } });
    const id = await session(server, 'rate');
    const send = () => server.request(SendMessageMutation, { input: { sessionId: id, text: '/sleep 60000' } });
    for (let i = 0; i < 3; i++) expect(codeOf(await send())).toBeUndefined();
    expect(codeOf(await send())).toBe('RATE_LIMITED');
    skewMs += 20_000; // a third of a minute: one message's worth
    expect(codeOf(await send())).toBeUndefined();
    expect(codeOf(await send())).toBe('RATE_LIMITED');
  });

  it("bounds a session's queue", async () => {
    const server = await startTestServer({ limits: { maxQueuedMessages: 2 } });
    const id = await session(server, 'queue');
    const send = () => server.request(SendMessageMutation, { input: { sessionId: id, text: '/sleep 60000' } });
    expect((await send()).data?.sendMessage.queued).toBe(false);
    expect((await send()).data?.sendMessage.queued).toBe(true);
    expect((await send()).data?.sendMessage.queued).toBe(true);
    const full = await send();
    expect(codeOf(full)).toBe('RATE_LIMITED');
    expect(full.errors?.[0]?.message).toMatch(/queue is full/);
  });

  it('closes a socket that never sends connection_init (4408)', async () => {
    const server = await startTestServer({ limits: { connectionInitWaitTimeoutMs: 100 } });
    const { closed } = rawSocket(server);
    expect(await closed.next()).toBe(4408);
  });

  it('terminates a socket whose peer stops answering pings', async () => {
    const server = await startTestServer({ limits: { keepAliveMs: 100 } });
    // A peer that is gone: it never answers the server's pings.
    const { socket, closed } = rawSocket(server, { autoPong: false });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init' }));
    expect(await closed.next()).toBe(1006);
    // A live peer (ws answers pings itself) stays connected across several intervals.
    const live = rawSocket(server);
    await new Promise((resolve) => live.socket.once('open', resolve));
    live.socket.send(JSON.stringify({ type: 'connection_init' }));
    await live.closed.nothingWithin(400);
  });

  it('bounds subscriptions per graphql-ws connection', async () => {
    const server = await startTestServer({ limits: { maxSubscriptionsPerConnection: 2 } });
    const id = await session(server, 'subs');
    const client = wsClient(server);
    const open = [subscribeEvents(client, id, 0), subscribeEvents(client, id, 0)];
    await server.gql(SendMessageMutation, { input: { sessionId: id, text: 'hi' } });
    for (const events of open) await events.untilComplete();
    const third = subscribeEvents(client, id, 0);
    await expect(third.next()).rejects.toThrow(/At most 2 subscriptions/);
    // Once one completes there is room again; the server handles the client's "complete"
    // and the next "subscribe" concurrently, so the first tries may still find it full.
    open[0]!.unsubscribe();
    for (let attempt = 0; ; attempt++) {
      const again = subscribeEvents(client, id, 0);
      const first = await again.next().catch((error: Error) => error);
      if (!(first instanceof Error)) {
        expect(first).toMatchObject({ seq: 1 });
        break;
      }
      expect(first.message).toMatch(/At most 2 subscriptions/);
      expect(attempt).toBeLessThan(20);
    }
  });

  it('bounds graphql-ws connections per user (4429)', async () => {
    const server = await startTestServer({ limits: { maxConnectionsPerUser: 2 } });
    const connect = () => {
      const { socket, closed } = rawSocket(server);
      const acked = createQueue<string>();
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.on('message', (data) => acked.push(JSON.parse(String(data)).type));
      return { socket, closed, acked };
    };
    const first = connect();
    const second = connect();
    expect(await first.acked.next()).toBe('connection_ack');
    expect(await second.acked.next()).toBe('connection_ack');
    const third = connect();
    expect(await third.closed.next()).toBe(4429);
    first.socket.close();
    await first.closed.next();
    const fourth = connect();
    expect(await fourth.acked.next()).toBe('connection_ack');
  });

  it('bounds open subscriptions per user across transports', async () => {
    const server = await startTestServer({ limits: { maxSubscriptionsPerUser: 2 } });
    const id = await session(server, 'per-user');
    const overWs = subscribeEvents(wsClient(server), id, 0);
    const overSse = subscribeEvents(sseClient(server, 'distinct'), id, 0);
    await server.gql(SendMessageMutation, { input: { sessionId: id, text: 'hi' } });
    await Promise.all([overWs.untilComplete(), overSse.untilComplete()]);
    const third = subscribeEvents(wsClient(server), id, 0);
    await expect(third.next()).rejects.toThrow(/At most 2 open subscriptions per user/);
    // Closing one makes room (the server sees the SSE stream end a moment later).
    overSse.unsubscribe();
    for (let attempt = 0; ; attempt++) {
      const next = await subscribeEvents(wsClient(server), id, 0).next().catch((error: Error) => error);
      if (!(next instanceof Error)) break;
      expect(attempt).toBeLessThan(50);
    }
  });
});
