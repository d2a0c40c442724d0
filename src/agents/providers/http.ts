/**
 * The HTTP half both providers share: one streaming POST, its failures classified into
 * `ProviderError` kinds once, its body read as server-sent events and handed to a
 * provider's translator. A translator only turns events into parts; it never sees a socket.
 */
import type { Clock, TimerHandle } from '../../clock.js';
import { SseDecoder, type SseEvent } from './sse.js';
import type { Transport, TransportResponse } from './transport.js';
import { ProviderError, type ModelPart, type ProviderFailureKind } from './types.js';

/** Turns one provider's event stream into parts. Pure and synchronous: the driver does the I/O. */
export interface WireTranslator {
  /** The parts one event completes. Throws `WireFault` for an error event or malformed data. */
  event(event: SseEvent): ModelPart[];
  /** True once the last part (`finish`) was returned: the driver stops reading. */
  readonly finished: boolean;
  /** The body ended before `finished`: the remaining parts, or a `WireFault` if that is an error. */
  end(): ModelPart[];
}

/** A fault found in the stream itself (an `error` event, malformed data, an early end). */
export class WireFault extends Error {
  override name = 'WireFault';
  constructor(
    message: string,
    readonly kind: ProviderFailureKind = 'error',
  ) {
    super(message);
  }
}

export interface StreamRequest {
  /** Sends the POST (transport.ts: node:http by default, or a given `fetch`). */
  transport: Transport;
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON. */
  body: unknown;
  /** Aborting it closes the connection at once; the stream then throws the signal's reason. */
  signal: AbortSignal;
  /** Names the provider at the start of every error message (e.g. `Anthropic API`). */
  label: string;
  /** Strings cut out of every error message, whatever the provider echoed: the API key. */
  secrets: readonly string[];
  /**
   * Longest silence, waiting for the response or between two reads of its body, before the
   * connection is closed and the request fails as `unavailable` (retried only if nothing
   * streamed yet). Anthropic's pings and any bytes at all count as activity.
   */
  idleTimeoutMs: number;
  /** Times `idleTimeoutMs`. */
  clock: Clock;
}

/** How long a provider may stay silent before its request fails. @see StreamRequest.idleTimeoutMs */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

/** Most bytes of an error body read for its message; the rest is left unread. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Longest provider message quoted in an error. */
const MAX_QUOTED_CHARS = 500;

/**
 * Sends the request and yields the translator's parts as the events arrive. Every failure
 * is a `ProviderError` with `streamed` telling whether a part was already yielded, except
 * an abort by `request.signal`, which throws the signal's reason.
 */
export async function* streamParts(request: StreamRequest, translator: WireTranslator): AsyncGenerator<ModelPart, void, undefined> {
  // The request's own controller: aborted by the caller's signal, or by the idle watch.
  const controller = new AbortController();
  const forward = () => controller.abort(request.signal.reason);
  if (request.signal.aborted) forward();
  else request.signal.addEventListener('abort', forward, { once: true });
  const idle = watchIdle(request.clock, request.idleTimeoutMs, () => controller.abort(new Error('idle')));
  const { signal } = controller;
  const fail = (error: unknown, streamed: boolean) => failure(request, error, streamed, idle.fired);
  try {
    let response: TransportResponse;
    try {
      // A redirect would carry the key (x-api-key survives even a cross-origin one) to
      // wherever it points; the APIs never redirect a POST, so no transport follows one and a
      // 3xx is answered as an error.
      response = await request.transport({ url: request.url, headers: request.headers, body: JSON.stringify(request.body), signal });
    } catch (error) {
      throw fail(error, false);
    }
    idle.touch();
    if (response.status < 200 || response.status > 299) throw await httpFailure(request, response);
    if (!response.hasBody) throw fail(new WireFault('answered with an empty body'), false);
    if (/json/i.test(response.headers.get('content-type') ?? '')) {
      // A gateway that answers 200 with a JSON error instead of the stream it was asked for.
      const quoted = errorBodyMessage(await readBounded(response));
      throw fail(new WireFault(`answered JSON instead of an event stream${quoted ? `: ${quoted}` : ''}`), false);
    }

    // One loop from the body's pieces to the parts, with no generator between them: each level
    // of async iteration costs every piece (one token, on a paced stream) promises and a hop.
    const sse = new SseDecoder();
    let streamed = false;
    let done = false;
    try {
      for (;;) {
        const chunk = await response.read();
        if (chunk === null) break;
        idle.touch();
        for (const event of sse.feed(chunk)) {
          for (const part of translator.event(event)) {
            streamed = true;
            yield part;
          }
          if (translator.finished) return;
        }
      }
      done = true;
      for (const event of sse.end()) {
        for (const part of translator.event(event)) {
          streamed = true;
          yield part;
        }
        if (translator.finished) return;
      }
      for (const part of translator.end()) {
        streamed = true;
        yield part;
      }
    } catch (error) {
      throw fail(error, streamed);
    } finally {
      // Stopped before the body's end (finished, a consumer's return(), a failure): cancelling
      // the body closes the connection, as leaving a for-await over it did.
      if (!done) await response.cancel().catch(() => {});
    }
  } finally {
    idle.stop();
    request.signal.removeEventListener('abort', forward);
  }
}

interface IdleWatch {
  /** Something arrived: the silence starts again. */
  touch(): void;
  stop(): void;
  /** True once the silence lasted the whole timeout. */
  readonly fired: boolean;
}

/**
 * Calls `onIdle` once nothing was touched for `timeoutMs`. One timer at a time, re-armed for
 * the remainder when it fires early, so a fast stream costs a clock read per chunk, not a
 * timer.
 */
function watchIdle(clock: Clock, timeoutMs: number, onIdle: () => void): IdleWatch {
  let last = clock.now();
  let fired = false;
  let handle: TimerHandle | undefined;
  const check = () => {
    const quiet = clock.now() - last;
    if (quiet < timeoutMs) {
      handle = clock.setTimeout(check, timeoutMs - quiet);
      return;
    }
    handle = undefined;
    fired = true;
    onIdle();
  };
  handle = clock.setTimeout(check, timeoutMs);
  return {
    touch: () => void (last = clock.now()),
    stop: () => {
      if (handle !== undefined) clock.clearTimeout(handle);
      handle = undefined;
    },
    get fired() {
      return fired;
    },
  };
}

/** HTTP status to failure kind: 401/403 auth, 429 rate_limited, 5xx (529 included) unavailable. */
export function kindOfStatus(status: number): ProviderFailureKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limited';
  if (status >= 500 && status <= 599) return 'unavailable';
  return 'error';
}

/**
 * How long the provider asked us to wait: `retry-after-ms` (milliseconds, OpenAI and
 * Anthropic both send it) or `retry-after` (seconds, or an HTTP date).
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms) {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers.get('retry-after')?.trim();
  if (!after) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** `text` with every occurrence of each secret replaced. */
export function redact(text: string, secrets: readonly string[]): string {
  for (const secret of secrets) if (secret) text = text.split(secret).join('[redacted]');
  return text;
}

/**
 * The message of a JSON error body, as the providers and the servers that imitate them
 * write it: `{error: {type, message}}` (Anthropic, OpenAI, vLLM), `{error: "…"}` (Ollama),
 * `{message}` or `{detail}` (FastAPI-based servers). Undefined for anything else.
 */
export function errorBodyMessage(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(body)) return undefined;
  const { error } = body;
  let message: string | undefined;
  let type: string | undefined;
  if (typeof error === 'string') message = error;
  else if (isObject(error)) {
    if (typeof error.message === 'string') message = error.message;
    if (typeof error.type === 'string') type = error.type;
  }
  message ??= typeof body.message === 'string' ? body.message : typeof body.detail === 'string' ? body.detail : undefined;
  if (message === undefined) return undefined;
  if (message.length > MAX_QUOTED_CHARS) message = `${message.slice(0, MAX_QUOTED_CHARS)}…`;
  return type ? `${type}: ${message}` : message;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function httpFailure(request: StreamRequest, response: TransportResponse): Promise<ProviderError> {
  const { status } = response;
  const kind = kindOfStatus(status);
  const quoted = errorBodyMessage(await readBounded(response).catch(() => ''));
  if (request.signal.aborted) throw request.signal.reason;
  let message = `${request.label} answered HTTP ${status}${quoted ? `: ${quoted}` : ''}`;
  if (kind === 'auth') message += ' (check the API key)';
  return new ProviderError(redact(message, request.secrets), kind, {
    status,
    retryAfterMs: retryAfterMs(response.headers),
    streamed: false,
  });
}

/** The body as text, at most MAX_ERROR_BODY_BYTES of it; the connection is released either way. */
async function readBounded(response: TransportResponse): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  let ended = false;
  try {
    for (;;) {
      const chunk = await response.read();
      if (chunk === null) {
        ended = true;
        break;
      }
      bytes += chunk.byteLength;
      text += decoder.decode(chunk, { stream: true });
      if (bytes >= MAX_ERROR_BODY_BYTES) break;
    }
  } finally {
    if (!ended) void response.cancel().catch(() => {});
  }
  return text + decoder.decode();
}

/** Network error codes that mean "the server is not there or went away": worth a retry. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The first `code` along an error's cause chain (undici wraps the socket's error). */
function networkCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; isObject(e) && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

function failure(request: StreamRequest, error: unknown, streamed: boolean, idle = false): unknown {
  // A cancel is not a provider failure: the caller gets back the reason it aborted with.
  if (request.signal.aborted) return request.signal.reason;
  if (error instanceof ProviderError) return error;
  const say = (message: string) => redact(`${request.label}: ${message}`, request.secrets);
  if (idle) {
    const seconds = Math.round(request.idleTimeoutMs / 100) / 10;
    return new ProviderError(say(`${hostOf(request.url)} sent nothing for ${seconds} s`), 'unavailable', { streamed, cause: error });
  }
  if (error instanceof WireFault) return new ProviderError(say(error.message), error.kind, { streamed });
  const code = networkCode(error);
  // undici reports a refused or reset connection as a TypeError ("fetch failed" before the
  // response, "terminated" while reading it) whose cause carries the socket's code.
  const lost = (code !== undefined && UNAVAILABLE_CODES.has(code)) || (error instanceof TypeError && /^(fetch failed|terminated)$/.test(error.message));
  const detail = error instanceof Error ? error.message : String(error);
  return new ProviderError(say(lost ? `connection to ${hostOf(request.url)} failed (${code ?? detail})` : detail), lost ? 'unavailable' : 'error', {
    streamed,
    cause: error,
  });
}

/** host:port of a URL, never its user info or path. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the server';
  }
}
