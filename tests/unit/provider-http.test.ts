/**
 * What both providers share: HTTP failures classified into ProviderError kinds with
 * `retryAfterMs`, lost connections, aborts that close the connection, and an API key that
 * never reaches an error message. Real HTTP against the fake provider on loopback.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../src/agents/providers/anthropic.js';
import { errorBodyMessage, kindOfStatus, retryAfterMs } from '../../src/agents/providers/http.js';
import { createOpenAIProvider } from '../../src/agents/providers/openai.js';
import { ProviderError, type ModelProvider } from '../../src/agents/providers/types.js';
import { drain, modelRequest } from '../fake-provider/drive.js';
import { createManualClock, type ManualClock } from '../utils/manual-clock.js';
import { startFakeProvider, type Endpoint, type FakeProvider, type Script } from '../fake-provider/server.js';
import {
  anthropicError,
  anthropicErrorBody,
  anthropicStream,
  anthropicText,
  chunk,
  messageStart,
  openaiError,
  openaiErrorBody,
  openaiStream,
  openaiText,
  textDelta,
  textStart,
} from '../fake-provider/wire.js';

const API_KEY = 'sk-secret-KEY-9f8e7d6c5b4a';

/** Each provider with what it needs to script its own wire format. */
const PROVIDERS = [
  {
    name: 'anthropic',
    endpoint: 'anthropic' as Endpoint,
    create: (fake: FakeProvider, baseUrl = fake.anthropicBaseUrl) => createAnthropicProvider({ apiKey: API_KEY, baseUrl }),
    ok: () => anthropicStream(anthropicText(['ok'])),
    /** A stream that sends one text delta, then the given steps. */
    oneDeltaThen: (steps: Parameters<typeof anthropicStream>[0], end?: 'close' | 'reset' | 'hang') =>
      anthropicStream([messageStart(), textStart(0), textDelta(0, 'Hel'), ...steps], { end }),
    httpError: (status: number, message: string, headers?: Record<string, string>) =>
      anthropicError(status, status === 429 ? 'rate_limit_error' : 'api_error', message, headers),
  },
  {
    name: 'openai',
    endpoint: 'openai' as Endpoint,
    create: (fake: FakeProvider, baseUrl = fake.openaiBaseUrl) => createOpenAIProvider({ apiKey: API_KEY, baseUrl }),
    ok: () => openaiStream(openaiText(['ok'])),
    oneDeltaThen: (steps: Parameters<typeof openaiStream>[0], end?: 'close' | 'reset' | 'hang') =>
      openaiStream([chunk({ role: 'assistant', content: 'Hel' }), ...steps], { done: false, end }),
    httpError: (status: number, message: string, headers?: Record<string, string>) =>
      openaiError(status, message, status === 429 ? 'requests' : 'invalid_request_error', null, headers),
  },
];
// The same failures through a given `fetch` instead of node:http (providers/transport.ts).
PROVIDERS.push(
  ...PROVIDERS.map((p) => ({
    ...p,
    name: `${p.name} (over fetch)`,
    create: (fake: FakeProvider, baseUrl?: string) =>
      p.endpoint === 'anthropic'
        ? createAnthropicProvider({ apiKey: API_KEY, baseUrl: baseUrl ?? fake.anthropicBaseUrl, fetch: (url, init) => fetch(url, init) })
        : createOpenAIProvider({ apiKey: API_KEY, baseUrl: baseUrl ?? fake.openaiBaseUrl, fetch: (url, init) => fetch(url, init) }),
  })),
);

let fake: FakeProvider;
beforeEach(async () => {
  fake = await startFakeProvider();
});
afterEach(() => fake.close());

describe.each(PROVIDERS)('$name provider: HTTP failures', (p) => {
  let provider: ModelProvider;
  beforeEach(() => {
    provider = p.create(fake);
  });
  const enqueue = (script: Script) => fake[p.endpoint].enqueue(script);
  const failure = async () => {
    const { parts, error } = await drain(provider.stream(modelRequest()));
    expect(parts).toEqual([]);
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  };

  it.each([
    [401, 'auth'],
    [403, 'auth'],
    [429, 'rate_limited'],
    [500, 'unavailable'],
    [502, 'unavailable'],
    [503, 'unavailable'],
    [529, 'unavailable'],
    [400, 'error'],
    [404, 'error'],
    [413, 'error'],
  ] as const)('HTTP %i is %s, not streamed, with the provider message and the status', async (status, kind) => {
    enqueue(p.httpError(status, `the provider says ${status}`));
    const error = await failure();
    expect(error.kind).toBe(kind);
    expect(error.details).toMatchObject({ status, streamed: false });
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain(`the provider says ${status}`);
  });

  it('401 says to check the API key and never contains it, even when the body echoes it', async () => {
    enqueue(p.httpError(401, `Incorrect API key provided: ${API_KEY}. You can find your API key at …`));
    const error = await failure();
    expect(error.kind).toBe('auth');
    expect(error.message).toMatch(/check the API key/);
    expect(error.message).not.toContain(API_KEY);
    expect(error.message).toContain('[redacted]');
    expect(JSON.stringify(error)).not.toContain(API_KEY);
  });

  it('an error body that is not JSON is not quoted', async () => {
    enqueue({ type: 'error', status: 502, body: '<html>Bad gateway</html>', headers: { 'content-type': 'text/html' } });
    const error = await failure();
    expect(error.kind).toBe('unavailable');
    expect(error.message).not.toContain('html');
  });

  it('does not follow a redirect, which would take the key elsewhere', async () => {
    const location = `${fake.origin}${p.endpoint === 'anthropic' ? '/v1/messages' : '/v1/chat/completions'}`;
    enqueue({ type: 'error', status: 307, body: '', headers: { location } });
    enqueue(p.ok());
    const error = await failure();
    expect(error).toMatchObject({ kind: 'error', details: { status: 307 } });
    expect(fake.requests).toHaveLength(1);
  });

  it('takes retry-after in seconds', async () => {
    enqueue(p.httpError(429, 'slow down', { 'retry-after': '7' }));
    expect((await failure()).details.retryAfterMs).toBe(7000);
  });

  it('prefers retry-after-ms', async () => {
    enqueue(p.httpError(529, 'overloaded', { 'retry-after-ms': '1500', 'retry-after': '2' }));
    expect((await failure()).details.retryAfterMs).toBe(1500);
  });

  it('takes retry-after as an HTTP date', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    enqueue(p.httpError(503, 'later', { 'retry-after': at }));
    const { retryAfterMs } = (await failure()).details;
    expect(retryAfterMs).toBeGreaterThan(55_000);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('has no retryAfterMs without the headers', async () => {
    enqueue(p.httpError(500, 'boom'));
    expect((await failure()).details.retryAfterMs).toBeUndefined();
  });

  it('a refused connection is unavailable, not streamed', async () => {
    const closedPort = await freePort();
    provider = p.create(fake, `http://127.0.0.1:${closedPort}${p.endpoint === 'openai' ? '/v1' : ''}`);
    const error = await failure();
    expect(error.kind).toBe('unavailable');
    expect(error.details.streamed).toBe(false);
    expect(error.message).toContain(`connection to 127.0.0.1:${closedPort} failed (ECONNREFUSED)`);
  });

  it('a connection reset before the response is unavailable, not streamed', async () => {
    enqueue({ type: 'reset' });
    const error = await failure();
    expect(error).toMatchObject({ kind: 'unavailable', details: { streamed: false } });
  });

  it('a connection reset after a delta is unavailable and streamed', async () => {
    enqueue(p.oneDeltaThen([], 'reset'));
    const { parts, error } = await drain(provider.stream(modelRequest()));
    expect(parts).toEqual([{ type: 'text_delta', text: 'Hel' }]);
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'unavailable', details: { streamed: true } });
  });

  it('HTTP 200 with a JSON body instead of a stream is an error with its message', async () => {
    fake[p.endpoint].enqueue({ type: 'stream', steps: [JSON.stringify({ error: 'model "x" not found' })], headers: { 'content-type': 'application/json' } });
    const error = await failure();
    expect(error).toMatchObject({ kind: 'error', details: { streamed: false } });
    expect(error.message).toContain('model "x" not found');
  });

  it('an abort while waiting for the response throws the abort reason and closes the connection', async () => {
    enqueue({ type: 'hang' });
    const request = modelRequest();
    const result = drain(provider.stream(request));
    const seen = await fake.nextRequest();
    const reason = new Error('cancelled by the user');
    request.abort(reason);
    expect((await result).error).toBe(reason);
    expect(await seen.closed).toBe(true);
    expect(seen.hungUp).toBe(true);
  });

  it('an abort in the middle of a stream throws the abort reason and closes the connection', async () => {
    const gate = fake.gate();
    enqueue(p.oneDeltaThen([gate, ...(p.endpoint === 'anthropic' ? [textDelta(0, 'never')] : [chunk({ content: 'never' })])]));
    const request = modelRequest();
    const stream = provider.stream(request)[Symbol.asyncIterator]();
    expect((await stream.next()).value).toEqual({ type: 'text_delta', text: 'Hel' });
    await gate.reached;
    const pending = stream.next();
    const reason = new Error('interrupted');
    request.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(await (await fake.nextRequest()).closed).toBe(true);
    gate.open();
  });

  it('a consumer that stops iterating closes the connection', async () => {
    const gate = fake.gate();
    enqueue(p.oneDeltaThen([gate]));
    for await (const part of provider.stream(modelRequest())) {
      expect(part).toEqual({ type: 'text_delta', text: 'Hel' });
      break;
    }
    expect(await (await fake.nextRequest()).closed).toBe(true);
  });

  it('a request after a failed one works on the same provider (no state kept between streams)', async () => {
    enqueue(p.httpError(500, 'boom'));
    enqueue(p.ok());
    await failure();
    const { error, parts } = await drain(provider.stream(modelRequest()));
    expect(error).toBeUndefined();
    expect(parts.at(-1)).toEqual({ type: 'finish', reason: 'end_turn' });
  });
});

describe.each(PROVIDERS.slice(0, 2))('$name provider: a server that goes silent', (p) => {
  const IDLE_MS = 5 * 60_000;
  let clock: ManualClock;
  let provider: ModelProvider;
  beforeEach(() => {
    clock = createManualClock();
    const options = { apiKey: API_KEY, clock };
    provider =
      p.endpoint === 'anthropic'
        ? createAnthropicProvider({ ...options, baseUrl: fake.anthropicBaseUrl })
        : createOpenAIProvider({ ...options, baseUrl: fake.openaiBaseUrl });
  });
  const more = (text: string) => (p.endpoint === 'anthropic' ? textDelta(0, text) : chunk({ content: text }));

  it('waits 5 min by default for the response, then fails as unavailable, not streamed, and hangs up', async () => {
    fake[p.endpoint].enqueue({ type: 'hang' });
    const result = drain(provider.stream(modelRequest()));
    const seen = await fake.nextRequest();
    await clock.advanceAsync(IDLE_MS - 1);
    expect(seen.hungUp).toBe(false);
    await clock.advanceAsync(1);
    const { parts, error } = await result;
    expect(parts).toEqual([]);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'unavailable', details: { streamed: false } });
    expect((error as Error).message).toMatch(/sent nothing for 300 s/);
    expect(await seen.closed).toBe(true);
  });

  it('counts the silence from the last piece received, and fails a stream that stops mid-way as streamed', async () => {
    const [first, second] = [fake.gate(), fake.gate()];
    fake[p.endpoint].enqueue(p.oneDeltaThen([first, more('lo'), second], 'hang'));
    const stream = provider.stream(modelRequest())[Symbol.asyncIterator]();
    expect((await stream.next()).value).toEqual({ type: 'text_delta', text: 'Hel' });
    await first.reached;
    await clock.advanceAsync(IDLE_MS - 1000);
    first.open();
    expect((await stream.next()).value).toEqual({ type: 'text_delta', text: 'lo' });
    await second.reached;
    // Past 5 min since the request, but not since the last piece.
    await clock.advanceAsync(IDLE_MS - 1000);
    const pending = stream.next().then(() => undefined, (e: unknown) => e);
    await clock.advanceAsync(1000);
    const error = await pending;
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'unavailable', details: { streamed: true } });
    expect(await (await fake.nextRequest()).closed).toBe(true);
    second.open();
  });

  it('leaves no timer behind after a stream ends', async () => {
    fake[p.endpoint].enqueue(p.ok());
    const { error } = await drain(provider.stream(modelRequest()));
    expect(error).toBeUndefined();
    expect(clock.pending()).toBe(0);
  });
});

describe('error messages never carry the API key', () => {
  it('not from an error event in the stream', async () => {
    const provider = createAnthropicProvider({ apiKey: API_KEY, baseUrl: fake.anthropicBaseUrl });
    fake.anthropic.enqueue(anthropicStream([messageStart(), anthropicErrorBody('invalid_request_error', `bad key ${API_KEY}`)]));
    const { error } = await drain(provider.stream(modelRequest()));
    expect((error as Error).message).toContain('bad key [redacted]');
  });

  it('not from an error object in an OpenAI stream', async () => {
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseUrl: fake.openaiBaseUrl });
    fake.openai.enqueue(openaiStream([openaiErrorBody(`key ${API_KEY} revoked`, 'invalid_request_error')], { done: false }));
    const { error } = await drain(provider.stream(modelRequest()));
    expect((error as Error).message).toContain('key [redacted] revoked');
  });
});

describe('HTTP helpers', () => {
  it('classifies statuses', () => {
    expect([401, 403, 429, 500, 529, 599, 400, 408, 409, 422].map(kindOfStatus)).toEqual([
      'auth',
      'auth',
      'rate_limited',
      'unavailable',
      'unavailable',
      'unavailable',
      'error',
      'error',
      'error',
      'error',
    ]);
  });

  it('reads retry-after and retry-after-ms', () => {
    const now = Date.parse('2026-12-04T23:00:00Z');
    const h = (init: Record<string, string>) => new Headers(init);
    expect(retryAfterMs(h({ 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMs(h({ 'retry-after': '0.5' }), now)).toBe(500);
    expect(retryAfterMs(h({ 'retry-after-ms': '250.5' }), now)).toBe(250.5);
    expect(retryAfterMs(h({ 'retry-after': 'Fri, 04 Dec 2026 23:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(h({ 'retry-after': 'Fri, 04 Dec 2026 22:00:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(h({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(h({ 'retry-after': '-1' }), now)).toBeUndefined();
    expect(retryAfterMs(h({ 'retry-after-ms': 'x', 'retry-after': '1' }), now)).toBe(1000);
    expect(retryAfterMs(h({}), now)).toBeUndefined();
  });

  it('finds the message of each server family\'s error body', () => {
    expect(errorBodyMessage(JSON.stringify(anthropicErrorBody('overloaded_error', 'Overloaded')))).toBe('overloaded_error: Overloaded');
    expect(errorBodyMessage(JSON.stringify(openaiErrorBody('No such model', 'invalid_request_error')))).toBe(
      'invalid_request_error: No such model',
    );
    expect(errorBodyMessage('{"error":"model \\"llama9\\" not found, try pulling it first"}')).toBe(
      'model "llama9" not found, try pulling it first',
    );
    expect(errorBodyMessage('{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}')).toBe(
      'max_tokens is too large',
    );
    expect(errorBodyMessage('{"detail":"Not Found"}')).toBe('Not Found');
    expect(errorBodyMessage('Internal Server Error')).toBeUndefined();
    expect(errorBodyMessage('{"ok":true}')).toBeUndefined();
    expect(errorBodyMessage(JSON.stringify({ error: { message: 'x'.repeat(2000) } }))!.length).toBeLessThan(600);
  });
});

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
