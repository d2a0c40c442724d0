import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { CloseCode, parseMessage } from 'graphql-ws';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { ofType } from '../utils/events-of.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { openRawSocket, type RawSocket, type WireMessage } from '../utils/raw-ws.js';
import { onCleanup, startTestServer, type TestServer } from '../utils/server.js';

/**
 * Property-based fuzzing of everything a client can send: HTTP requests, GraphQL documents
 * and variables, graphql-transport-ws message sequences, workspace paths. Runs are bounded
 * in number and time so the file stays well under a minute.
 */
const RUNS = { numRuns: 80, interruptAfterTimeLimit: 10_000, markInterruptAsFailure: false } as const;

const root = resolve(new URL('../../', import.meta.url).pathname);

/** A server whose internal errors (what `onError` is told about) the test can see. */
async function fuzzTarget() {
  const internal: unknown[] = [];
  const server = await startTestServer({
    onError: (error) => internal.push(error),
    // The fuzz sends many messages; the rate limit is not what is under test here.
    limits: { sendMessagesPerMinute: 1_000_000, maxConnectionsPerUser: 10_000 },
  });
  await server.gql(CreateSessionMutation, { input: { id: 'fuzz' } });
  return { server, internal };
}

/** What must never reach a client, unless the client sent it itself (messages echo input). */
function leaks(response: string, request: string): string[] {
  const markers: RegExp[] = [
    /\n\s+at [^\n]*[(:]/, // a stack frame
    /node_modules/,
    new RegExp(root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
    /\/tmp\/switchboard-test-/,
    /\w\.[cm]?[tj]s:\d+/, // file.ts:12
    /sqlite/i,
    /\b(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]{0,200}\b(FROM|INTO|SET|WHERE)\b/,
  ];
  return markers.filter((m) => m.test(response) && !m.test(request)).map(String);
}

interface GraphQLErrorJson {
  message?: unknown;
  extensions?: { code?: unknown; http?: unknown };
}

function expectErrorsCarryCodes(errors: readonly GraphQLErrorJson[], context: string) {
  for (const error of errors) {
    expect(typeof error.message, context).toBe('string');
    expect(typeof error.extensions?.code, `no extensions.code: ${context}`).toBe('string');
  }
}

/** One HTTP answer to hostile input: a client error or a result, JSON, codes on every error, nothing leaked. */
async function expectSafeResponse(res: Response, request: string) {
  const text = await res.text();
  const context = `${res.status} ${text.slice(0, 500)} <- ${request.slice(0, 300)}`;
  expect(res.status, context).toBeLessThan(500);
  expect(leaks(text, request), context).toEqual([]);
  if (text === '') {
    // Yoga refuses some requests before there is anything to say (media types, methods).
    expect([405, 406, 414, 415, 431], context).toContain(res.status);
    return;
  }
  const body = JSON.parse(text) as { data?: unknown; errors?: GraphQLErrorJson[] };
  expect(body.data !== undefined || body.errors !== undefined, context).toBe(true);
  if (body.errors) expectErrorsCarryCodes(body.errors, context);
}

async function expectHealthy(server: TestServer, internal: unknown[]) {
  expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
  expect(internal, 'hostile input caused internal errors').toEqual([]);
}

/** A normal turn over a fresh graphql-ws client, start to end. */
async function expectNormalTurn(server: TestServer) {
  const id = `after-fuzz-${Math.random().toString(36).slice(2)}`;
  await server.gql(CreateSessionMutation, { input: { id } });
  const events = subscribeEvents(wsClient(server), id, 0);
  await server.gql(SendMessageMutation, { input: { sessionId: id, text: 'still here' } });
  const turn = await events.untilComplete();
  expect(turn.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
  expect(ofType(turn, 'TextCompleteEvent')[0]?.text).toBe('You said: still here');
}

// ── what the fuzz is made of ─────────────────────────────────────────────────

/** Valid documents of every kind, to send as they are, with hostile variables, or mutated. */
const DOCUMENTS = [
  '{ config { defaultModel models permissionMode theme } }',
  'query Sessions($limit: Int) { sessions(limit: $limit) { id title status lastSeq } }',
  'query Session($id: ID!) { session(id: $id) { id status messages { id role text toolCalls { toolName isError } } pendingPermissions { requestId } queuedMessages { turnId } events(after: 0, limit: 5) { __typename ... on Event { seq } } } }',
  'query Events($id: ID!, $after: Int, $limit: Int) { session(id: $id) { events(after: $after, limit: $limit) { __typename } } }',
  'mutation Create($input: CreateSessionInput) { createSession(input: $input) { id permissionMode } }',
  'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { turnId queued session { id } } }',
  'mutation Respond($input: RespondToPermissionInput!) { respondToPermission(input: $input) { requestId status } }',
  'mutation Cancel($sessionId: ID!) { cancelTurn(sessionId: $sessionId) { id status } }',
  'mutation Delete($id: ID!) { deleteSession(id: $id) }',
  'mutation Config($input: UpdateConfigInput!) { updateConfig(input: $input) { theme permissionMode } }',
];

const hugeString = fc.integer({ min: 10_000, max: 1_000_000 }).map((n) => 'x'.repeat(n));
const badId = fc.oneof(
  fc.string(),
  fc.constantFrom('', ' ', '../x', '..', 'a/b', 'a b', 'x'.repeat(129), '\u0000', 'fuzz\n', 'ü', '-1', '%2e%2e'),
);
const enumLike = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('ask', 'Allow_All', 'YES', '', 'END_TURN', 'ENQUEUE ', 'null'));
/** Anything at all, weighted towards what the fields expect but of the wrong kind. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  badId,
  enumLike,
  hugeString,
  fc.constantFrom(-1, 2 ** 31, -(2 ** 31) - 1, 1e308, 0.5, Number.MAX_SAFE_INTEGER, true, null, [], {}),
);
const hostileInput = fc.record(
  {
    id: hostileValue,
    sessionId: fc.oneof(badId, fc.constant('fuzz'), hostileValue),
    text: fc.oneof(fc.string(), hugeString, hostileValue),
    title: hostileValue,
    model: hostileValue,
    permissionMode: enumLike,
    strategy: enumLike,
    clientMessageId: hostileValue,
    requestId: hostileValue,
    allowed: hostileValue,
    alwaysAllow: hostileValue,
    theme: hostileValue,
    defaultModel: hostileValue,
    attachments: fc.oneof(
      hostileValue,
      fc.array(fc.record({ name: hostileValue, mediaType: hostileValue, dataBase64: fc.oneof(fc.base64String(), hostileValue) }, { requiredKeys: [] }), { maxLength: 3 }),
    ),
  },
  { requiredKeys: [] },
);
const hostileVariables = fc.dictionary(
  fc.constantFrom('id', 'sessionId', 'input', 'limit', 'after', 'x', '__proto__', 'constructor'),
  fc.oneof(hostileValue, hostileInput),
  { maxKeys: 4 },
);

/** A valid document with a few characters deleted, inserted or repeated. */
const mutatedDocument = fc
  .tuple(
    fc.constantFrom(...DOCUMENTS),
    fc.array(
      fc.tuple(fc.nat(), fc.nat({ max: 12 }), fc.constantFrom('delete', 'insert', 'repeat') as fc.Arbitrary<'delete' | 'insert' | 'repeat'>, fc.string({ unit: fc.constantFrom(...'{}()[]$:!@."\\ \n#,=|&...'.split('')), maxLength: 4 })),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([doc, edits]) => {
    let out = doc;
    for (const [at, length, op, chars] of edits) {
      const i = at % (out.length + 1);
      if (op === 'delete') out = out.slice(0, i) + out.slice(i + length);
      else if (op === 'insert') out = out.slice(0, i) + chars + out.slice(i);
      else out = out.slice(0, i) + out.slice(i, i + length).repeat(50) + out.slice(i);
    }
    return out;
  });
/** Documents that are expensive rather than wrong: deep, wide, many aliases, many directives. */
const expensiveDocument = fc.oneof(
  fc.integer({ min: 1, max: 400 }).map((n) => `{ ${'sessions { messages { toolCalls { toolName } } } '.repeat(n)} }`),
  fc.integer({ min: 1, max: 3000 }).map((n) => `{ ${'session(id: "x") { '.repeat(n)}id${' }'.repeat(n)} }`),
  fc.integer({ min: 1, max: 2000 }).map((n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: config { models }`).join(' ')} }`),
  fc.integer({ min: 1, max: 500 }).map((n) => `{ config @include(if: true) ${'@skip(if: false) '.repeat(n)} { models } }`),
  fc.integer({ min: 1, max: 200 }).map((n) => `query Q(${Array.from({ length: n }, (_, i) => `$v${i}: Int`).join(' ')}) { config { models } }`),
  fc.integer({ min: 1, max: 100 }).map((n) => `{ ...F } ${Array.from({ length: n }, (_, i) => `fragment F${i === 0 ? '' : i} on Query { ...F${i + 1} }`).join(' ')}`),
);
const document = fc.oneof(
  { arbitrary: fc.constantFrom(...DOCUMENTS), weight: 3 },
  { arbitrary: mutatedDocument, weight: 3 },
  { arbitrary: fc.string({ maxLength: 200 }), weight: 2 },
  { arbitrary: expensiveDocument, weight: 2 },
);

// ── HTTP ─────────────────────────────────────────────────────────────────────

describe('hostile input over HTTP', () => {
  it('garbage bodies, media types, methods and parameters: a client error, never a 5xx, nothing leaked', async () => {
    const { server, internal } = await fuzzTarget();
    const params = fc.record(
      {
        query: fc.oneof(fc.string(), document),
        variables: fc.oneof(fc.string(), fc.json({ maxDepth: 2 }), hostileVariables.map((v) => JSON.stringify(v))),
        operationName: fc.oneof(fc.string(), fc.constantFrom('Session', 'Create', 'Nope')),
        extensions: fc.oneof(fc.string(), fc.json({ maxDepth: 2 })),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json({ maxDepth: 3 }),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.jsonValue({ maxDepth: 3 }).map((query) => JSON.stringify({ query })),
      params.map((p) => JSON.stringify({ ...p, variables: tryJson(p.variables), extensions: tryJson(p.extensions) })),
      params.map((p) => new URLSearchParams(p as Record<string, string>).toString()),
    );
    const request = fc.oneof(
      fc.record({
        method: fc.constant('POST'),
        contentType: fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'application/graphql-response+json',
          'application/graphql+json',
          'application/graphql',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'multipart/form-data',
          'text/plain',
          ';;',
          undefined,
        ),
        accept: fc.constantFrom(undefined, 'application/json', 'application/graphql-response+json', '*/*', 'text/html', ''),
        body,
      }),
      fc.record({
        method: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH'),
        contentType: fc.constant(undefined),
        accept: fc.constantFrom(undefined, 'application/json', 'application/graphql-response+json'),
        query: params,
      }),
    );

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        internal.length = 0;
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.accept !== undefined) headers.accept = r.accept;
        const search = 'query' in r ? `?${new URLSearchParams(r.query as Record<string, string>)}` : '';
        const sent = 'body' in r ? r.body : undefined;
        const res = await fetch(server.url + search, { method: r.method, headers, body: sent, signal: AbortSignal.timeout(10_000) });
        await expectSafeResponse(res, `${r.method} ${decodeURIComponent(search)} ${String(sent ?? '')}`);
        await expectHealthy(server, internal);
      }),
      RUNS,
    );
    await expectNormalTurn(server);
  }, 40_000);

  it('random and mutated documents with variables of the wrong type, huge strings, invalid ids and enums', async () => {
    const { server, internal } = await fuzzTarget();
    await fc.assert(
      fc.asyncProperty(
        document,
        fc.option(hostileVariables, { nil: undefined }),
        fc.constantFrom(undefined, 'application/json', 'application/graphql-response+json'),
        async (query, variables, accept) => {
          internal.length = 0;
          const body = JSON.stringify({ query, variables });
          const res = await fetch(server.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          await expectSafeResponse(res, body);
          await expectHealthy(server, internal);
        },
      ),
      RUNS,
    );
    await expectNormalTurn(server);
  }, 40_000);
});

describe('malformed JSON in request parameters', () => {
  it('is a 400 BAD_REQUEST in a GET query string and in a form-encoded body, not an internal error', async () => {
    const { server, internal } = await fuzzTarget();
    const query = encodeURIComponent('{ config { models } }');
    for (const params of [`variables=nope`, `variables=%7B`, `extensions=%5B`]) {
      const get = await fetch(`${server.url}?query=${query}&${params}`, { headers: { accept: 'application/graphql-response+json' } });
      expect(get.status, params).toBe(400);
      expect(await get.json(), params).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
      const form = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/graphql-response+json' },
        body: `query=${query}&${params}`,
      });
      expect(form.status, params).toBe(400);
      expect(await form.json(), params).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    }
    await expectHealthy(server, internal);
  });
});

describe('a store failure while a subscription runs', () => {
  it('reaches the client masked, with a code, over graphql-ws and SSE', async () => {
    const internal: unknown[] = [];
    let failing = false;
    const dataDir = await mkdtemp(join(tmpdir(), 'switchboard-test-'));
    onCleanup(() => rm(dataDir, { recursive: true, force: true }));
    const sqlite = createSqliteStore({ path: join(dataDir, 'switchboard.db') });
    const store: Store = Object.create(sqlite, {
      readEvents: {
        value: (...args: Parameters<Store['readEvents']>) => {
          if (failing) throw new Error(`SQLITE_IOERR: disk I/O error in SELECT * FROM events WHERE session_id = '${args[0]}' (${dataDir})`);
          return sqlite.readEvents(...args);
        },
      },
    });
    const server = await startTestServer({ store, dataDir, onError: (error) => internal.push(error) });
    await server.gql(CreateSessionMutation, { input: { id: 's' } });
    failing = true;
    const query = 'subscription { sessionEvents(sessionId: "s", after: 0) { __typename } }';

    const raw = await openRawSocket(server.wsUrl);
    await raw.init();
    raw.subscribe('1', query);
    const [error] = await raw.messages.takeUntil((m) => typeof m !== 'string' && m.type === 'error');
    expect(error).toMatchObject({ id: '1', type: 'error', payload: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });

    const sse = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(5000),
    });
    const stream = await sse.text();
    expect(stream).toMatch(/INTERNAL_SERVER_ERROR|Unexpected error/);

    for (const text of [JSON.stringify(raw.messages.all), stream]) expect(leaks(text, query), text).toEqual([]);
    // The server did hear about it.
    expect(internal.length).toBeGreaterThan(0);
  });
});

function tryJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// ── graphql-ws ───────────────────────────────────────────────────────────────

/** One client message of a fuzzed sequence, with what it is, so the test knows what to expect. */
type Step =
  | { kind: 'init'; payload?: Record<string, unknown> }
  | { kind: 'ping' }
  | { kind: 'pong' }
  /** live: a subscription that stays open until completed; otherwise the server ends it on its own. */
  | { kind: 'subscribe'; id: string; live: boolean; query: string; variables?: Record<string, unknown> }
  | { kind: 'complete'; id: string }
  /** Something the protocol does not allow from a client: the server must close with 4400. */
  | { kind: 'invalid'; data: string | Buffer };

const invalidForGraphqlWs = (data: string | Buffer) => {
  try {
    parseMessage(String(data));
    return false;
  } catch {
    return true;
  }
};

const LIVE = [
  { query: 'subscription { configChanged { changeType config { theme } } }' },
  { query: 'subscription Events($s: ID!) { sessionEvents(sessionId: $s, after: 0) { __typename ... on Event { seq } } }', variables: { s: 'fuzz' } },
];
const FINITE: fc.Arbitrary<{ query: string; variables?: Record<string, unknown> }> = fc.oneof(
  fc.record({ query: document, variables: fc.option(hostileVariables, { nil: undefined }) }),
  fc.constantFrom(
    { query: 'subscription { sessionEvents(sessionId: "absent") { __typename } }' },
    { query: 'subscription { sessionEvents(sessionId: "../x") { __typename } }' },
    { query: 'subscription { sessionEvents(sessionId: "fuzz", after: -1) { __typename } }' },
    { query: 'query A { config { models } } query B { config { models } }' },
    { query: 'mutation { updateConfig(input: { theme: { fuzz: true } }) { theme } }' },
  ),
);
const opId = fc.constantFrom('a', 'b', 'c', '1');

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('init' as const), payload: fc.option(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), { nil: undefined }) }), weight: 4 },
  { arbitrary: fc.constant({ kind: 'ping' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'pong' as const }), weight: 1 },
  {
    arbitrary: fc.oneof(
      fc.record({ kind: fc.constant('subscribe' as const), id: opId, live: fc.constant(true), payload: fc.constantFrom(...LIVE) }),
      fc.record({ kind: fc.constant('subscribe' as const), id: opId, live: fc.constant(false), payload: FINITE }),
    ).map(({ payload, ...rest }): Step => ({ ...rest, query: payload.query, variables: payload.variables })),
    weight: 6,
  },
  { arbitrary: fc.record({ kind: fc.constant('complete' as const), id: opId }), weight: 2 },
  {
    arbitrary: fc
      .oneof(
        fc.string({ maxLength: 100 }),
        fc.json({ maxDepth: 3 }),
        fc.record({ type: fc.string({ maxLength: 20 }), id: fc.oneof(fc.string(), fc.jsonValue()), payload: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }).map((m) => JSON.stringify(m)),
        fc.constantFrom(
          { type: 'subscribe', payload: { query: '{ config { models } }' } }, // no id
          { type: 'subscribe', id: '', payload: { query: '{ config { models } }' } },
          { type: 'subscribe', id: 7, payload: { query: '{ config { models } }' } },
          { type: 'subscribe', id: 'x', payload: { query: 42 } },
          { type: 'subscribe', id: 'x', payload: { query: '{ config { models } }', variables: 'x' } },
          { type: 'complete' }, // no id
          { type: 'ping', payload: 'x' },
          { type: 'connection_init', payload: [] },
          { type: 'Subscribe', id: 'x', payload: { query: '{ config { models } }' } },
          { type: 'start', id: 'x', payload: { query: '{ config { models } }' } }, // subscriptions-transport-ws
          { type: 'connection_terminate' },
        ).map((m) => JSON.stringify(m)),
        fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
      )
      .filter(invalidForGraphqlWs)
      .map((data): Step => ({ kind: 'invalid', data })),
    weight: 2,
  },
  {
    // Messages only a server may send.
    arbitrary: fc
      .constantFrom(
        { type: 'connection_ack' },
        { type: 'next', id: 'a', payload: { data: null } },
        { type: 'error', id: 'a', payload: [{ message: 'x' }] },
      )
      .map((m): Step => ({ kind: 'invalid', data: JSON.stringify(m) })),
    weight: 1,
  },
);

/** Every error a socket carried has a code, and nothing leaked through it. */
function expectSafeMessages(messages: readonly WireMessage[], sent: string) {
  for (const message of messages) {
    const text = JSON.stringify(message);
    expect(leaks(text, sent), text).toEqual([]);
    if (typeof message === 'string') throw new Error(`non-JSON message from the server: ${message}`);
    if (message.type === 'error') expectErrorsCarryCodes(message.payload as GraphQLErrorJson[], text);
    if (message.type === 'next') {
      const errors = (message.payload as { errors?: GraphQLErrorJson[] }).errors;
      if (errors) expectErrorsCarryCodes(errors, text);
    }
  }
}

/**
 * Plays a sequence against graphql-ws's rules (its PROTOCOL.md) and checks each outcome:
 * what must close the socket closes it with the protocol's code, everything else is answered.
 */
async function play(server: TestServer, steps: readonly Step[]) {
  const raw = await openRawSocket(server.wsUrl);
  const sent: string[] = [];
  let acknowledged = false;
  const active = new Set<string>();
  const send = (data: unknown) => {
    sent.push(Buffer.isBuffer(data) ? data.toString('latin1') : typeof data === 'string' ? data : JSON.stringify(data));
    raw.send(data);
  };
  const expectClosed = async (code: number, why: string) => {
    const closed = await Promise.race([raw.closed, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
    expect(closed?.code, `${why} (after ${JSON.stringify(sent)})`).toBe(code);
  };
  const answer = (match: (m: Exclude<WireMessage, string>) => boolean) =>
    raw.messages.takeUntil((m) => typeof m !== 'string' && match(m), 5000);

  try {
    for (const s of steps) {
      if (s.kind === 'invalid') {
        send(s.data);
        return await expectClosed(CloseCode.BadRequest, 'an invalid message');
      }
      if (s.kind === 'init') {
        send(s.payload ? { type: 'connection_init', payload: s.payload } : { type: 'connection_init' });
        if (acknowledged) return await expectClosed(CloseCode.TooManyInitialisationRequests, 'a second connection_init');
        await answer((m) => m.type === 'connection_ack');
        acknowledged = true;
      } else if (s.kind === 'ping') {
        send({ type: 'ping' });
        await answer((m) => m.type === 'pong');
      } else if (s.kind === 'pong') {
        send({ type: 'pong' });
      } else if (s.kind === 'complete') {
        send({ type: 'complete', id: s.id });
        active.delete(s.id);
      } else {
        send({ type: 'subscribe', id: s.id, payload: { query: s.query, variables: s.variables } });
        if (!acknowledged) return await expectClosed(CloseCode.Unauthorized, 'subscribe before connection_ack');
        if (active.has(s.id)) return await expectClosed(CloseCode.SubscriberAlreadyExists, `a second subscribe with id ${s.id}`);
        if (s.live) active.add(s.id);
        // The server ends a finite operation itself; only then is its id free again.
        else await answer((m) => m.id === s.id && (m.type === 'complete' || m.type === 'error'));
      }
    }
    // Whatever came before, a socket still open still works.
    send({ type: 'ping' });
    await answer((m) => m.type === 'pong');
  } finally {
    expectSafeMessages(raw.messages.all, sent.join('\n'));
    raw.terminate();
  }
}

describe('hostile input over graphql-ws', () => {
  let consoleError: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => {
    consoleError.mockRestore();
  });

  it('random message sequences: closed with the protocol code where it names one, answered otherwise, never a crash', async () => {
    const { server, internal } = await fuzzTarget();
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        consoleError.mockClear();
        internal.length = 0;
        await play(server, steps);
        await expectHealthy(server, internal);
        // graphql-ws reports what it takes for a server fault on console.error: none here.
        expect(consoleError.mock.calls).toEqual([]);
      }),
      RUNS,
    );
    await expectNormalTurn(server);
  }, 40_000);

  /** The close code after these messages, sent after connection_ack when `acknowledged`. */
  async function closeCodeAfter(server: TestServer, acknowledged: boolean, ...messages: unknown[]) {
    const raw: RawSocket = await openRawSocket(server.wsUrl);
    if (acknowledged) await raw.init();
    for (const m of messages) raw.send(m);
    return (await raw.closed).code;
  }
  const init = { type: 'connection_init' };
  const sub = (id?: string) => ({ type: 'subscribe', id, payload: { query: 'subscription { configChanged { changeType } }' } });

  it('closes with the code graphql-ws specifies for each kind of misbehaviour', async () => {
    const { server, internal } = await fuzzTarget();
    expect(await closeCodeAfter(server, false, sub('1'))).toBe(CloseCode.Unauthorized); // subscribe before connection_init
    expect(await closeCodeAfter(server, false, { type: 'hello' })).toBe(CloseCode.BadRequest); // unknown type, before init
    expect(await closeCodeAfter(server, true, init)).toBe(CloseCode.TooManyInitialisationRequests); // duplicate connection_init
    expect(await closeCodeAfter(server, true, sub('1'), sub('1'))).toBe(CloseCode.SubscriberAlreadyExists); // duplicate subscribe id
    expect(await closeCodeAfter(server, true, sub())).toBe(CloseCode.BadRequest); // subscribe without id
    expect(await closeCodeAfter(server, true, { type: 'complete' })).toBe(CloseCode.BadRequest); // complete without id
    expect(await closeCodeAfter(server, true, { type: 'hello' })).toBe(CloseCode.BadRequest); // unknown type
    expect(await closeCodeAfter(server, true, '{"type":')).toBe(CloseCode.BadRequest); // not JSON
    expect(await closeCodeAfter(server, true, Buffer.from([0xde, 0xad, 0xbe, 0xef]))).toBe(CloseCode.BadRequest); // binary garbage
    // Messages only a server sends are as invalid from a client as an unknown type.
    expect(await closeCodeAfter(server, true, { type: 'next', id: '1', payload: { data: null } })).toBe(CloseCode.BadRequest);
    expect(await closeCodeAfter(server, true, { type: 'error', id: '1', payload: [{ message: 'x' }] })).toBe(CloseCode.BadRequest);
    expect(await closeCodeAfter(server, true, { type: 'connection_ack' })).toBe(CloseCode.BadRequest);
    // A valid message in a binary frame is still that message.
    expect(await closeCodeAfter(server, true, Buffer.from(JSON.stringify(init)))).toBe(CloseCode.TooManyInitialisationRequests);
    await expectHealthy(server, internal);
    expect(consoleError.mock.calls).toEqual([]);
    await expectNormalTurn(server);
  });

  it('answers operation errors with codes, without HTTP details or internals', async () => {
    const { server } = await fuzzTarget();
    const raw = await openRawSocket(server.wsUrl);
    await raw.init();
    const cases = {
      parse: '{ config { ',
      validation: '{ nope }',
      ambiguous: 'query A { config { models } } query B { config { models } }',
      notFound: 'subscription { sessionEvents(sessionId: "absent") { __typename } }',
      badAfter: 'subscription { sessionEvents(sessionId: "fuzz", after: -1) { __typename } }',
      // graphql-armor's limits throw from inside validation rather than report.
      directives: `{ config ${'@skip(if: false) '.repeat(60)} { models } }`,
      aliases: `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: config { models }`).join(' ')} }`,
      tokens: `{ config { ${'models '.repeat(4000)} } }`,
    };
    for (const [id, query] of Object.entries(cases)) raw.subscribe(id, query);
    const errors = new Map<string, GraphQLErrorJson[]>();
    while (errors.size < Object.keys(cases).length) {
      const m = await raw.messages.next();
      if (typeof m === 'string' || !m.id) continue;
      if (m.type === 'error') errors.set(m.id, m.payload as GraphQLErrorJson[]);
      if (m.type === 'next') errors.set(m.id, (m.payload as { errors: GraphQLErrorJson[] }).errors);
    }
    const codes = Object.fromEntries([...errors].map(([id, e]) => [id, e[0]?.extensions?.code]));
    expect(codes).toEqual({
      parse: expect.stringMatching(/^(GRAPHQL_PARSE_FAILED|BAD_USER_INPUT)$/),
      validation: 'GRAPHQL_VALIDATION_FAILED',
      ambiguous: 'BAD_USER_INPUT',
      notFound: 'NOT_FOUND',
      badAfter: 'BAD_USER_INPUT',
      directives: expect.any(String),
      aliases: expect.any(String),
      tokens: expect.any(String),
    });
    for (const e of errors.values()) expect(e[0]?.extensions?.http).toBeUndefined();
    // None of it was a reason to drop the connection.
    raw.send({ type: 'ping' });
    await raw.messages.takeUntil((m) => typeof m !== 'string' && m.type === 'pong');
  });
});

// ── workspace paths ──────────────────────────────────────────────────────────

describe('workspace path escapes', () => {
  async function toolTurn(server: TestServer, sessionId: string, text: string) {
    const now = await server.request<{ session: { lastSeq: number } }, { id: string }>('query($id: ID!) { session(id: $id) { lastSeq } }', { id: sessionId });
    const events = subscribeEvents(wsClient(server), sessionId, now.data!.session.lastSeq);
    await server.gql(SendMessageMutation, { input: { sessionId, text } });
    const turn = await events.untilComplete();
    events.unsubscribe();
    return turn;
  }

  it('refuses ../, absolute paths and symlinks out with a ToolResult error, touching nothing outside', async () => {
    const server = await startTestServer();
    await server.gql(CreateSessionMutation, { input: { id: 'ws', permissionMode: 'ALLOW_ALL' } });
    const workspace = join(server.dataDir, 'workspaces', 'ws');
    await mkdir(workspace, { recursive: true });
    await symlink('/etc', join(workspace, 'etc-link'));
    await symlink(server.dataDir, join(workspace, 'data-link'));

    const cases: Array<[string, string | null]> = [
      ['/write ../x y', join(server.dataDir, 'workspaces', 'x')],
      ['/write ../../x y', join(server.dataDir, 'x')],
      ['/write ../../../x y', join(server.dataDir, '..', 'x')],
      ['/write /tmp/switchboard-escape y', '/tmp/switchboard-escape'],
      ['/write data-link/escaped y', join(server.dataDir, 'escaped')],
      ['/write etc-link/switchboard-escape y', '/etc/switchboard-escape'],
      ['/read /etc/passwd', null],
      ['/read ../../switchboard.db', null],
      ['/read etc-link/passwd', null],
      ['/read data-link/switchboard.db', null],
      ['/read ../ws/../../switchboard.db', null],
    ];
    for (const [text, outside] of cases) {
      const turn = await toolTurn(server, 'ws', text);
      const [result] = ofType(turn, 'ToolResultEvent');
      expect(result, text).toMatchObject({ isError: true });
      expect(result!.result, text).not.toMatch(/root:|SQLite format/);
      expect(leaks(result!.result, text), text).toEqual([]);
      expect(turn.at(-1), text).toMatchObject({ __typename: 'CompleteEvent' });
      if (outside) expect(existsSync(outside), `${text} wrote ${outside}`).toBe(false);
    }
  });

  it('any path of ., .., names and slashes either stays inside the workspace or is refused', async () => {
    const server = await startTestServer();
    await server.gql(CreateSessionMutation, { input: { id: 'paths', permissionMode: 'ALLOW_ALL' } });
    const workspace = join(server.dataDir, 'workspaces', 'paths');
    const segment = fc.constantFrom('..', '.', 'a', 'b.txt', '', '...', '..\\..', 'C:', '~', '%2e%2e', 'paths', 'workspaces');
    const path = fc
      .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 6 }))
      .map(([absolute, parts]) => (absolute ? '/' : '') + parts.join('/'))
      .filter((p) => p.length > 0);

    await fc.assert(
      fc.asyncProperty(path, async (p) => {
        const target = resolve(workspace, p);
        const rel = relative(workspace, target);
        const inside = !p.startsWith('/') && rel !== '' && rel.split(sep)[0] !== '..' && !isAbsolute(rel);
        const existed = existsSync(target);
        const turn = await toolTurn(server, 'paths', `/write ${p} fuzz`);
        const [result] = ofType(turn, 'ToolResultEvent');
        if (!inside) {
          expect(result, p).toMatchObject({ isError: true });
          expect(existsSync(target), `${p} created ${target}`).toBe(existed);
        }
        expect(leaks(result?.result ?? '', p), p).toEqual([]);
      }),
      { numRuns: 40, interruptAfterTimeLimit: 8_000, markInterruptAsFailure: false },
    );
    await expectNormalTurn(server);
  }, 30_000);
});
