/**
 * The fake provider itself: it must frame events exactly as the recorded transcripts do,
 * answer with the real APIs' headers, follow its script, and report what it saw.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../fake-provider/fixtures/index.js';
import { startFakeProvider, type FakeProvider } from '../fake-provider/server.js';
import {
  anthropicError,
  anthropicFrame,
  anthropicStream,
  anthropicText,
  blockStop,
  messageStop,
  openaiFrame,
  ping,
  openaiStream,
  openaiText,
  textDelta,
} from '../fake-provider/wire.js';

let fake: FakeProvider;
beforeEach(async () => {
  fake = await startFakeProvider();
});
afterEach(() => fake.close());

const post = (path: string, body: unknown = { model: 'm' }, signal?: AbortSignal) =>
  fetch(`${fake.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: JSON.stringify(body), signal });

describe('fake provider: framing matches the recorded transcripts', () => {
  it('Anthropic frames are byte for byte those of the SDK transcript', () => {
    const recorded = fixture('anthropic-text');
    for (const frame of [
      anthropicFrame(textDelta(0, 'Hello')),
      anthropicFrame(blockStop(0)),
      anthropicFrame(messageStop()),
      anthropicFrame(ping()),
      anthropicFrame({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 6 } }),
    ]) {
      expect(recorded).toContain(frame);
    }
  });

  it('OpenAI frames and the [DONE] line are byte for byte those of the recorded transcripts', () => {
    const recorded = fixture('openai-text');
    expect(recorded.endsWith(openaiFrame('[DONE]'))).toBe(true);
    const first = recorded.split('\n\n')[0]!;
    expect(openaiFrame(JSON.parse(first.slice('data: '.length)))).toBe(`${first}\n\n`);
  });
});

describe('fake provider: responses', () => {
  it('streams with the headers of each API and records the request', async () => {
    fake.anthropic.enqueue(anthropicStream(anthropicText(['Hi'])));
    fake.openai.enqueue(openaiStream(openaiText(['Hi'])));
    const a = await post('/v1/messages', { model: 'claude', stream: true });
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(a.headers.get('request-id')).toMatch(/^req_/);
    expect(await a.text()).toBe(anthropicText(['Hi']).map(anthropicFrame).join(''));
    const o = await post('/v1/chat/completions', { model: 'gpt' });
    expect(o.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(o.headers.get('x-request-id')).toMatch(/^req_/);
    expect(await o.text()).toMatch(/data: \[DONE\]\n\n$/);

    const [first, second] = fake.requests;
    expect(first).toMatchObject({ endpoint: 'anthropic', method: 'POST', path: '/v1/messages', body: { model: 'claude', stream: true } });
    expect(first!.headers['x-api-key']).toBe('k');
    expect(second).toMatchObject({ endpoint: 'openai', path: '/v1/chat/completions', body: { model: 'gpt' } });
    expect(await first!.closed).toBe(false);
    expect(first!.hungUp).toBe(false);
  });

  it('answers scripted HTTP errors with their status, JSON body and headers', async () => {
    fake.anthropic.enqueue(anthropicError(529, 'overloaded_error', 'Overloaded', { 'retry-after': '3' }));
    const res = await post('/v1/messages');
    expect(res.status).toBe(529);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  it('answers an unscripted request with HTTP 500 saying so, and an unknown path with 404', async () => {
    const res = await post('/v1/messages');
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).toMatch(/no response scripted/);
    expect((await post('/v1/other')).status).toBe(404);
  });

  it('uses the fallback when the queue is empty, queued answers first', async () => {
    fake.openai.fallback((request) => openaiStream(openaiText([`echo ${(request.body as { model: string }).model}`])));
    fake.openai.enqueue(openaiStream(openaiText(['queued'])));
    expect(await (await post('/v1/chat/completions', { model: 'a' })).text()).toContain('queued');
    expect(await (await post('/v1/chat/completions', { model: 'b' })).text()).toContain('echo b');
  });

  it('holds a stream at a gate until the test opens it, and sees a client that hangs up there', async () => {
    const gate = fake.gate();
    fake.anthropic.enqueue(anthropicStream([anthropicText(['a'])[0]!, gate, messageStop()]));
    const controller = new AbortController();
    const res = await post('/v1/messages', {}, controller.signal);
    const reader = res.body!.getReader();
    await reader.read();
    await gate.reached;
    const request = await fake.nextRequest();
    expect(request.hungUp).toBe(false);
    controller.abort();
    expect(await request.closed).toBe(true);
    expect(request.hungUp).toBe(true);
    gate.open();
  });

  it('paces a stream with delays between writes', async () => {
    fake.openai.enqueue(openaiStream(openaiText(['a', 'b']).flatMap((c) => [c, { delayMs: 1 }])));
    const text = await (await post('/v1/chat/completions')).text();
    expect(text).toBe([...openaiText(['a', 'b']).map((c) => openaiFrame(c)), openaiFrame('[DONE]')].join(''));
  });

  it('paces a stream on an absolute schedule (atMs) and calls function steps between writes', async () => {
    const times: number[] = [];
    const mark = () => void times.push(performance.now());
    const [a, b] = openaiText(['a', 'b']).slice(1, 3) as [Record<string, unknown>, Record<string, unknown>];
    // atMs 30 is already past after the 60 ms delay: due at once, not 30 ms later.
    fake.openai.enqueue(openaiStream([{ delayMs: 60 }, mark, a, { atMs: 30 }, mark, b], { done: false }));
    const sent = performance.now();
    const text = await (await post('/v1/chat/completions')).text();
    expect(text).toBe(openaiFrame(a) + openaiFrame(b));
    expect(times).toHaveLength(2);
    expect(times[0]! - sent).toBeGreaterThanOrEqual(60);
    expect(times[1]! - times[0]!).toBeLessThan(30);
  });

  it('waits for an atMs step that is not yet due, counted from the stream start', async () => {
    const times: number[] = [];
    fake.anthropic.enqueue(anthropicStream([{ atMs: 40 }, () => void times.push(performance.now()), ...anthropicText(['x'])]));
    const sent = performance.now();
    const text = await (await post('/v1/messages')).text();
    expect(text).toBe(anthropicText(['x']).map((e) => anthropicFrame(e)).join(''));
    expect(times[0]! - sent).toBeGreaterThanOrEqual(40);
  });

  it('resets the connection when scripted', async () => {
    fake.anthropic.enqueue({ type: 'reset' });
    await expect(post('/v1/messages')).rejects.toThrow(/fetch failed/);
  });
});
