import type { Clock, TimerHandle } from '../clock.js';

/** Stands for the errors like `cause` that were held back during one window. */
export class RepeatedError extends Error {
  override name = 'RepeatedError';
  constructor(
    /** How many errors like `cause` were folded into this report. */
    readonly count: number,
    /** The window they were folded within. */
    readonly windowMs: number,
    cause: unknown,
  ) {
    super(`${describe(cause)} (repeated ${count} more ${count === 1 ? 'time' : 'times'} within ${windowMs} ms)`, { cause });
  }
}

/** An error sink that folds repeats; `flush()` reports what is held back now (on stop). */
export type FoldedSink = ((error: unknown) => void) & { flush(): void };

export interface FoldOptions {
  clock: Clock;
  /** An error is reported at most once per window; the repeats are counted. @default 1000 */
  windowMs?: number;
  /** Most distinct errors followed at once; past it, new ones are reported unfolded. @default 1000 */
  maxKeys?: number;
}

/**
 * Wraps an error sink so that the same error repeated is reported at most once a window:
 * the first at once, the repeats that follow within the window as one `RepeatedError`
 * carrying their count when the window ends. A client that sends 2,000 bad frames a second
 * then costs two log entries a second, not 2,000 stack traces. "The same" is the same
 * name, code and message; stacks differ between call sites and are not compared.
 */
export function foldRepeats(sink: (error: unknown) => void, options: FoldOptions): FoldedSink {
  const { clock } = options;
  const windowMs = options.windowMs ?? 1000;
  const maxKeys = options.maxKeys ?? 1000;
  const open = new Map<string, { repeats: number; last: unknown; timer: TimerHandle }>();
  const report = (error: unknown) => {
    try {
      sink(error);
    } catch {
      // A sink that throws must not break whoever reported the error.
    }
  };

  const end = (key: string) => {
    const ended = open.get(key)!;
    open.delete(key);
    if (ended.repeats > 0) report(new RepeatedError(ended.repeats, windowMs, ended.last));
  };
  const fold = (error: unknown) => {
    const key = keyOf(error);
    const window = open.get(key);
    if (window) {
      window.repeats++;
      window.last = error;
      return;
    }
    if (open.size >= maxKeys) return report(error);
    report(error);
    open.set(key, { repeats: 0, last: error, timer: clock.setTimeout(() => end(key), windowMs) });
  };
  return Object.assign(fold, {
    flush() {
      for (const [key, window] of open) {
        clock.clearTimeout(window.timer);
        end(key);
      }
    },
  });
}

function keyOf(error: unknown): string {
  if (!(error instanceof Error)) return `value:${String(error)}`;
  return `${error.name}\u0000${String((error as { code?: unknown }).code ?? '')}\u0000${error.message}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
