/**
 * The providers' default HTTP client (node:http, providers/transport.ts): what the HTTP
 * suite (provider-http.test.ts) does not reach through a provider. Real HTTP against the
 * fake provider on loopback.
 */
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../src/agents/providers/anthropic.js';
import { nodeTransport } from '../../src/agents/providers/transport.js';
import { ProviderError } from '../../src/agents/providers/types.js';
import { drain, modelRequest } from '../fake-provider/drive.js';
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

  it('sends an https URL over TLS, verifying the certificate: an untrusted one fails the request, not retried, saying why', async () => {
    // A self-signed certificate for 127.0.0.1, made for this test (valid until 2126).
    const server = createHttpsServer({ key: TEST_KEY, cert: TEST_CERT }, (_req, res) => res.end());
    const handshakes: string[] = [];
    server.on('tlsClientError', (error: Error & { code?: string }) => handshakes.push(error.code ?? error.message));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(nodeTransport({ url: `${url}/v1/messages`, headers: {}, body: '{}', signal: new AbortController().signal })).rejects.toMatchObject({
        code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      });
      const { error } = await drain(createAnthropicProvider({ apiKey: 'sk-tls-test', baseUrl: url }).stream(modelRequest()));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ kind: 'error', details: { streamed: false } });
      expect((error as Error).message).toMatch(/^Anthropic API: self[- ]signed certificate/);
      // The client spoke TLS (and hung up on the certificate), not plain HTTP to a TLS port.
      expect(handshakes.length).toBeGreaterThanOrEqual(1);
    } finally {
      server.close();
    }
  });
});

const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgp7e9f5hJ4PcH3wkL
+O7HcHXKlgWMGeWI//BNxe7+oNWhRANCAAQIe5bNb3GQ5zczaY9K5glnuxCc9yAP
CvRpv2RbCRvw7KZ9lo9+KXThOfFSji1qVGsTJOZg+0pvf8mip8p0wxcW
-----END PRIVATE KEY-----`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUNuhI96CQwF/5R3q3Y7wam9tHOX8wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwNTAwMjEwOFoYDzIxMjYxMTEx
MDAyMTA4WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQIe5bNb3GQ5zczaY9K5glnuxCc9yAPCvRpv2RbCRvw7KZ9lo9+KXTh
OfFSji1qVGsTJOZg+0pvf8mip8p0wxcWo1MwUTAdBgNVHQ4EFgQUaYq3EIAyHA7Z
qvHOr8LxBj22Rr4wHwYDVR0jBBgwFoAUaYq3EIAyHA7ZqvHOr8LxBj22Rr4wDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiApR+Db7UONcCduWf2oj4CF
1FlX0+mwfBnZVexuSUjU/QIhAILO5zgEKHBFt4ADuVhSx309HDb7EwVlHdKn9hAm
XHrE
-----END CERTIFICATE-----`;
