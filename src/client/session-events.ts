import { print } from 'graphql';
import { SessionEventsSubscription } from './documents.js';
import type { SessionEventsTransport } from './transport.js';
import type { ClientEvent } from './view.js';

/** Timers as `sessionEvents` uses them; a manual clock in tests. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Why a session's events stopped for good. */
export class SessionEventsError extends Error {
  constructor(
    message: string,
    /** The GraphQL `extensions.code`: NOT_FOUND when the session was deleted (or is not the caller's). */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SessionEventsError';
  }
}

export interface SessionEventsOptions {
  /** Resume after this seq (the last one the caller has, e.g. a seeded view's `lastSeq`). @default 0 */
  after?: number;
  /** Called once per event, in seq order, never twice for a seq. */
  onEvent(event: ClientEvent): void;
  /**
   * Called once when the events stop for good: the session is gone (`code` NOT_FOUND: deleted
   * or not the caller's), or the server refused the request (BAD_USER_INPUT, UNAUTHENTICATED).
   * Dropped connections and completed subscriptions are not errors: they are resumed.
   */
  onError?(error: SessionEventsError): void;
  /** Called before each resubscription, with the `after` it will use (for logs and tests). */
  onResubscribe?(after: number, attempt: number): void;
  /** Stops everything, like `dispose()`. */
  signal?: AbortSignal;
  /**
   * Milliseconds to wait before resubscription number `attempt` (0 for the first after a
   * drop; reset once an event arrives). @default up to 250 ms for the first, then 1 s doubling
   * to 30 s, each with random jitter so clients do not return all at once
   */
  retryDelay?(attempt: number): number;
  /** @default the global setTimeout/clearTimeout */
  timers?: Timers;
}

export interface SessionEventsHandle {
  /** The highest seq handed to `onEvent` (or `after`). */
  readonly lastSeq: number;
  /** Stops: unsubscribes and cancels a pending resubscription. */
  dispose(): void;
}

/** Errors after which subscribing again cannot succeed. */
const terminalCodes = new Set(['NOT_FOUND', 'BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN']);

export function defaultRetryDelay(attempt: number): number {
  if (attempt === 0) return Math.random() * 250;
  return Math.min(30_000, 1000 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
}

const globalTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

const query = print(SessionEventsSubscription);

/**
 * Follows one session's events across dropped connections, server restarts and completed
 * subscriptions: each (re)subscription asks for `after: lastSeq`, the highest seq handled, so
 * nothing is missed and nothing is handed twice (events at or below it are dropped). Ends on
 * `dispose()`, `signal`, or an error that resubscribing cannot fix (a deleted session is
 * NOT_FOUND: the server completes its subscriptions and the next subscribe says so).
 *
 * @example
 * const events = sessionEvents(fromGraphqlWs(wsClient), id, { after: view.lastSeq, onEvent: (e) => (view = reduce(view, e)) });
 */
export function sessionEvents(transport: SessionEventsTransport, sessionId: string, options: SessionEventsOptions): SessionEventsHandle {
  const timers = options.timers ?? globalTimers;
  const retryDelay = options.retryDelay ?? defaultRetryDelay;
  let lastSeq = options.after ?? 0;
  let attempt = 0;
  let stopped = false;
  /** The live subscription's unsubscribe; null between subscriptions. */
  let current: (() => void) | null = null;
  let timer: unknown = null;

  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    current?.();
    current = null;
    unlistenDrop?.();
    options.signal?.removeEventListener('abort', stop);
  };

  const fail = (error: SessionEventsError) => {
    stop();
    options.onError?.(error);
  };

  /** The subscription ended without being over: schedule the next one. */
  const restart = () => {
    if (stopped) return;
    current?.();
    current = null;
    if (timer !== null) return;
    const delay = retryDelay(attempt);
    const n = attempt++;
    timer = timers.setTimeout(() => {
      timer = null;
      if (stopped) return;
      options.onResubscribe?.(lastSeq, n);
      subscribe();
    }, delay);
  };

  const subscribe = () => {
    // Each subscription gets its own sink; a late call from an abandoned one is ignored.
    let active = true;
    const end = (then: () => void) => {
      if (!active) return;
      active = false;
      then();
    };
    const unsubscribe = transport.subscribe(
      { query, variables: { sessionId, after: lastSeq } },
      {
        next: (result) => {
          if (!active) return;
          const errors = result.errors;
          if (errors?.length) return end(() => onErrors(errors));
          const event = (result.data as { sessionEvents?: ClientEvent } | null | undefined)?.sessionEvents;
          if (!event || event.seq <= lastSeq) return;
          lastSeq = event.seq;
          attempt = 0;
          options.onEvent(event);
        },
        error: (error) => end(() => (Array.isArray(error) ? onErrors(error) : restart())),
        complete: () => end(restart),
      },
    );
    current = () => {
      active = false;
      unsubscribe();
    };
    if (!active) current = null;
  };

  const onErrors = (errors: readonly unknown[]) => {
    const first = errors[0] as { message?: string; extensions?: { code?: unknown } } | undefined;
    const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : 'INTERNAL_SERVER_ERROR';
    if (terminalCodes.has(code)) fail(new SessionEventsError(first?.message ?? code, code, { cause: errors }));
    else restart();
  };

  // A drop while subscribed: resubscribe ourselves rather than let the client replay the
  // first variables. A drop between subscriptions concerns no subscription of ours.
  const unlistenDrop = transport.onDrop?.(() => {
    if (current) restart();
  });

  if (options.signal?.aborted) stopped = true;
  else {
    options.signal?.addEventListener('abort', stop);
    subscribe();
  }

  return {
    get lastSeq() {
      return lastSeq;
    },
    dispose: stop,
  };
}
