import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RepeatedError } from '../../src/observability/fold.js';
import { createManualClock } from '../utils/manual-clock.js';
import { SessionsQuery } from '../utils/operations.js';
import { startTestServer } from '../utils/server.js';

/** Opens a WebSocket by hand on a raw TCP socket and sends one frame no client may send. */
function sendBadFrame(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
      );
      // After the 101: a final frame with reserved opcode 0x1 | RSV bits set, masked, empty.
      socket.once('data', () => socket.write(Buffer.from([0xf1, 0x80, 0, 0, 0, 0])));
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}

describe('logs under attack', () => {
  it('malformed WebSocket frames are the client\'s fault: 2,000 of them log nothing', async () => {
    const reported: unknown[] = [];
    const server = await startTestServer({ onError: (error) => reported.push(error), limits: { maxConnectionsPerUser: 10_000 } });
    const port = Number(new URL(server.origin).port);
    for (let batch = 0; batch < 40; batch++) await Promise.all(Array.from({ length: 50 }, () => sendBadFrame(port)));
    expect(reported).toEqual([]);
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
  });

  it('the same internal error repeated is reported once, then once more with the count when the second ends', async () => {
    const clock = createManualClock(Date.now());
    const reported: unknown[] = [];
    const server = await startTestServer({ clock, onError: (error) => reported.push(error) });
    // The store going away makes every query fail the same way, as a database outage would.
    await server.app.store.close();
    for (let i = 0; i < 300; i++) {
      const result = await server.request(SessionsQuery, { limit: 10 });
      expect(result.errors?.[0]?.extensions?.code).toBeDefined();
    }
    expect(reported).toHaveLength(1);
    expect(reported[0]).not.toBeInstanceOf(RepeatedError);
    clock.advance(1000);
    expect(reported).toHaveLength(2);
    expect(reported[1]).toBeInstanceOf(RepeatedError);
    expect((reported[1] as RepeatedError).count).toBe(299);
  });
});
