import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { ExecutionResult } from 'graphql';
import type { WebSocket, WebSocketServer } from 'ws';
import { isInHandStream, type InHandStream } from '../events/in-hand.js';
import { logError } from '../observability/error-sink.js';
import type { Logger } from '../observability/logger.js';
import { TransportTally } from '../observability/metrics.js';

/**
 * What every graphql-ws hook gets as `ctx.extra`. Not the upgrade request: nothing needs it
 * after the handshake, and its headers would stay in memory as long as the socket.
 */
export interface WsExtra {
  socket: WebSocket;
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
 * can bypass graphql-ws's per-message work: see `streamToSocket`.
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
      { socket, address: request.socket.remoteAddress, userId: undefined, limitKey: undefined, expiry: undefined, log: undefined } as E,
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

function resultJson(result: ExecutionResult): string {
  let json = serialized.get(result);
  if (json === undefined) {
    json = JSON.stringify(result);
    serialized.set(result, json);
  }
  return json;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Writes a subscription's results to its socket as graphql-ws `next` messages, each result
 * serialized once for all its subscribers (results are shared: schema/shared-execution.ts)
 * and each message the same JSON behind a per-subscription prefix, one socket write each.
 * Results in hand (see InHandStream) are written in the turn they are published in, with no
 * promise per message; a socket that has not taken its last write yet (a reader that stops
 * reading) gets nothing more until it has, so it holds its stream, not the server's memory.
 * What it returns is what graphql-ws iterates instead: it yields nothing, ends when the
 * stream has been written (graphql-ws then sends `complete`), rethrows the stream's error
 * (graphql-ws sends `error`), and `return()` (the client's `complete`, the socket's close)
 * stops the stream. Per message this skips graphql-ws's hook calls, message object,
 * validation and JSON.stringify. `tally` counts the stream while it is open and each message
 * written (a field increment per message).
 */
export function streamToSocket(
  source: AsyncIterator<ExecutionResult>,
  socket: WebSocket,
  id: string,
  prepare: (result: ExecutionResult) => ExecutionResult,
  tally: TransportTally = uncounted,
): AsyncIterableIterator<never> {
  return new SocketStream(source, socket, `{"id":${JSON.stringify(id)},"type":"next","payload":`, prepare, tally);
}

/** Where an uncounted stream counts: one object for all, so writing never has to ask. */
const uncounted = new TransportTally();

/**
 * Written with callbacks rather than as an async loop: thousands of idle subscriptions each
 * wait here, and a registered callback is a fraction of a suspended async frame.
 */
class SocketStream implements AsyncIterableIterator<never> {
  private stopped = false;
  /** How the stream ended, once it has. */
  private outcome: 'done' | { error: unknown } | null = null;
  /** graphql-ws's pending next(). */
  private waiting: { resolve: (result: IteratorResult<never>) => void; reject: (error: unknown) => void } | null = null;
  private readonly inHand: InHandStream<ExecutionResult | Promise<ExecutionResult>> | null;

  constructor(
    private readonly source: AsyncIterator<ExecutionResult>,
    private readonly socket: WebSocket,
    private readonly prefix: string,
    private readonly prepare: (result: ExecutionResult) => ExecutionResult,
    private readonly tally: TransportTally,
  ) {
    tally.active++;
    this.inHand = isInHandStream<ExecutionResult | Promise<ExecutionResult>>(source) ? source : null;
    this.pull();
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  next(): Promise<IteratorResult<never>> {
    const outcome = this.outcome;
    if (outcome) return outcome === 'done' ? Promise.resolve(DONE) : Promise.reject(outcome.error);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<never>> {
    this.stopped = true;
    await this.source.return?.();
    this.finish('done');
    return DONE;
  }

  /** The source's next() (a store read, the first event, the end, a source without InHandStream). */
  private pull() {
    this.source.next().then(
      (step) => (step.done ? this.finish('done') : this.write(step.value) && this.drain()),
      (error: unknown) => this.finish({ error }),
    );
  }

  /**
   * Writes what is in hand, then waits for the next publish, or goes through next() when that
   * has work to do. Runs inside the publish (the cursor calls it back), so it never throws.
   */
  private readonly drain = (): void => {
    try {
      const inHand = this.inHand;
      if (!inHand) {
        if (!this.outcome) this.pull();
        return;
      }
      while (!this.outcome) {
        const result = inHand.takeInHand();
        if (result === undefined) {
          if (!inHand.whenReady(this.drain)) this.pull();
          return;
        }
        if (result instanceof Promise) {
          result.then(
            (value) => this.write(value) && this.drain(),
            (error: unknown) => this.finish({ error }),
          );
          return;
        }
        if (!this.write(result)) return;
      }
    } catch (error) {
      this.finish({ error });
    }
  };

  /**
   * Writes one result. False when nothing more may be written now: the stream ended, or the
   * socket still holds earlier writes, in which case this write's callback goes on.
   */
  private write(value: ExecutionResult): boolean {
    const socket = this.socket;
    if (this.stopped || socket.readyState !== socket.OPEN) {
      this.finish('done');
      return false;
    }
    let message: string;
    try {
      const result = this.prepare(value);
      message = this.prefix + (result === value ? resultJson(result) : JSON.stringify(result)) + '}';
    } catch (error) {
      this.finish({ error });
      return false;
    }
    // The common case: the kernel took every earlier write whole. No callback then: a write
    // callback costs a tick per message; a failed write errors the socket, which closes it.
    this.tally.delivered++;
    if (socket.bufferedAmount === 0) {
      socket.send(message);
      return true;
    }
    socket.send(message, (error) => (error ? this.finish({ error }) : this.drain()));
    return false;
  }

  private finish(outcome: 'done' | { error: unknown }) {
    if (this.outcome) return;
    this.outcome = outcome;
    this.tally.active--;
    const waiting = this.waiting;
    this.waiting = null;
    if (!waiting) return;
    if (outcome === 'done') waiting.resolve(DONE);
    else waiting.reject(outcome.error);
  }
}
