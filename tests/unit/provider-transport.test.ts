/**
 * The providers' default HTTP client (node:http, providers/transport.ts): what the HTTP
 * suite (provider-http.test.ts) does not reach through a provider. Real HTTP against the
 * fake provider on loopback.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeTransport } from '../../src/agents/providers/transport.js';
import { startFakeProvider, type FakeProvider, type Step } from '../fake-provider/server.js';

let fake: FakeProvider;
beforeEach(async () => {
  fake = await startFakeProvider();
});
afterEach(() => fake.close());

const post = (signal = new AbortController().signal) =>
  nodeTransport({ url: `${fake.anthropicBaseUrl}/v1/messages`, headers: { 'content-type': 'application/json' }, body: '{"stream":true}', signal });

describe('nodeTransport', () => {
  it('hands over a body the reader fell behind on whole and in order, then its end', async () => {
    // Many separate writes, all sent before anything is read: more pieces than it holds
    // before pausing the socket, so reading them also resumes it.
    const pieces = Array.from({ length: 300 }, (_, i) => `data: piece ${i}\n\n`);
    fake.anthropic.enqueue({ type: 'stream', steps: pieces.flatMap((piece): Step[] => [piece, { delayMs: 0 }]) });
    const response = await post();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const request = await fake.nextRequest();
    expect(request.rawBody).toBe('{"stream":true}');
    // The server wrote everything (kernel buffers hold what the paused socket left unread).
    expect(await request.closed).toBe(false);
    let text = '';
    const decoder = new TextDecoder();
    for (let chunk = await response.read(); chunk !== null; chunk = await response.read()) text += decoder.decode(chunk, { stream: true });
    expect(text).toBe(pieces.join(''));
    expect(await response.read()).toBeNull();
  });

  it('cancel closes the connection mid-body; an abort fails a pending read', async () => {
    const gate = fake.gate();
    fake.anthropic.enqueue({ type: 'stream', steps: ['data: a\n\n', gate] });
    const cancelled = await post();
    expect(new TextDecoder().decode((await cancelled.read())!)).toBe('data: a\n\n');
    await cancelled.cancel();
    expect(await (await fake.nextRequest()).closed).toBe(true);

    const second = fake.gate();
    fake.anthropic.enqueue({ type: 'stream', steps: ['data: b\n\n', second] });
    const controller = new AbortController();
    const aborted = await post(controller.signal);
    await aborted.read();
    const pending = aborted.read();
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toBeInstanceOf(Error);
    expect(await (await fake.nextRequest()).closed).toBe(true);
    gate.open();
    second.open();
  });
});
