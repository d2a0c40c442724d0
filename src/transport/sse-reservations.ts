import type { ServerResponse } from 'node:http';
import { logError } from '../observability/error-sink.js';
import { randomUUID } from 'node:crypto';
import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY, type HandlerOptions, type Response as Answer } from 'graphql-sse';
import type { Plugin } from 'graphql-yoga';
import type { Clock, TimerHandle } from '../clock.js';
import { SwitchboardError } from '../errors.js';
import type { ConnectionCounter } from './connections.js';
import { readBounded } from './body-limit.js';

/**
 * graphql-sse's "single connection mode" (`/graphql/stream`): `PUT` reserves a stream and
 * answers its token; the client then opens the stream (`GET`, `Accept: text/event-stream`)
 * and sends operations (`POST`) and completions (`DELETE`) naming the token. graphql-sse
 * itself gives any caller a token, never expires one and lets anyone who knows it use it.
 * Here a reservation:
 *
 * - needs the same authentication as any request, and serves only the user who made it: a
 *   request naming another user's token is answered as one naming an unknown token (404);
 * - counts as one of its user's connections (`maxConnectionsPerUser`, the counter graphql-ws
 *   sockets use too) from its making until its stream closes; over the limit is 429
 *   RATE_LIMITED;
 * - expires `ttlMs` after its making when no stream has opened it, and is then dropped from
 *   graphql-sse as well.
 */
export interface ReservationsOptions {
  /** Where graphql-sse is served, as given to `useGraphQLSSE`. */
  endpoint: string;
  /**
   * The user of a request from its Authorization header (throws UNAUTHENTICATED), and whom
   * its reservation counts against as a connection: the user, or without authentication the
   * peer's `address` (transport/limit-key.ts).
   */
  authenticate: (authorization: string | null, address: string | undefined) => Promise<{ userId: string; limitKey: string }>;
  /** Open connections per user, shared with graphql-ws. */
  connections: ConnectionCounter;
  /** @default the system clock */
  clock: Clock;
  /** How long a reservation waits for its stream to open. @default 30000 */
  ttlMs?: number;
  /**
   * Most reservations waiting for their stream at once, all users together: a bound on what
   * the reservations hold even when `maxConnectionsPerUser` is off. More are 429 RATE_LIMITED.
   * @default 10000
   */
  maxPending?: number;
  /**
   * Largest request body, in bytes. graphql-sse reads bodies itself, past Yoga's parser and
   * its limit, so a chunked one (no Content-Length to refuse it by) is counted here.
   */
  maxRequestBytes: number;
  /** Where unexpected errors are reported. @default logged at `error` */
  onError?: (error: unknown) => void;
}

export interface Reservations {
  /** graphql-sse's `authenticate` option. */
  authenticate: NonNullable<HandlerOptions<Request>['authenticate']>;
  /**
   * The `useGraphQLSSE` plugin, wrapped: it learns each request's connection (to see a
   * stream close), bounds chunked bodies, and can drop expired streams from graphql-sse.
   */
  wrap(sse: Plugin): Plugin;
  /** Reservations held now (waiting or streaming). */
  readonly size: number;
  /** Clears every expiry timer. */
  dispose(): void;
}

interface Reservation {
  userId: string;
  /** What `connections` counted it against. */
  limitKey: string;
  /** Until the stream opens. */
  expiry: TimerHandle | null;
}

export function createReservations(options: ReservationsOptions): Reservations {
  const { clock, connections } = options;
  const ttlMs = options.ttlMs ?? 30_000;
  const maxPending = options.maxPending ?? 10_000;
  const onError = options.onError ?? logError;
  const reservations = new Map<string, Reservation>();
  let pending = 0;
  /** The http response of each request graphql-sse handles: its 'close' ends a stream. */
  const responses = new WeakMap<Request, ServerResponse>();
  /** Requests made here to make graphql-sse drop an expired stream. */
  const dropping = new WeakSet<Request>();
  let sse: Plugin | null = null;
  let fetchAPI: { Request: typeof Request; Response: typeof Response } | null = null;

  const release = (token: string) => {
    const reservation = reservations.get(token);
    if (!reservation) return;
    reservations.delete(token);
    if (reservation.expiry !== null) {
      clock.clearTimeout(reservation.expiry);
      pending--;
    }
    connections.release(reservation.limitKey);
  };

  const expire = (token: string) => {
    release(token);
    drop(token);
  };

  /**
   * graphql-sse keeps a reserved stream until the stream opens and then closes; it has no
   * way to drop one that never opened. Opening it with a request already aborted is that
   * way: the stream is disposed at once, and its token deleted.
   */
  const drop = (token: string) => {
    if (!sse?.onRequest || !fetchAPI) return;
    const aborted = new AbortController();
    aborted.abort();
    const request = new fetchAPI.Request(`http://localhost${options.endpoint}`, {
      headers: { accept: 'text/event-stream', [TOKEN_HEADER_KEY]: token },
      signal: aborted.signal,
    });
    dropping.add(request);
    const onRequest = sse.onRequest as (payload: unknown) => unknown;
    Promise.resolve(
      onRequest({
        request,
        serverContext: {},
        fetchAPI,
        url: new URL(request.url),
        endResponse: (response: Response) => void response.body?.cancel().catch(() => {}),
        requestHandler: () => {},
        setRequestHandler: () => {},
      }),
    ).catch(onError);
  };

  const authenticate: Reservations['authenticate'] = async (req) => {
    const token = req.headers.get(TOKEN_HEADER_KEY) || new URL(req.url, 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY);
    if (dropping.has(req.raw)) return token;
    let userId: string, limitKey: string;
    try {
      const address = responses.get(req.raw)?.req?.socket.remoteAddress;
      ({ userId, limitKey } = await options.authenticate(req.headers.get('authorization') ?? null, address));
    } catch (error) {
      if (error instanceof SwitchboardError && error.code === 'UNAUTHENTICATED') return answer(401, error.code, error.message);
      if (error instanceof SwitchboardError && error.code === 'SERVICE_UNAVAILABLE') return answer(503, error.code, error.message);
      throw error;
    }
    const accept = req.headers.get('accept') || '*/*';
    if (req.method === 'PUT') {
      // graphql-sse would refuse this after a reservation was counted; refuse it first.
      if (accept !== '*/*' && accept !== 'text/plain') return [null, { status: 406, statusText: 'Not Acceptable' }];
      if (pending >= maxPending) return answer(429, 'RATE_LIMITED', 'Too many stream reservations at once; try again later.');
      if (!connections.acquire(limitKey)) {
        return answer(429, 'RATE_LIMITED', `At most ${connections.max} connections per user.`);
      }
      // Always a token of the server's making: a client cannot pick one (or someone else's).
      const reserved = randomUUID();
      reservations.set(reserved, { userId, limitKey, expiry: clock.setTimeout(() => expire(reserved), ttlMs) });
      pending++;
      return reserved;
    }
    // No token: graphql-sse's distinct connections mode (or its own 404).
    if (!token) return null;
    const reservation = reservations.get(token);
    if (!reservation || reservation.userId !== userId) return answer(404, 'NOT_FOUND', 'Stream not found');
    if (accept === 'text/event-stream' && reservation.expiry !== null) {
      // The stream opens: it no longer expires, and counts until it closes.
      clock.clearTimeout(reservation.expiry);
      reservation.expiry = null;
      pending--;
      const res = responses.get(req.raw);
      if (res) res.once('close', () => release(token));
      else req.raw.signal.addEventListener('abort', () => release(token), { once: true });
    }
    return token;
  };

  const wrap = (plugin: Plugin): Plugin => {
    sse = plugin;
    return {
      ...plugin,
      onYogaInit(payload) {
        fetchAPI = payload.yoga.fetchAPI as never;
        return plugin.onYogaInit?.(payload);
      },
      async onRequest(payload) {
        const path = payload.request.url.split('?')[0] ?? '';
        if (!path.endsWith(options.endpoint) || !plugin.onRequest) return plugin.onRequest?.(payload);
        let { request } = payload;
        if (request.method === 'POST' && request.body != null && !request.headers.has('content-length')) {
          const body = await readBounded(request.body as unknown as AsyncIterable<Uint8Array>, options.maxRequestBytes);
          if (body === null) {
            const [text, init] = answer(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${options.maxRequestBytes} bytes.`);
            return payload.endResponse(new payload.fetchAPI.Response(text as string, init));
          }
          request = new payload.fetchAPI.Request(request.url, { method: request.method, headers: request.headers, body, signal: request.signal });
        }
        const res = (payload.serverContext as { res?: ServerResponse } | undefined)?.res;
        if (res) responses.set(request, res);
        return plugin.onRequest({ ...payload, request });
      },
    };
  };

  return {
    authenticate,
    wrap,
    get size() {
      return reservations.size;
    },
    dispose() {
      for (const reservation of reservations.values()) if (reservation.expiry !== null) clock.clearTimeout(reservation.expiry);
    },
  };
}

function answer(status: number, code: string, message: string): Answer {
  return [
    JSON.stringify({ errors: [{ message, extensions: { code } }] }),
    { status, statusText: STATUS_TEXT[status] ?? '', headers: { 'content-type': 'application/json; charset=utf-8' } },
  ];
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not Found',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};
