import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * What every graphql-ws hook gets as `ctx.extra`. Not the upgrade request: nothing needs it
 * after the handshake, and its headers would stay in memory as long as the socket.
 */
export interface WsExtra {
  socket: WebSocket;
  /** Set by the bridge once the connection is authenticated. */
  userId?: string;
}

export interface WsAdapterOptions {
  /**
   * A ping every this many ms; a socket that has not answered by the next one is terminated
   * (a dead peer), ending its subscriptions.
   * @default 30000
   */
  keepAliveMs?: number;
  /** Where unexpected errors are reported. @default console.error */
  onError?: (error: unknown) => void;
}

/**
 * graphql-ws's `makeServer` on a `ws` server, in place of `graphql-ws/use/ws`, for three
 * reasons that matter at thousands of sockets:
 * - a `next` message's payload is serialized once per result, not once per subscriber: a
 *   shared result (see schema/shared-execution.ts) is spliced into each subscriber's message
 *   as the same string;
 * - one keep-alive timer for all sockets instead of one interval per socket;
 * - a peer that vanishes (ECONNRESET) is not an internal error worth a stack trace.
 */
export function serveGraphQLWs<P extends Record<string, unknown> | undefined, E extends WsExtra>(
  wss: WebSocketServer,
  options: ServerOptions<P, E>,
  adapter: WsAdapterOptions = {},
): { dispose: () => Promise<void> } {
  const onError = adapter.onError ?? console.error;
  const server = makeServer<P, E>({
    ...options,
    // The payload graphql-ws serializes is a stand-in naming the result's JSON; `send` puts
    // the JSON in its place. A hook of the caller's still runs first.
    onNext: async (ctx, id, payload, args, result) => {
      const replaced = await options.onNext?.(ctx, id, payload, args, result);
      return standIn(replaced ?? result);
    },
  });
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

  wss.on('connection', (socket) => {
    alive.add(socket);
    socket.on('pong', () => alive.add(socket));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // A peer that reset or vanished mid-write is ordinary on the internet; anything else is ours.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') onError(error);
      socket.terminate();
    });
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            const message = withPayload(data); // first: it also releases the stand-in
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(message, (error) => (error ? reject(error) : resolve()));
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
      { socket, userId: undefined } as E,
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

/** A result's JSON, made once however many subscribers it goes to. */
const serialized = new WeakMap<object, string>();
/** Stand-ins handed to graphql-ws, by number, until `send` swaps them for their JSON. */
const pending = new Map<number, string>();
let nextStandIn = 0;
const STAND_IN_KEY = '\u0000switchboard';
const STAND_IN_MARK = `"payload":{${JSON.stringify(STAND_IN_KEY)}:`;

function standIn(result: ExecutionResult | FormattedExecutionResult): FormattedExecutionResult {
  let json = serialized.get(result);
  if (json === undefined) {
    json = JSON.stringify(result);
    serialized.set(result, json);
  }
  const number = nextStandIn++ % Number.MAX_SAFE_INTEGER;
  pending.set(number, json);
  return { [STAND_IN_KEY]: number } as FormattedExecutionResult;
}

/**
 * graphql-ws serializes `{id, type, payload}` and sends it in the same tick: the payload comes
 * last, so the stand-in is the message's tail. (A client's `id` cannot contain the mark: its
 * quotes are escaped inside the JSON string.)
 */
function withPayload(data: string): string {
  const at = data.lastIndexOf(STAND_IN_MARK);
  if (at === -1) return data;
  const number = Number(data.slice(at + STAND_IN_MARK.length, -2));
  const json = pending.get(number);
  if (json === undefined) return data;
  pending.delete(number);
  return `${data.slice(0, at)}"payload":${json}}`;
}
