import WebSocket from 'ws';
import { createQueue, type AwaitableQueue } from './queue.js';
import { onCleanup } from './server.js';

/** A graphql-transport-ws message as received (or the raw text when it was not JSON). */
export type WireMessage = { type: string; id?: string; payload?: unknown } | string;

export interface RawSocket {
  readonly ws: WebSocket;
  /** Every message the server sent, parsed; the queue ends when the socket closes. */
  readonly messages: AwaitableQueue<WireMessage>;
  /** The close code and reason, once the socket has closed (whoever closed it). */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Sends a message: objects as JSON, strings and buffers as they are (buffers as binary frames). */
  send(message: unknown): void;
  /** `connection_init`, then waits for `connection_ack`. */
  init(payload?: Record<string, unknown>): Promise<void>;
  /** `subscribe` with the given id. */
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  /**
   * Stops reading the TCP socket underneath: what the server sends piles up in the kernel and
   * then in the server's buffers, as with a client that stopped reading.
   */
  pauseReading(): void;
  /** Drops the connection without a close handshake. */
  terminate(): void;
}

/**
 * A WebSocket that speaks graphql-transport-ws by hand (the `ws` package, no graphql-ws
 * client), so a test can send what a well-behaved client never would and stop reading at will.
 * Terminated after the test.
 */
export async function openRawSocket(wsUrl: string, protocol = 'graphql-transport-ws'): Promise<RawSocket> {
  const ws = new WebSocket(wsUrl, protocol);
  const messages = createQueue<WireMessage>();
  ws.on('message', (data) => {
    const text = String(data);
    let parsed: WireMessage;
    try {
      parsed = JSON.parse(text) as WireMessage;
    } catch {
      parsed = text;
    }
    messages.push(parsed);
  });
  // A server that closes at once may beat the listener; errors end in 'close' anyway.
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      messages.end();
      resolve({ code, reason: String(reason) });
    }),
  );
  onCleanup(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', (code) => reject(new Error(`closed (${code}) before opening`)));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on upgrade`)));
  });

  const raw: RawSocket = {
    ws,
    messages,
    closed,
    send(message) {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (Buffer.isBuffer(message)) ws.send(message, { binary: true });
      else ws.send(typeof message === 'string' ? message : JSON.stringify(message));
    },
    async init(payload) {
      raw.send(payload ? { type: 'connection_init', payload } : { type: 'connection_init' });
      const ack = await messages.next();
      if (typeof ack === 'string' || ack.type !== 'connection_ack') throw new Error(`expected connection_ack, got ${JSON.stringify(ack)}`);
    },
    subscribe(id, query, variables) {
      raw.send({ id, type: 'subscribe', payload: { query, variables } });
    },
    pauseReading() {
      // ws's own pause: its receiver's 'drain' does not resume a socket paused this way.
      ws.pause();
    },
    terminate() {
      ws.terminate();
    },
  };
  return raw;
}
