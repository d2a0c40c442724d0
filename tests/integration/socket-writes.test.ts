import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/types.js';
import { createMemoryPubSub } from '../../src/events/pubsub/memory.js';
import { createMemoryStore } from '../../src/store/memory.js';
import type { SessionTopicMessage } from '../../src/events/topics.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { startTestServer } from '../utils/server.js';

type Chunk = { chunk: Buffer | string };
/** The Writable implementer API of a net.Socket: what reaches the kernel, one call per write. */
type Implementer = Socket & {
  _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void;
  _writev(chunks: Chunk[], callback: (error?: Error | null) => void): void;
};

/**
 * Records every write of the server's end of each WebSocket: the upgrade request's socket,
 * which is the one ws writes its frames to. Each write is the text of what it carried.
 */
function recordWrites(server: import('node:http').Server): string[][] {
  const sockets: string[][] = [];
  server.on('upgrade', (request: IncomingMessage) => {
    const socket = request.socket as Implementer;
    const writes: string[] = [];
    sockets.push(writes);
    const write = socket._write;
    const writev = socket._writev;
    socket._write = function (chunk, encoding, callback) {
      writes.push(String(chunk));
      return write.call(this, chunk, encoding, callback);
    };
    socket._writev = function (chunks, callback) {
      writes.push(chunks.map((c) => String(c.chunk)).join(''));
      return writev.call(this, chunks, callback);
    };
  });
  return sockets;
}

const nextMessages = (write: string) => write.match(/"type":"next"/g)?.length ?? 0;

/**
 * Streams two deltas and ends without `text_end`: the turn then completes the text and the
 * turn in the same tick, and with a coalescing window longer than the turn the second delta is
 * held until then. So a turn's end (last delta, TextCompleteEvent, CompleteEvent) is one batch.
 */
const twoDeltas: Agent = {
  models: ['two-deltas'],
  async *chat() {
    yield { type: 'text', delta: 'first ' };
    yield { type: 'text', delta: 'last' };
  },
};

/** The memory pub/sub, each published batch's event types recorded. */
function recordedPubSub() {
  const pubsub = createMemoryPubSub();
  const batches: string[][] = [];
  const publish = pubsub.publish.bind(pubsub);
  pubsub.publish = (topic, payload) => {
    const message = payload as SessionTopicMessage;
    if (message.kind === 'events') batches.push(message.events.map((e) => e.type));
    return publish(topic, payload);
  };
  return { pubsub, batches };
}

describe('writes to a WebSocket subscriber', () => {
  it("sends a turn's end (its last delta, TextCompleteEvent and CompleteEvent, published together) in one socket write", async () => {
    const { pubsub, batches } = recordedPubSub();
    const server = await startTestServer({ agent: twoDeltas, pubsub, coalesceWindowMs: 60_000 });
    const sockets = recordWrites(server.app.server);
    await server.gql(CreateSessionMutation, { input: { id: 's' } });
    const events = subscribeEvents(wsClient(server), 's', 0);

    // The first turn makes sure the subscription is live (not replaying from the store).
    await server.gql(SendMessageMutation, { input: { sessionId: 's', text: 'one' } });
    await events.untilComplete();
    expect(sockets).toHaveLength(1);
    const writes = sockets[0]!;
    const before = writes.length;

    await server.gql(SendMessageMutation, { input: { sessionId: 's', text: 'two' } });
    const turn = await events.untilComplete();
    expect(turn.slice(-3).map((e) => e.__typename)).toEqual(['TextDeltaEvent', 'TextCompleteEvent', 'CompleteEvent']);
    expect(batches.at(-1)!.slice(-3)).toEqual(['TEXT_DELTA', 'TEXT_COMPLETE', 'COMPLETE']);

    const ofTurn = writes.slice(before).filter((w) => nextMessages(w) > 0);
    const end = ofTurn.at(-1)!;
    // One write carries the whole batch's `next` messages (and whatever else was in hand by
    // then), in order.
    expect(nextMessages(end)).toBeGreaterThanOrEqual(batches.at(-1)!.length);
    expect(end.indexOf('"delta":"last"')).toBeGreaterThan(-1);
    expect(end.indexOf('"delta":"last"')).toBeLessThan(end.indexOf('"TextCompleteEvent"'));
    expect(end.indexOf('"TextCompleteEvent"')).toBeLessThan(end.indexOf('"CompleteEvent"'));
  });

  it("sends what one turn of the event loop publishes in several batches (a turn's UserMessageEvent, then its first delta) in one socket write", async () => {
    // The memory store answers within the event loop's turn: the UserMessageEvent and the
    // first delta (at once, the coalescer's leading edge) are published one after the other
    // in the turn the sendMessage request arrived in.
    const { pubsub, batches } = recordedPubSub();
    const server = await startTestServer({ agent: twoDeltas, pubsub, store: createMemoryStore(), coalesceWindowMs: 60_000 });
    const sockets = recordWrites(server.app.server);
    await server.gql(CreateSessionMutation, { input: { id: 's' } });
    const events = subscribeEvents(wsClient(server), 's', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 's', text: 'one' } });
    await events.untilComplete();
    const writes = sockets[0]!;
    const before = writes.length;
    const published = batches.length;

    await server.gql(SendMessageMutation, { input: { sessionId: 's', text: 'two' } });
    await events.untilComplete();
    // Two publishes: the UserMessageEvent alone, then the first delta alone.
    expect(batches.slice(published, published + 2)).toEqual([['USER_MESSAGE'], ['TEXT_DELTA']]);
    const first = writes.slice(before).find((w) => nextMessages(w) > 0)!;
    expect(nextMessages(first)).toBeGreaterThanOrEqual(2);
    expect(first.indexOf('"UserMessageEvent"')).toBeGreaterThan(-1);
    expect(first.indexOf('"UserMessageEvent"')).toBeLessThan(first.indexOf('"delta":"first "'));
  });
});
