import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { print } from 'graphql';
import { expect, it } from 'vitest';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { onCleanup, startTestServer } from '../utils/server.js';

/**
 * A draining instance (SIGTERM: app.stop()) takes no more turns; a command it can no longer
 * take says "try again later" (another instance, or this one restarted, will take it), not
 * that something about the request conflicts.
 */
it('a sendMessage reaching an instance that drains answers SERVICE_UNAVAILABLE (HTTP 503), not CONFLICT', async () => {
  const a = await startTestServer();
  const id = `d-${randomUUID()}`;
  await a.gql(CreateSessionMutation, { input: { id } });
  const events = subscribeEvents(wsClient(a), id, 0);
  await a.gql(SendMessageMutation, { input: { sessionId: id, text: '/stream 100000 100' } });
  await events.takeUntil((e) => e.__typename === 'TextDeltaEvent');

  // A request under way when the drain starts (its headers are in; its body is not), so that
  // the listener's close does not turn it away: it reaches the sessions while they drain.
  const body = Buffer.from(JSON.stringify({ query: print(SendMessageMutation), variables: { input: { sessionId: id, text: 'during the drain' } } }));
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(a.url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    onCleanup(() => req.destroy());
    req.write(body.subarray(0, 10));
    void waitForServerToSeeIt().then(() => {
      const stopping = a.app.stop();
      req.end(body.subarray(10));
      void stopping;
    });
  });
  const { status, body: text } = await answer;
  const result = JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> };
  expect(result.errors?.[0]?.extensions?.code, text).toBe('SERVICE_UNAVAILABLE');
  expect(status).toBe(503);
  await a.stop();
});

/** Long enough for the server to have read the request's headers (loopback: well under this). */
const waitForServerToSeeIt = () => new Promise((resolve) => setTimeout(resolve, 200));
