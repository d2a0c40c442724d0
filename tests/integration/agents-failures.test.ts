/**
 * How a real-model turn fails, through a real server: each code of the contract's failure
 * table as ErrorEvent{code} then CompleteEvent{ERROR}, retries that never repeat a delta,
 * every way of stopping a turn closing the provider connection, and the API key found
 * nowhere: not in an event, a GraphQL response or an error the server reported.
 */
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ofType } from '../utils/events-of.js';
import { deltaText, type Event } from '../utils/clients.js';
import { SessionQuery } from '../utils/operations.js';
import { API_KEY, openSession, PROVIDER_NAMES, startAgentServer, type AgentServer, type ProviderName } from '../utils/agent-server.js';
import type { Script } from '../fake-provider/server.js';
import { createManualClock, settle } from '../utils/manual-clock.js';

/** One turn in an ALLOW_ALL session on a fresh server; the key is checked for everywhere after it. */
async function failingTurn(provider: ProviderName, scripts: (a: AgentServer) => Script[], agent: Parameters<typeof startAgentServer>[0]['agent'] = {}, idleTimeoutMs?: number) {
  const started = await startAgentServer({ provider, agent, ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }) });
  const { server, fake, wire } = started;
  const s = await openSession(server, { permissionMode: 'ALLOW_ALL' });
  fake[wire.endpoint].enqueue(...scripts(started));
  await s.send('go');
  const events = await s.events.untilComplete();
  await expectNoKey(started, s.id, events);
  return { events, requests: fake.requests, error: ofType(events, 'ErrorEvent')[0] };
}

/** The key is in no event, no GraphQL response of the session (events, messages), no reported error. */
async function expectNoKey(started: AgentServer, sessionId: string, events: readonly Event[]) {
  const session = await started.server.request(SessionQuery, { id: sessionId });
  for (const text of [JSON.stringify(events), JSON.stringify(session), ...started.logged]) expect(text).not.toContain(API_KEY);
}

/** The turn ended as the contract says a failure ends: one ErrorEvent with this code, then CompleteEvent{ERROR}. */
function expectFailed(events: readonly Event[], code: string) {
  expect(events.slice(-2).map((e) => e.__typename)).toEqual(['ErrorEvent', 'CompleteEvent']);
  expect(ofType(events, 'ErrorEvent')).toMatchObject([{ code }]);
  expect(events.at(-1)).toMatchObject({ reason: 'ERROR' });
}

const fast = { 'retry-after-ms': '1' };

describe.each(PROVIDER_NAMES)('%s: each failure code through the server', (p) => {
  it.each([401, 403])('HTTP %i is PROVIDER_AUTH at once, saying to check the key, which never shows even when the body echoes it', async (status) => {
    const { events, requests, error } = await failingTurn(p, ({ wire }) => [wire.httpError(status, `Incorrect API key provided: ${API_KEY}.`)]);
    expectFailed(events, 'PROVIDER_AUTH');
    expect(error!.error).toMatch(/check the API key/);
    expect(requests).toHaveLength(1);
  });

  it('HTTP 429 four times (three retries) is PROVIDER_RATE_LIMITED', async () => {
    const { events, requests, error } = await failingTurn(p, ({ wire }) => Array.from({ length: 4 }, () => wire.httpError(429, 'Slow down.', fast)));
    expectFailed(events, 'PROVIDER_RATE_LIMITED');
    expect(error!.error).toMatch(/after 4 attempts/);
    expect(requests).toHaveLength(4);
  });

  it.each(p === 'anthropic' ? [500, 503, 529] : [500, 502, 503])('HTTP %i after the retries is PROVIDER_UNAVAILABLE', async (status) => {
    const { events, requests } = await failingTurn(p, ({ wire }) => Array.from({ length: 4 }, () => wire.httpError(status, `Down ${API_KEY}`, fast)));
    expectFailed(events, 'PROVIDER_UNAVAILABLE');
    expect(requests).toHaveLength(4);
  });

  it('a connection reset before any response, after the retries, is PROVIDER_UNAVAILABLE', async () => {
    const { events, requests } = await failingTurn(p, () => Array.from({ length: 4 }, (): Script => ({ type: 'reset' })));
    expectFailed(events, 'PROVIDER_UNAVAILABLE');
    expect(requests).toHaveLength(4);
  });

  it('a refused connection, after the retries, is PROVIDER_UNAVAILABLE naming the host, not the key', async () => {
    // A port that was just free: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const started = await startAgentServer({ provider: p, baseUrl: `http://127.0.0.1:${port}${p === 'openai' ? '/v1' : ''}` });
    const s = await openSession(started.server);
    await s.send('go');
    const events = await s.events.untilComplete();
    expectFailed(events, 'PROVIDER_UNAVAILABLE');
    expect(ofType(events, 'ErrorEvent')[0]!.error).toMatch(new RegExp(`after 4 attempts.*connection to 127\\.0\\.0\\.1:${port} failed \\(ECONNREFUSED\\)`));
    await expectNoKey(started, s.id, events);
  });

  it('any other HTTP error is PROVIDER_ERROR, not retried', async () => {
    const { events, requests, error } = await failingTurn(p, ({ wire }) => [wire.httpError(400, 'max_tokens: too large'), wire.text(['never'])]);
    expectFailed(events, 'PROVIDER_ERROR');
    expect(error!.error).toMatch(/HTTP 400.*max_tokens: too large/);
    expect(requests).toHaveLength(1);
  });

  it('an error event in the middle of the stream is PROVIDER_ERROR (an overloaded one too), not retried, its text streamed once', async () => {
    const { events, requests, error } = await failingTurn(p, ({ wire }) => [wire.errorEventAfter('Hel', `Overloaded ${API_KEY}`), wire.text(['never'])]);
    expectFailed(events, 'PROVIDER_ERROR');
    expect(deltaText(events)).toBe('Hel');
    expect(error!.error).toMatch(p === 'anthropic' ? /overloaded_error: Overloaded \[redacted\]/ : /server_error: Overloaded \[redacted\]/);
    expect(requests).toHaveLength(1);
  });

  it('malformed data in the middle of the stream is PROVIDER_ERROR', async () => {
    const { events, requests } = await failingTurn(p, ({ wire }) => [wire.malformedAfter('Hel'), wire.text(['never'])]);
    expectFailed(events, 'PROVIDER_ERROR');
    expect(requests).toHaveLength(1);
  });

  it('MAX_TOKENS: the text so far is completed first', async () => {
    const { events } = await failingTurn(p, ({ wire }) => [wire.maxTokens(['Partial ', 'an'])], { maxTokens: 8 });
    expect(events.map((e) => e.__typename).filter((t, i, all) => !(t === 'TextDeltaEvent' && all[i - 1] === t))).toEqual([
      'UserMessageEvent',
      'TextDeltaEvent',
      'TextCompleteEvent',
      'ErrorEvent',
      'CompleteEvent',
    ]);
    expect(ofType(events, 'TextCompleteEvent')).toMatchObject([{ text: 'Partial an', isIntermediate: false }]);
    expectFailed(events, 'MAX_TOKENS');
    expect(ofType(events, 'ErrorEvent')[0]!.error).toMatch(/AGENT_MAX_TOKENS/);
  });

  it('MAX_STEPS: the turn stops after AGENT_MAX_STEPS requests while the model still calls tools', async () => {
    const list = (n: number) => ({ id: `${p === 'anthropic' ? 'toolu' : 'call'}_l${n}`, name: 'list_files', input: {} });
    const { events, requests } = await failingTurn(p, ({ wire }) => [wire.tools([list(1)]), wire.tools([list(2)]), wire.text(['never'])], { maxSteps: 2 });
    expectFailed(events, 'MAX_STEPS');
    expect(ofType(events, 'ToolResultEvent')).toHaveLength(2);
    expect(requests).toHaveLength(2);
  });
});

describe.each(PROVIDER_NAMES)('%s: retries never repeat a delta', (p) => {
  it('a 429 and a 503 (retry-after honoured), then the answer: its text exactly once', async () => {
    const { events, requests } = await failingTurn(p, ({ wire }) => [
      wire.httpError(429, 'Slow down.', { 'retry-after-ms': '20' }),
      wire.httpError(503, 'Busy.', { 'retry-after': '0' }),
      wire.text(['Hello ', 'once.']),
    ]);
    expect(deltaText(events)).toBe('Hello once.');
    expect(ofType(events, 'TextCompleteEvent').map((e) => e.text)).toEqual(['Hello once.']);
    expect(events.at(-1)).toMatchObject({ reason: 'END_TURN' });
    expect(requests).toHaveLength(3);
  });

  it.each([
    ['retry-after: 7 (seconds)', { 'retry-after': '7' }],
    ['retry-after-ms: 7000', { 'retry-after-ms': '7000' }],
  ])('waits exactly what %s asks, on the agent clock, before the one retry', async (_, headers) => {
    const clock = createManualClock(Date.now());
    const started = await startAgentServer({ provider: p, agent: { clock } });
    const { server, fake, wire } = started;
    const s = await openSession(server);
    fake[wire.endpoint].enqueue(wire.httpError(429, 'Slow down.', headers), wire.text(['After the wait.']));
    await s.send('go');
    await (await fake.nextRequest()).closed;
    // The loop has read the 429 and is waiting on the clock.
    while (clock.pending() === 0) await settle();
    clock.advance(6999);
    expect(clock.pending()).toBe(1);
    expect(fake.requests).toHaveLength(1);
    clock.advance(1);
    await fake.nextRequest();
    const events = await s.events.untilComplete();
    expect(deltaText(events)).toBe('After the wait.');
    expect(events.at(-1)).toMatchObject({ reason: 'END_TURN' });
  });

  it('a connection reset after a delta is not retried: PROVIDER_UNAVAILABLE, the delta once', async () => {
    const { events, requests } = await failingTurn(p, ({ wire }) => [wire.textThen('Hel', [], 'reset'), wire.text(['never'])]);
    expectFailed(events, 'PROVIDER_UNAVAILABLE');
    expect(deltaText(events)).toBe('Hel');
    expect(requests).toHaveLength(1);
  });

  it('a provider that goes silent mid-stream fails the turn after the idle timeout and is hung up on', async () => {
    const { events, requests, error } = await failingTurn(p, ({ wire }) => [wire.textThen('Hel', [], 'hang')], {}, 1000);
    expectFailed(events, 'PROVIDER_UNAVAILABLE');
    expect(error!.error).toMatch(/sent nothing for 1 s/);
    expect(await requests[0]!.closed).toBe(true);
  });
});

describe.each(PROVIDER_NAMES)('%s: stopping a turn closes the provider connection', (p) => {
  /** A session whose turn is streaming: one delta arrived, the provider then waits (forever). */
  async function streaming(options: { beforeHeaders?: boolean } = {}) {
    const started = await startAgentServer({ provider: p });
    const { server, fake, wire } = started;
    const s = await openSession(server);
    fake[wire.endpoint].enqueue(options.beforeHeaders ? { type: 'hang' } : wire.textThen('Hel', [], 'hang'));
    await s.send('first');
    const request = await fake.nextRequest();
    if (!options.beforeHeaders) await s.events.takeUntil((e) => e.__typename === 'TextDeltaEvent');
    expect(request.hungUp).toBe(false);
    return { ...started, s, request };
  }

  it('cancelTurn mid-stream: CANCELLED, and the provider sees the hang-up', async () => {
    const { s, request } = await streaming();
    await s.cancel();
    const rest = await s.events.untilComplete();
    expect(rest.at(-1)).toMatchObject({ reason: 'CANCELLED' });
    expect(ofType(rest, 'ErrorEvent')).toEqual([]);
    expect(await request.closed).toBe(true);
  });

  it('cancelTurn while waiting for the response headers', async () => {
    const { s, request } = await streaming({ beforeHeaders: true });
    await s.cancel();
    expect((await s.events.untilComplete()).at(-1)).toMatchObject({ reason: 'CANCELLED' });
    expect(await request.closed).toBe(true);
  });

  it('INTERRUPT: the running turn ends CANCELLED, its request is hung up on, and the new message runs', async () => {
    const { s, request, fake, wire } = await streaming();
    fake[wire.endpoint].enqueue(wire.text(['Second.']));
    await s.send('second', 'INTERRUPT');
    const first = await s.events.untilComplete();
    expect(first.at(-1)).toMatchObject({ reason: 'CANCELLED' });
    expect(await request.closed).toBe(true);
    const second = await s.events.untilComplete();
    expect(deltaText(second)).toBe('Second.');
    expect(second.at(-1)).toMatchObject({ reason: 'END_TURN' });
  });

  it('deleteSession: the subscription completes and the provider sees the hang-up', async () => {
    const { s, request } = await streaming();
    await s.remove();
    await s.events.done(10_000);
    expect(await request.closed).toBe(true);
  });

  it('server stop: INTERRUPTED, and the provider sees the hang-up', async () => {
    const { s, request, server } = await streaming();
    const stopped = server.stop();
    const rest = await s.events.untilComplete();
    expect(rest.at(-1)).toMatchObject({ reason: 'INTERRUPTED' });
    await stopped;
    expect(await request.closed).toBe(true);
  });
});
