/**
 * A fake model provider: a real HTTP server on 127.0.0.1 that answers `POST /v1/messages`
 * (Anthropic) and `POST …/chat/completions` (OpenAI-compatible) with what each test scripts,
 * byte for byte, and records every request and whether its client hung up.
 *
 * It imports nothing from vitest, so a benchmark can run it in a process of its own.
 *
 * @example
 * const fake = await startFakeProvider();
 * fake.anthropic.enqueue(anthropicStream(anthropicText('Hello')));
 * const provider = createAnthropicProvider({ apiKey: 'k', baseUrl: fake.anthropicBaseUrl });
 * const request = await fake.nextRequest();
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createQueue } from '../utils/queue.js';

/** A point in a scripted stream where the server waits until the test opens it. */
export interface Gate {
  readonly kind: 'gate';
  /** Lets the stream go on. */
  open(): void;
  /** Resolves when the server has written everything before the gate and waits at it. */
  readonly reached: Promise<void>;
}

/**
 * One step of a stream: bytes to write (each step is one write), a pause, a gate, a point
 * in time, or a function.
 *
 * - `{ delayMs }` waits that long after the previous step.
 * - `{ atMs }` waits until that many ms after the stream began (its headers went out), never
 *   less; a step already due goes on at once. An absolute schedule, as a model's tokens come:
 *   a late wake delays the writes after it but does not slow the pace (a benchmark's paced
 *   stream).
 * - A function is called when the stream reaches it, between writes: e.g. to note when the
 *   next write goes out.
 */
export type Step = string | Uint8Array | { delayMs: number } | { atMs: number } | Gate | (() => void);

export type Script =
  /**
   * HTTP 200 and an event stream. `end` says how it ends once the steps are written:
   * `close` (default) ends the response cleanly, `reset` resets the connection (TCP RST),
   * `hang` keeps it open, writing nothing, until the client goes.
   */
  | { type: 'stream'; steps: Step[]; headers?: Record<string, string>; end?: 'close' | 'reset' | 'hang' }
  /** An HTTP error: `body` is sent as JSON when it is not a string. */
  | { type: 'error'; status: number; body: unknown; headers?: Record<string, string> }
  /** The connection is reset before any response. */
  | { type: 'reset' }
  /** The request is read and never answered. */
  | { type: 'hang' };

export type Endpoint = 'anthropic' | 'openai';

export interface RecordedRequest {
  endpoint: Endpoint;
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON; undefined when it was not JSON. */
  body: unknown;
  rawBody: string;
  /** True once the client closed the connection before the response ended. */
  readonly hungUp: boolean;
  /** Resolves with true when the client hung up before the response ended, false when it ended. */
  readonly closed: Promise<boolean>;
}

export interface EndpointScript {
  /** Queues answers, taken one per request in order. */
  enqueue(...scripts: Script[]): void;
  /**
   * Answers requests when the queue is empty (a benchmark's endless stream). Without one, an
   * unscripted request gets HTTP 500 with a body saying so.
   */
  fallback(script: Script | ((request: RecordedRequest) => Script) | undefined): void;
}

export interface FakeProvider {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** What `ANTHROPIC_BASE_URL` would be: the origin. */
  anthropicBaseUrl: string;
  /** What `OPENAI_BASE_URL` would be: the origin with `/v1`. */
  openaiBaseUrl: string;
  anthropic: EndpointScript;
  openai: EndpointScript;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** The next request not yet taken (in arrival order), waiting up to `timeoutMs`. */
  nextRequest(timeoutMs?: number): Promise<RecordedRequest>;
  /** A new gate for a scripted stream. */
  gate(): Gate;
  close(): Promise<void>;
}

/** Headers the real APIs send with a stream (request ids are made up per response). */
const STREAM_HEADERS: Record<Endpoint, () => Record<string, string>> = {
  anthropic: () => ({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': `req_fake${randomId()}`,
    'anthropic-organization-id': '00000000-0000-0000-0000-000000000000',
  }),
  openai: () => ({
    'content-type': 'text/event-stream; charset=utf-8',
    'x-request-id': `req_fake${randomId()}`,
    'openai-processing-ms': '42',
    'openai-version': '2020-10-01',
  }),
};

let counter = 0;
const randomId = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

export async function startFakeProvider(): Promise<FakeProvider> {
  const queues: Record<Endpoint, Script[]> = { anthropic: [], openai: [] };
  const fallbacks: Record<Endpoint, Script | ((request: RecordedRequest) => Script) | undefined> = {
    anthropic: undefined,
    openai: undefined,
  };
  const requests: RecordedRequest[] = [];
  const arrivals = createQueue<RecordedRequest>();
  const sockets = new Set<Socket>();
  const waiting = new Set<() => void>();

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const rawBody = await readBody(req);
    const path = req.url ?? '/';
    const pathname = path.split('?')[0]!;
    const endpoint: Endpoint | undefined =
      pathname === '/v1/messages' ? 'anthropic' : pathname.endsWith('/chat/completions') ? 'openai' : undefined;
    if (req.method !== 'POST' || !endpoint) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `fake provider: no ${req.method} ${pathname}` } }));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    let hungUp = false;
    const closed = new Promise<boolean>((resolve) => {
      res.on('close', () => {
        hungUp = !res.writableFinished;
        resolve(hungUp);
      });
    });
    const recorded: RecordedRequest = {
      endpoint,
      method: req.method,
      path,
      headers: req.headers,
      body,
      rawBody,
      get hungUp() {
        return hungUp;
      },
      closed,
    };
    requests.push(recorded);
    arrivals.push(recorded);

    const fallback = fallbacks[endpoint];
    const script: Script =
      queues[endpoint].shift() ??
      (typeof fallback === 'function' ? fallback(recorded) : fallback) ?? {
        type: 'error',
        status: 500,
        body: { error: { type: 'fake_provider_error', message: `fake provider: no response scripted for ${endpoint}` } },
      };
    await respond(endpoint, script, req, res);
  }

  async function respond(endpoint: Endpoint, script: Script, req: IncomingMessage, res: ServerResponse) {
    switch (script.type) {
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'hang':
        return;
      case 'error': {
        const text = typeof script.body === 'string' ? script.body : JSON.stringify(script.body);
        res.writeHead(script.status, {
          'content-type': 'application/json',
          ...(endpoint === 'anthropic' ? { 'request-id': `req_fake${randomId()}` } : { 'x-request-id': `req_fake${randomId()}` }),
          ...script.headers,
        });
        res.end(text);
        return;
      }
      case 'stream': {
        res.writeHead(200, { ...STREAM_HEADERS[endpoint](), ...script.headers });
        res.flushHeaders();
        const gone = new Promise<void>((resolve) => res.on('close', resolve));
        const began = performance.now();
        const steps = script.steps;
        const end = script.end ?? 'close';
        for (let i = 0; i < steps.length; i++) {
          if (res.destroyed) return;
          const step = steps[i]!;
          const last = i === steps.length - 1;
          if (typeof step === 'string' || step instanceof Uint8Array) {
            // The last bytes and the end go out together, so a client that stops reading at
            // its final event is never taken for one that hung up.
            if (last && end === 'close') {
              res.end(step);
              return;
            }
            await new Promise<void>((resolve) => res.write(step, () => resolve()));
            // One turn of the event loop per write, so a client in this process reads each
            // write on its own instead of all of them coalesced in the socket.
            await new Promise((resolve) => setImmediate(resolve));
          } else if (typeof step === 'function') {
            step();
          } else if ('delayMs' in step) {
            await Promise.race([new Promise((resolve) => setTimeout(resolve, step.delayMs)), gone]);
          } else if ('atMs' in step) {
            // A timer may fire a fraction of a millisecond early: wait again until it is due.
            for (let wait = began + step.atMs - performance.now(); wait > 0 && !res.destroyed; wait = began + step.atMs - performance.now()) {
              await Promise.race([new Promise((resolve) => setTimeout(resolve, Math.ceil(wait))), gone]);
            }
          } else {
            await Promise.race([(step as GateImpl).wait(), gone]);
          }
        }
        if (res.destroyed) return;
        if (end === 'close') res.end();
        else if (end === 'reset') req.socket.resetAndDestroy();
        return;
      }
    }
  }

  interface GateImpl extends Gate {
    wait(): Promise<void>;
  }

  const gate = (): Gate => {
    let open!: () => void;
    let reached!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const release = () => open();
    waiting.add(release);
    const g: GateImpl = {
      kind: 'gate',
      open: () => {
        waiting.delete(release);
        open();
      },
      reached: reachedPromise,
      wait: () => {
        reached();
        return opened;
      },
    };
    return g;
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;

  const endpointScript = (endpoint: Endpoint): EndpointScript => ({
    enqueue: (...scripts) => void queues[endpoint].push(...scripts),
    fallback: (script) => void (fallbacks[endpoint] = script),
  });

  return {
    origin,
    anthropicBaseUrl: origin,
    openaiBaseUrl: `${origin}/v1`,
    anthropic: endpointScript('anthropic'),
    openai: endpointScript('openai'),
    requests,
    nextRequest: (timeoutMs = 5000) => arrivals.next(timeoutMs),
    gate,
    async close() {
      for (const release of waiting) release();
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
