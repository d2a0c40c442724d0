import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { sseClient, wsClient } from '../utils/clients.js';
import { complete, sessionRecord, userMessage } from '../utils/events.js';
import { MiB, rssBytes, sampleRss } from '../utils/memory.js';
import { startServerProcess } from '../utils/process.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';

/**
 * Bounded results (CONTRACT.md "Safe by default"): `messages` pages, and no operation makes
 * the server build a result larger than MAX_RESPONSE_BYTES, whatever the transport.
 */

/** Appends `count` turns to a session, each a user message of `size` characters and its end. */
async function fill(store: Store, sessionId: string, count: number, size: number) {
  for (let i = 1; i <= count; i++) {
    const turnId = `t${i}`;
    const text = `${i}:`.padEnd(size, 'x');
    await store.appendEvents(sessionId, [userMessage(sessionId, text, { turnId, messageId: `m${i}` }), complete(sessionId, { turnId })]);
  }
}

/** `n` aliases of the same selection, as one query. */
const aliased = (n: number, selection: string) =>
  `query { ${Array.from({ length: n }, (_, i) => `a${i}: ${selection}`).join(' ')} }`;

/** One query or mutation over graphql-ws or graphql-sse: its one result, or the error it ended with. */
function runOn(client: { subscribe: (payload: { query: string }, sink: never) => () => void }, query: string) {
  return new Promise<ExecutionResult>((resolve, reject) => {
    const results: ExecutionResult[] = [];
    client.subscribe({ query }, {
      next: (value: ExecutionResult) => results.push(value),
      error: (error: unknown) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
      complete: () => (results.length === 1 ? resolve(results[0]!) : reject(new Error(`${results.length} results`))),
    } as never);
  });
}

/** The result is the budget's refusal: one PAYLOAD_TOO_LARGE error and no data at all. */
function expectRefused(result: ExecutionResult<unknown>) {
  expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['PAYLOAD_TOO_LARGE']);
  expect(result.data ?? null).toBeNull();
  expect(JSON.stringify(result).length).toBeLessThan(1000);
}

describe('Session.messages(last, before)', () => {
  it('pages from the newest, oldest first within a page, and refuses a last out of 1..200', async () => {
    const server = await startTestServer();
    await server.request('mutation { createSession(input: { id: "paged" }) { id } }');
    await fill(server.app.store, 'paged', 7, 10);
    const page = async (args: string) => {
      const result = await server.request<{ session: { messages: Array<{ id: string }> } }, never>(
        `query { session(id: "paged") { messages${args} { id role } } }`,
      );
      if (result.errors) return result.errors.map((e) => e.extensions?.code);
      return result.data!.session.messages.map((m) => m.id);
    };

    expect(await page('')).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    expect(await page('(last: 3)')).toEqual(['m5', 'm6', 'm7']);
    // The next older page: before the oldest of this one, until a page is empty.
    expect(await page('(last: 3, before: "m5")')).toEqual(['m2', 'm3', 'm4']);
    expect(await page('(last: 3, before: "m2")')).toEqual(['m1']);
    expect(await page('(last: 3, before: "m1")')).toEqual([]);
    expect(await page('(last: 200)')).toHaveLength(7);
    // An id that is no message of this session: an empty page, as documented.
    expect(await page('(before: "not-a-message")')).toEqual([]);
    expect(await page('(last: 0)')).toEqual(['BAD_USER_INPUT']);
    expect(await page('(last: 201)')).toEqual(['BAD_USER_INPUT']);
    expect(await page('(last: -1)')).toEqual(['BAD_USER_INPUT']);
  });

  it('takes a literal last: 200 with every field, which the cost limit multiplies by 200', async () => {
    const server = await startTestServer();
    const everyField = 'id role text turnId createdAt toolCalls { toolUseId toolName input result isError }';
    const result = await server.request(`query { session(id: "none") { messages(last: 200) { ${everyField} } } }`);
    expect(result).toEqual({ data: { session: null } });
  });

  it('returns at most 100 messages by default: the newest', async () => {
    const server = await startTestServer();
    await server.request('mutation { createSession(input: { id: "long" }) { id } }');
    await fill(server.app.store, 'long', 120, 1);
    const result = await server.gql<{ session: { messages: Array<{ id: string }> } }, never>(
      `query { session(id: "long") { messages { id } } }` as never,
    );
    const ids = result.session.messages.map((m) => m.id);
    expect(ids).toHaveLength(100);
    expect(ids[0]).toBe('m21');
    expect(ids.at(-1)).toBe('m120');
  });
});

/** As many aliases as the armor allows (limits.maxAliases), of a large list each. */
const messagesWide = aliased(10, 'session(id: "big") { messages { text } }');
const eventsWide = aliased(10, 'session(id: "big") { events(limit: 1000) { ... on Event { seq } ... on UserMessageEvent { text } } }');

describe('MAX_RESPONSE_BYTES', () => {
  // 1 MiB here; the session holds 2 MB of text, so one read of it is already too much, and
  // 10 aliases of it would be 20 MB.
  const maxResponseBytes = 1024 * 1024;

  async function bigSession(): Promise<TestServer> {
    const server = await startTestServer({ limits: { maxResponseBytes } });
    await server.request('mutation { createSession(input: { id: "big" }) { id } }');
    await fill(server.app.store, 'big', 20, 100_000);
    return server;
  }

  it('refuses over HTTP, graphql-ws and SSE (both modes) with one PAYLOAD_TOO_LARGE, then serves what fits', async () => {
    const server = await bigSession();
    const ws = wsClient(server);
    const transports: Array<[string, (query: string) => Promise<ExecutionResult>]> = [
      ['http', (query) => server.request(query)],
      ['graphql-ws', (query) => runOn(ws as never, query)],
      ['sse distinct', (query) => runOn(sseClient(server, 'distinct') as never, query)],
      ['sse single', (query) => runOn(sseClient(server, 'single') as never, query)],
    ];
    for (const [name, run] of transports) {
      for (const query of [messagesWide, eventsWide, 'query { session(id: "big") { messages(last: 200) { text } } }']) {
        const result = await run(query);
        try {
          expectRefused(result);
        } catch (error) {
          throw new Error(`${name}: ${JSON.stringify(result).slice(0, 300)}`, { cause: error });
        }
      }
      // The same session, asked for a part that fits: served in full.
      const fits = await run('query { session(id: "big") { messages(last: 5) { id } events(after: 30, limit: 10) { ... on Event { seq } } } }');
      expect(fits.errors, name).toBeUndefined();
      expect(fits.data, name).toEqual({
        session: {
          messages: ['m16', 'm17', 'm18', 'm19', 'm20'].map((id) => ({ id })),
          events: [31, 32, 33, 34, 35, 36, 37, 38, 39, 40].map((seq) => ({ seq })),
        },
      });
    }
  });

  it('refuses 30 aliases of a large list at validation, before any read (the issue: 103 MB of result)', async () => {
    const server = await startTestServer();
    for (const selection of ['session(id: "big") { messages { text } }', 'session(id: "big") { events(limit: 1000) { __typename } }']) {
      const result = await server.request(aliased(30, selection));
      expect(result.data).toBeUndefined();
      expect(result.errors?.[0]?.message).toMatch(/aliases/i);
    }
  });

  it('refuses a mutation whose payload outgrows it, after its effect', async () => {
    const server = await bigSession();
    const events = 'events(limit: 1000) { ... on UserMessageEvent { text } }';
    const result = await server.request(`mutation { cancelTurn(sessionId: "big") { a: ${events} b: ${events} } }`);
    expectRefused(result);
  });

  it('counts the other large reads: the queue (without its attachments) and the config theme', async () => {
    const server = await startTestServer({ limits: { maxResponseBytes: 64 * 1024 } });

    await server.request('mutation { createSession(input: { id: "q" }) { id } }');
    const attachment = { name: 'a.bin', mediaType: 'application/octet-stream', dataBase64: 'A'.repeat(100_000) };
    for (const turnId of ['t1', 't2', 't3']) {
      const text = 'q'.repeat(10_000);
      await server.app.store.enqueue('q', { turnId, messageId: `m-${turnId}`, text, attachments: [attachment], createdAt: new Date().toISOString() });
    }
    // 30 KB of text: served, though the attachments (300 KB, not in the result) would not fit.
    const queue = await server.request<{ session: { queuedMessages: Array<{ turnId: string }> } }, never>(
      'query { session(id: "q") { queuedMessages { turnId text } } }',
    );
    expect(queue.errors).toBeUndefined();
    expect(queue.data!.session.queuedMessages.map((m) => m.turnId)).toEqual(['t1', 't2', 't3']);
    expectRefused(await server.request(aliased(3, 'session(id: "q") { queuedMessages { text } }')));

    const theme = { css: 'x'.repeat(20_000) };
    const set = await server.request('mutation ($theme: JSON) { updateConfig(input: { theme: $theme }) { defaultModel } }', { theme } as never);
    expect(set.errors).toBeUndefined();
    expect((await server.request('query { config { theme } }')).errors).toBeUndefined();
    expectRefused(await server.request(aliased(4, 'config { theme }')));
  });
});

describe('MAX_RESPONSE_BYTES in a running server', () => {
  it('costs the process memory of a small multiple of the bound while refusing, and it keeps serving', async () => {
    // The session the issue reported (megabytes of text), written before the server starts.
    const dataDir = await mkdtemp(join(tmpdir(), 'switchboard-bounded-'));
    onCleanup(() => rm(dataDir, { recursive: true, force: true }));
    const store = createSqliteStore({ path: join(dataDir, 'switchboard.db'), checkpointIntervalMs: 0 });
    await store.createSession(sessionRecord({ id: 'big', userId: 'local' }));
    await fill(store, 'big', 80, 100_000); // 8 MB of text: 10 aliases would be 80 MB of result
    await store.close();

    const bound = 4 * MiB;
    const proc = await startServerProcess({ DATA_DIR: dataDir, MAX_RESPONSE_BYTES: String(bound) });
    const pid = proc.child.pid!;
    const post = async (query: string) => {
      const res = await fetch(proc.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query }),
      });
      return (await res.json()) as ExecutionResult;
    };
    const ws = wsClient({ wsUrl: proc.url.replace(/^http/, 'ws') });

    // Warm up: large reads within the bound (modules, JIT, heap sizing): 3 MB of text.
    for (let i = 0; i < 3; i++) {
      const warm = await post('query { session(id: "big") { events(limit: 60) { ... on UserMessageEvent { text } } } }');
      expect(warm.errors).toBeUndefined();
    }
    const baseline = rssBytes(pid);
    const rss = sampleRss(pid, 10);
    // Valid on a server without paging too (messages without arguments: the default page).
    const results = [
      await post(messagesWide),
      await post(eventsWide),
      await runOn(ws as never, messagesWide),
      await runOn(ws as never, eventsWide),
    ];
    const peak = rss.stop();
    const measured = `baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB (+${((peak - baseline) / MiB).toFixed(1)}), bound ${bound / MiB} MiB`;
    console.info(`[bounded-results] ${measured}`);

    // Without the budget, hundreds of MB (the issue: 103 MB of result cost +511 MB RSS).
    expect(peak - baseline, measured).toBeLessThan(12 * bound);
    for (const result of results) expectRefused(result);
    // Still serving, and the session is intact.
    const after = await post('query { session(id: "big") { lastSeq messages(last: 1) { id } } }');
    expect(after).toEqual({ data: { session: { lastSeq: 160, messages: [{ id: 'm80' }] } } });
    expect(proc.child.exitCode).toBeNull();
  });
});
