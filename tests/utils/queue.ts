/**
 * A stream's values as an awaitable queue, so stream tests read top to bottom:
 * `await q.next()`, `await q.takeUntil(isComplete)`, `await q.nothingWithin(50)`.
 */
export interface AwaitableQueue<T> {
  push(value: T): void;
  /** Ends the queue; pending and later `next()` calls reject with `error`, or with "ended". */
  end(error?: unknown): void;
  readonly ended: boolean;
  /** Every value pushed so far, taken or not. */
  readonly all: readonly T[];
  /** The next value, waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<T>;
  /** Values up to and including the first that matches. */
  takeUntil(match: (value: T) => boolean, timeoutMs?: number): Promise<T[]>;
  /** Resolves if nothing arrives within `ms`; rejects with what arrived otherwise. */
  nothingWithin(ms: number): Promise<void>;
  /** Resolves when the queue ends normally, rejects when it ends with an error. */
  done(timeoutMs?: number): Promise<void>;
}

export class QueueEnded extends Error {
  constructor(readonly reason?: unknown) {
    super(`queue ended${reason ? `: ${reason instanceof Error ? reason.message : JSON.stringify(reason)}` : ''}`);
  }
}

export function createQueue<T>(): AwaitableQueue<T> {
  const items: T[] = [];
  const all: T[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  let endError: unknown;
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  const waitChange = (timeoutMs: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      waiters.push(done);
    });

  const queue: AwaitableQueue<T> = {
    push(value) {
      items.push(value);
      all.push(value);
      notify();
    },
    end(error) {
      ended = true;
      endError = error;
      notify();
    },
    get ended() {
      return ended;
    },
    all,
    async next(timeoutMs = 5000) {
      for (;;) {
        if (items.length > 0) return items.shift()!;
        if (ended) throw new QueueEnded(endError);
        await waitChange(timeoutMs, 'the next value');
      }
    },
    async takeUntil(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      const taken: T[] = [];
      for (;;) {
        const value = await queue.next(Math.max(1, deadline - Date.now()));
        taken.push(value);
        if (match(value)) return taken;
      }
    },
    async nothingWithin(ms) {
      if (items.length > 0) throw new Error(`unexpected: ${JSON.stringify(items[0])}`);
      await waitChange(ms, 'nothing').then(
        () => {
          if (items.length > 0) throw new Error(`unexpected: ${JSON.stringify(items[0])}`);
        },
        () => undefined,
      );
    },
    async done(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!ended) await waitChange(Math.max(1, deadline - Date.now()), 'the end');
      if (endError !== undefined) throw new QueueEnded(endError);
    },
  };
  return queue;
}
