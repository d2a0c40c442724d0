import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { CreateSessionMutation, SendMessageMutation, SessionEventsSubscription } from '../utils/operations.js';
import { connectFrom } from '../utils/from-address.js';
import { buildServer, spawnServer, startServerProcess } from '../utils/process.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { startTestServer } from '../utils/server.js';

const dataDir = () => mkdtemp(join(tmpdir(), 'switchboard-limits-'));

async function post(url: string, document: unknown, variables: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: print(document as never), variables }),
  });
  return (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

describe('limits set by environment (the server as npm start runs it)', () => {
  // `npm start` is `npm run build && node dist/main.js`: the same here.
  beforeAll(() => buildServer(), 180_000);
  const start = (env: Record<string, string>) => startServerProcess(env, 30_000, { built: true });

  it('MAX_CONNECTIONS_PER_USER=0 SEND_MESSAGES_PER_MINUTE=0: more than 50 connections and 120 messages a minute, none refused', async () => {
    const proc = await start({ DATA_DIR: await dataDir(), MAX_CONNECTIONS_PER_USER: '0', SEND_MESSAGES_PER_MINUTE: '0' });
    // Five sessions, so that no session's queue (MAX_QUEUED_MESSAGES, 100) fills up.
    for (let s = 0; s < 5; s++) await post(proc.url, CreateSessionMutation, { input: { id: `s${s}` } });
    const refused: unknown[] = [];
    for (let i = 0; i < 130; i++) {
      const result = await post(proc.url, SendMessageMutation, { input: { sessionId: `s${i % 5}`, text: '/sleep 60000' } });
      if (result.errors) refused.push(result.errors);
    }
    expect(refused).toEqual([]);

    // 60 connections from one address, with 20 subscriptions each: 1200, past the 1000 of the
    // bench's load generator (the default MAX_SUBSCRIPTIONS_PER_USER holds that many).
    const wsUrl = proc.url.replace('http', 'ws');
    const clients = await Promise.all(Array.from({ length: 60 }, () => connectFrom('127.0.0.1', wsUrl)));
    expect(clients.filter((c) => c.outcome !== 'acked').map((c) => c.outcome)).toEqual([]);
    const firsts = clients.flatMap(({ client }) =>
      Array.from(
        { length: 20 },
        () =>
          new Promise<unknown>((resolve) =>
            client.subscribe(
              { query: print(SessionEventsSubscription), variables: { sessionId: 's0', after: 0 } },
              { next: (value) => resolve(value.errors ?? value.data), error: (error) => resolve(error), complete: () => {} },
            ),
          ),
      ),
    );
    const results = await Promise.all(firsts);
    expect(results.filter((r) => (r as { sessionEvents?: { seq?: number } }).sessionEvents?.seq !== 1)).toEqual([]);
  }, 120_000);

  it('enforces small values of each variable it is given', async () => {
    const proc = await start({
      DATA_DIR: await dataDir(),
      MAX_CONNECTIONS_PER_USER: '2',
      SEND_MESSAGES_PER_MINUTE: '3',
      MAX_MESSAGE_CHARS: '20',
      MAX_QUEUED_MESSAGES: '1',
      MAX_SESSIONS_PER_USER: '2',
      MAX_QUERY_ALIASES: '1',
    });
    const wsUrl = proc.url.replace('http', 'ws');
    expect((await connectFrom('127.0.0.1', wsUrl)).outcome).toBe('acked');
    expect((await connectFrom('127.0.0.1', wsUrl)).outcome).toBe('acked');
    expect((await connectFrom('127.0.0.1', wsUrl)).outcome).toBe(4429);

    const codes = async (document: unknown, variables: Record<string, unknown>) => (await post(proc.url, document, variables)).errors?.[0]?.extensions?.code;
    expect(await codes(CreateSessionMutation, { input: { id: 'a' } })).toBeUndefined();
    expect(await codes(CreateSessionMutation, { input: { id: 'b' } })).toBeUndefined();
    expect(await codes(CreateSessionMutation, { input: { id: 'c' } })).toBe('QUOTA_EXCEEDED');
    const send = (text: string) => codes(SendMessageMutation, { input: { sessionId: 'a', text } });
    expect(await send('x'.repeat(21))).toBe('PAYLOAD_TOO_LARGE');
    expect(await send('/sleep 60000')).toBeUndefined(); // runs
    expect(await send('/sleep 60000')).toBeUndefined(); // queued
    const full = await post(proc.url, SendMessageMutation, { input: { sessionId: 'a', text: '/sleep 60000' } });
    expect(full.errors?.[0]?.message).toMatch(/queue is full \(1 messages\)/);
    // The queue-full refusal took the third token of the minute: the fourth call is over the rate.
    const rated = await post(proc.url, SendMessageMutation, { input: { sessionId: 'b', text: 'hi' } });
    expect(rated.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED' }, message: expect.stringMatching(/3 messages a minute/) });

    const aliases = await fetch(proc.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ a: config { theme } b: config { theme } }' }),
    });
    expect(JSON.stringify(await aliases.json())).toMatch(/alias/i);
  }, 60_000);

  it('refuses a bad limit value at start-up with one line naming the variable', async () => {
    const proc = spawnServer({ DATA_DIR: await dataDir(), MAX_SUBSCRIPTIONS_PER_CONNECTION: 'lots' }, { built: true });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^switchboard: MAX_SUBSCRIPTIONS_PER_CONNECTION must be a whole number/);
  });

  it('0 turns each count off wherever it is enforced', async () => {
    const server = await startTestServer({
      limits: {
        maxSubscriptionsPerConnection: 0,
        maxSubscriptionsPerUser: 0,
        maxQueuedMessages: 0,
        maxMessageChars: 0,
        maxAttachments: 0,
        maxAttachmentBytes: 0,
        maxDepth: 0,
        maxAliases: 0,
      },
    });
    await server.gql(CreateSessionMutation, { input: { id: 'z' } });
    const codeOf = (result: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) => result.errors?.[0]?.extensions?.code;
    const send = (input: { text: string; attachments?: Array<{ name: string; mediaType: string; dataBase64: string }> }) =>
      server.request(SendMessageMutation, { input: { sessionId: 'z', ...input } });
    expect(codeOf(await send({ text: `/sleep 60000 ${'x'.repeat(5000)}` }))).toBeUndefined();
    const file = { name: 'a.bin', mediaType: 'application/octet-stream', dataBase64: 'aGk=' };
    for (let i = 0; i < 3; i++) expect(codeOf(await send({ text: 'queued', attachments: [file, file, file] }))).toBeUndefined();

    const client = wsClient(server);
    const streams = Array.from({ length: 3 }, () => subscribeEvents(client, 'z', 0));
    for (const events of streams) expect(await events.next()).toMatchObject({ seq: 1 });

    const deep = await server.request('{ a: sessions { messages { toolCalls { toolUseId } } } b: config { theme } c: config { theme } }');
    expect(deep.errors).toBeUndefined();
  });
});
