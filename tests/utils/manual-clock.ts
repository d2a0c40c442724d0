import type { Clock, TimerHandle } from '../../src/clock.js';

/** A clock that moves only when a test says so. */
export interface ManualClock extends Clock {
  /**
   * Moves time forward by `ms`, firing every timer that falls due, in time order (ties in the
   * order they were set), each with `now()` at its due time. Timers set by those callbacks
   * fire too if they fall due within the advance.
   */
  advance(ms: number): void;
  /**
   * Like `advance`, but after each timer lets promise continuations run (one macrotask turn),
   * so code that `await`s a timer and then sets the next one is driven through the whole span.
   */
  advanceAsync(ms: number): Promise<void>;
  /** How many timers are waiting. */
  pending(): number;
}

interface Timer {
  handle: TimerHandle;
  due: number;
  seq: number;
  fn: () => void;
}

/** Lets every queued microtask, and the macrotasks they queue in one turn, run. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createManualClock(start = 0): ManualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<TimerHandle, Timer>();

  const nextDue = (until: number): Timer | undefined => {
    let next: Timer | undefined;
    for (const timer of timers.values()) {
      if (timer.due > until) continue;
      if (!next || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq)) next = timer;
    }
    return next;
  };

  const fire = (timer: Timer) => {
    timers.delete(timer.handle);
    now = Math.max(now, timer.due);
    timer.fn();
  };

  return {
    now: () => now,
    setTimeout(fn, ms) {
      const handle: TimerHandle = {};
      // Like Node: a negative or NaN delay means "as soon as possible".
      const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
      timers.set(handle, { handle, due: now + delay, seq: seq++, fn });
      return handle;
    },
    clearTimeout(handle) {
      timers.delete(handle);
    },
    advance(ms) {
      const until = now + ms;
      for (let timer = nextDue(until); timer; timer = nextDue(until)) fire(timer);
      now = until;
    },
    async advanceAsync(ms) {
      const until = now + ms;
      await settle();
      for (let timer = nextDue(until); timer; timer = nextDue(until)) {
        fire(timer);
        await settle();
      }
      now = until;
      await settle();
    },
    pending: () => timers.size,
  };
}
