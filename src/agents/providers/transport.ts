/**
 * How a provider's POST goes out and its response comes back, in the one shape the driver
 * (http.ts) reads: a status, headers and the body piece by piece. By default straight over
 * node:http / node:https; with a `fetch` option (a proxying client, a test's redirect) over
 * that `fetch`.
 *
 * Why not `fetch` by default: a paced stream arrives one token per read, and every read
 * through fetch's body (a WHATWG byte stream fed by undici) costs several promises, a buffer
 * transfer and a view per chunk. Measured on the `agents` bench's stream (one SSE event per
 * read, decoder and translator alike), reading cost ~12 µs per token through fetch and
 * ~8.5 µs through node:http: the larger part of what a provider stream adds to a turn.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TransportRequest {
  url: string;
  headers: Record<string, string>;
  /** The JSON text sent. */
  body: string;
  /** Aborting it closes the connection at once, whatever is pending. */
  signal: AbortSignal;
}

/** One response, whichever client made it. */
export interface TransportResponse {
  status: number;
  headers: Headers;
  /** False for a response without a body at all (fetch's `body: null`). */
  hasBody: boolean;
  /** The next piece of the body, or null at its end. Rejects when the connection fails or is aborted. */
  read(): Promise<Uint8Array | null>;
  /** Stops reading before the end: closes the connection. */
  cancel(): Promise<void>;
}

/** Sends the POST; resolves with the response once its headers arrived. Never follows a redirect. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/** Pieces held unread before the socket is paused (the consumer is behind). */
const MAX_QUEUED = 64;

/** node:http or node:https by the URL's scheme; the global agents (keep-alive) pool connections. */
export const nodeTransport: Transport = (request) =>
  new Promise((resolve, reject) => {
    let req: ClientRequest;
    try {
      const url = new URL(request.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`unsupported URL scheme ${url.protocol}`);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      req = send(url, {
        method: 'POST',
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        signal: request.signal,
      });
    } catch (error) {
      reject(error);
      return;
    }
    // Before the response: a refused connection, a reset, an abort. After it, the body reports.
    req.on('error', reject);
    req.once('response', (res) => {
      req.off('error', reject);
      try {
        resolve(new NodeResponse(req, res));
      } catch (error) {
        // Headers that a WHATWG Headers refuses: a failed request, not a crash.
        res.destroy();
        req.destroy();
        reject(error);
      }
    });
    req.end(request.body);
  });

/**
 * A response body read by 'data' events into a queue that `read()` takes from: one promise
 * per piece only when the reader waits, none when pieces are already there.
 */
class NodeResponse implements TransportResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly hasBody = true;
  #req: ClientRequest;
  #res: IncomingMessage;
  #queue: Uint8Array[] = [];
  #head = 0;
  #ended = false;
  #error: unknown;
  #failed = false;
  #waiter: { resolve: (chunk: Uint8Array | null) => void; reject: (error: unknown) => void } | undefined;

  constructor(req: ClientRequest, res: IncomingMessage) {
    this.#req = req;
    this.#res = res;
    this.status = res.statusCode ?? 0;
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, value);
    }
    this.headers = headers;
    res.on('data', (chunk: Buffer) => {
      const waiter = this.#waiter;
      if (waiter) {
        this.#waiter = undefined;
        waiter.resolve(chunk);
        return;
      }
      this.#queue.push(chunk);
      if (this.#queue.length - this.#head >= MAX_QUEUED) res.pause();
    });
    res.once('end', () => {
      this.#ended = true;
      this.#settle();
    });
    res.once('error', (error) => this.#fail(error));
    // Closed without 'end' and without an error of its own (the socket went away mid-body).
    res.once('close', () => {
      if (!this.#ended) this.#fail(lostConnection());
    });
    req.on('error', (error) => this.#fail(error));
  }

  read(): Promise<Uint8Array | null> {
    if (this.#head < this.#queue.length) {
      const chunk = this.#queue[this.#head]!;
      this.#queue[this.#head++] = EMPTY;
      if (this.#head === this.#queue.length) {
        this.#queue.length = 0;
        this.#head = 0;
        if (this.#res.isPaused()) this.#res.resume();
      }
      return Promise.resolve(chunk);
    }
    if (this.#failed) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  cancel(): Promise<void> {
    // Once the body ended the socket went back to the pool, where it is no longer ours.
    if (this.#ended || this.#failed) return Promise.resolve();
    this.#ended = true;
    this.#res.destroy();
    this.#req.destroy();
    return Promise.resolve();
  }

  #fail(error: unknown) {
    if (this.#failed || this.#ended) return;
    this.#failed = true;
    this.#error = error;
    this.#settle();
  }

  /** Wakes a waiting reader with the end or the failure (queued pieces were taken first). */
  #settle() {
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = undefined;
    if (this.#failed) waiter.reject(this.#error);
    else waiter.resolve(null);
  }
}

const EMPTY = new Uint8Array(0);

/** What undici reports for a body cut short, with the code the driver classifies. */
function lostConnection(): Error {
  return Object.assign(new Error('the connection closed before the response ended'), { code: 'ECONNRESET' });
}

/** Over a `fetch`: redirects answered as they are (`redirect: 'manual'`), the body through its reader. */
export function fetchTransport(fetch: typeof globalThis.fetch): Transport {
  return async (request) => {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal: request.signal,
      redirect: 'manual',
    });
    const reader = response.body?.getReader();
    return {
      status: response.status,
      headers: response.headers,
      hasBody: reader !== undefined,
      read: async () => {
        if (!reader) return null;
        const chunk = await reader.read();
        return chunk.done ? null : chunk.value;
      },
      cancel: async () => {
        await reader?.cancel().catch(() => {});
      },
    };
  };
}
