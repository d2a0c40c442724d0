import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { logError } from '../observability/error-sink.js';
import type { Logger } from '../observability/logger.js';

/**
 * What every graphql-ws hook gets as `ctx.extra`. Not the upgrade request: nothing needs it
 * after the handshake, and its headers would stay in memory as long as the socket.
 */
export interface WsExtra {
  socket: WebSocket;
  /**
   * The byte stream `socket` writes to: the upgrade request's socket, the very one ws's
   * sender writes frames to. The socket writer corks it around a burst (delivery/socket-stream.ts).
   */
  wire: Duplex;
  /** The peer's address (the TCP socket's), for counting per address without authentication. */
  address: string | undefined;
  /** Set by the bridge once the connection is authenticated. */
  userId?: string;
  /** Whom the connection counts against (transport/limit-key.ts); set with `userId`. */
  limitKey?: string;
  /** Cancels the close at the token's expiry; set by the bridge for a token with `exp`. */
  expiry?: () => void;
  /** The connection's own logger (its connectionId and userId), set by the bridge on connect. */
  log?: Logger;
}

export interface WsAdapterOptions {
  /**
   * A ping every this many ms; a socket that has not answered by the next one is terminated
   * (a dead peer), ending its subscriptions.
   * @default 30000
   */
  keepAliveMs?: number;
  /** Where unexpected errors are reported. @default logged at `error` */
  onError?: (error: unknown) => void;
}

/**
 * graphql-ws's `makeServer` on a `ws` server, in place of `graphql-ws/use/ws`, for what
 * matters at thousands of sockets: one keep-alive timer for all sockets instead of one
 * interval per socket; no upgrade request kept per socket; and a peer that vanishes
 * (ECONNRESET) is not an internal error worth a stack trace. Subscriptions' `next` messages
 * can bypass graphql-ws's per-message work: see delivery/socket-stream.ts.
 */
export function serveGraphQLWs<P extends Record<string, unknown> | undefined, E extends WsExtra>(
  wss: WebSocketServer,
  options: ServerOptions<P, E>,
  adapter: WsAdapterOptions = {},
): { dispose: () => Promise<void> } {
  const onError = adapter.onError ?? logError;
  const server = makeServer<P, E>(options);
  wss.options.handleProtocols = handleProtocols;

  const alive = new WeakSet<WebSocket>();
  const keepAliveMs = adapter.keepAliveMs ?? 30_000;
  const keepAlive =
    keepAliveMs > 0 && Number.isFinite(keepAliveMs)
      ? setInterval(() => {
          for (const socket of wss.clients) {
            if (socket.readyState !== socket.OPEN) continue;
            if (!alive.delete(socket)) {
              socket.terminate();
              continue;
            }
            socket.ping();
          }
        }, keepAliveMs)
      : null;
  keepAlive?.unref();

  wss.on('connection', (socket, request) => {
    alive.add(socket);
    socket.on('pong', () => alive.add(socket));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // A frame ws refuses (too large: 1009, malformed: 1002) is the peer's fault, and ws is
      // already closing the socket with that code; terminating would cut the close frame off.
      if (error.code?.startsWith('WS_ERR_')) return;
      // A peer that reset or vanished mid-write is ordinary on the internet; anything else is ours.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') onError(error);
      socket.terminate();
    });
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        // Not an async function: a subscription's handler runs as long as the subscription,
        // and a suspended async frame per subscription is memory for nothing.
        onMessage: (handle) =>
          socket.on('message', (message) => {
            handle(String(message)).catch((error: unknown) => {
              onError(error);
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      // Every field present from the start: one object shape, no property store of its own.
      { socket, wire: request.socket as Duplex, address: request.socket.remoteAddress, userId: undefined, limitKey: undefined, expiry: undefined, log: undefined } as E,
    );
    socket.once('close', (code, reason) => void closed(code, String(reason)));
  });

  return {
    async dispose() {
      if (keepAlive) clearInterval(keepAlive);
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners('connection');
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
