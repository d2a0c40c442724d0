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
