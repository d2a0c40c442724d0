/**
 * Warm-up rounds, then counted rounds, alternating the targets within each round so that
 * whatever else the machine is doing weighs on all of them alike. Returns the counted runs
 * in the order they ran.
 */
export async function alternateRounds<Target, Run>(
  targets: readonly Target[],
  options: {
    warmupRounds: number;
    repeats: number;
    round: (target: Target, index: number) => Promise<Run>;
    /** One log line per round; `index` is negative for warm-up rounds. */
    log: (target: Target, run: Run, index: number) => void;
  },
): Promise<Run[]> {
  for (let r = 0; r < options.warmupRounds; r++) {
    for (const target of targets) options.log(target, await options.round(target, -1 - r), -1 - r);
  }
  const runs: Run[] = [];
  for (let r = 0; r < options.repeats; r++) {
    for (const target of targets) {
      const run = await options.round(target, r);
      options.log(target, run, r);
      runs.push(run);
    }
  }
  return runs;
}

/** A row's failed round: its index (negative for a warm-up round) and its error. */
export interface RoundFailure {
  round: number;
  error: string;
}

/**
 * `round` and `log` for `alternateRounds` where a failed round fails only its row: the row's
 * first error is recorded in `failures` (under `key(target)`) and its round answered with
 * null, its later rounds are skipped (its load generator may be gone), and `logFailure` is
 * called once, for the round that failed. The other rows go on.
 */
export function skipAfterFailure<Target, Key, Run>(options: {
  failures: Map<Key, RoundFailure>;
  key: (target: Target) => Key;
  round: (target: Target, index: number) => Promise<Run>;
  /** A round that ran. */
  log: (target: Target, run: Run, index: number) => void;
  logFailure: (target: Target, failure: RoundFailure) => void;
}): { round: (target: Target, index: number) => Promise<Run | null>; log: (target: Target, run: Run | null, index: number) => void } {
  const { failures, key } = options;
  return {
    round: async (target, index) => {
      if (failures.has(key(target))) return null;
      try {
        return await options.round(target, index);
      } catch (error) {
        failures.set(key(target), { round: index, error: error instanceof Error ? error.message : String(error) });
        return null;
      }
    },
    log: (target, run, index) => {
      if (run !== null) return options.log(target, run, index);
      const failure = failures.get(key(target));
      if (failure?.round === index) options.logFailure(target, failure);
    },
  };
}
