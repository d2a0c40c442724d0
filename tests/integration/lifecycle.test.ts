import { describe, expect, it } from 'vitest';
import { sseClient, subscribeEvents, wsClient } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { startTestServer } from '../utils/server.js';

describe('createApp start/stop', () => {
  it('stop ends running turns INTERRUPTED and completes subscriptions on every transport', async () => {
    const server = await startTestServer({ shutdownGraceMs: 5000 });
    await server.gql(CreateSessionMutation, { input: { id: 'stopping' } });
    const streams = [
      subscribeEvents(wsClient(server), 'stopping', 0),
      subscribeEvents(sseClient(server, 'distinct'), 'stopping', 0),
      subscribeEvents(sseClient(server, 'single'), 'stopping', 0),
    ];
    await server.gql(SendMessageMutation, { input: { sessionId: 'stopping', text: '/stream 100000 100' } });
    await Promise.all(streams.map((s) => s.takeUntil((e) => e.__typename === 'TextDeltaEvent')));

    await server.stop();
    for (const stream of streams) {
      const rest = await stream.untilComplete();
      expect(rest.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'INTERRUPTED' });
      await stream.done();
    }
    await expect(fetch(`${server.origin}/healthz`)).rejects.toThrow();
  });

  it('answers /healthz and /readyz while serving', async () => {
    const server = await startTestServer();
    const health = await fetch(`${server.origin}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${server.origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});
