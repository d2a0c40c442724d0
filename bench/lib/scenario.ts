import type { ScenarioResult } from './results.js';

export interface ScenarioContext {
  /** `--quick`: smaller counts and one repetition, for trying the harness while developing. */
  quick: boolean;
  /** `--repeats N`: overrides the scenario's repetitions. */
  repeats?: number;
  /** `--stores memory,sqlite`: the stores to compare (scenarios that have a choice). */
  stores?: string[];
  /** `--servers switchboard,naive-yoga,raw-ws`: Switchboard and/or the baselines (scenarios that have them). */
  servers?: string[];
  /** Progress lines go here (stderr), so stdout keeps only the tables. */
  log: (line: string) => void;
}

/** A benchmark scenario: `bench/run.ts` runs the ones asked for and writes what they return. */
export interface Scenario {
  name: string;
  description: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
