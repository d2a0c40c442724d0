import { type Clock, type TimerHandle } from '../../src/clock.js';

/** The system clock, except that a test can move it forward at once. */
export interface JumpClock extends Clock {
  /**
   * Moves time forward by `ms` without waiting: `now()` is that much later from here on, and
   * every timer is due that much sooner (those now due fire on the next turn). For what real
   * time must still drive (the demo agent's pace, sockets) while a token's expiry comes at once.
   */
  jump(ms: number): void;
}

export function createJumpClock(): JumpClock {
  let offset = 0;
  const timers = new Map<TimerHandle, { due: number; fn: () => void; real?: NodeJS.Timeout }>();
  /** (Re)arms a real timer for what is left of the delay. */
  const arm = (handle: TimerHandle) => {
    const timer = timers.get(handle)!;
    if (timer.real) clearTimeout(timer.real);
    timer.real = setTimeout(() => {
      timers.delete(handle);
      timer.fn();
    }, Math.max(0, timer.due - clock.now()));
    timer.real.unref();
  };
  const clock: JumpClock = {
    now: () => Date.now() + offset,
    setTimeout(fn, ms) {
      const handle: TimerHandle = {};
      timers.set(handle, { due: clock.now() + Math.max(0, ms), fn });
      arm(handle);
      return handle;
    },
    clearTimeout(handle) {
      clearTimeout(timers.get(handle)?.real);
      timers.delete(handle);
    },
    jump(ms) {
      offset += ms;
      for (const handle of timers.keys()) arm(handle);
    },
  };
  return clock;
}
