/**
 * Fast (issue 6, "fan-out with a fast model"): 10 sessions × 100 graphql-ws subscribers, every
 * session streaming `/stream 1000 1000` (1000 tokens paced at 1000 tokens/s, a fast model) at
 * once; Switchboard (memory store, SQLite as a second row) and the naive-yoga and raw-ws
 * baselines, all streaming the same turn (`--servers`, `--stores` as in `fanout`). The servers,
 * load generators and alternating rounds are `fanout`'s (`runTargets`); the table and targets
 * are `bench/lib/wide-fanout.ts`'s.
 *
 * Issue 6 targets, per Switchboard row: lag p99 behind the token schedule ≤ 100 ms; delivered
 * tokens/s ≥ 20× naive-yoga's in the same run; server CPU per WebSocket message ≤ 1.5× raw-ws's.
 */
import { defaultFanoutOptions, fanoutOptions, type FanoutOptions } from './fanout.js';
import type { Scenario } from './lib/scenario.js';
import { runWideFanout, type WideFanoutTargets } from './lib/wide-fanout.js';

export const defaultFastOptions: FanoutOptions = {
  ...defaultFanoutOptions,
  name: 'fast',
  sessions: 10,
  subscribersPerSession: 100,
  tokens: 1000,
  rate: 1000,
  // The same turn for every row: a paced turn is a rate, not a volume to keep short.
  baselineTokens: 1000,
  warmupTokens: 20,
  // The server's own store configurations; `fanout` also compares SQLite on the event loop's thread.
  stores: ['memory', 'sqlite'],
  repeats: 3,
  warmupRounds: 0,
  // A baseline 1000 subscribers × 1000 messages behind: give it time to finish (and be measured).
  roundTimeoutMs: 400_000,
};

const quickFastOptions: FanoutOptions = { ...defaultFastOptions, sessions: 3, subscribersPerSession: 10, tokens: 200, baselineTokens: 200, repeats: 1 };

export const fastTargets: WideFanoutTargets = { maxLagP99Ms: 100, minNaiveRatio: 20, maxRawCpuPerMessageRatio: 1.5 };

export const fastScenario: Scenario = {
  name: 'fast',
  description: '10 sessions × 100 subscribers, /stream 1000 1000 (a fast model) everywhere; lag, latency, CPU per message; Switchboard vs naive-yoga and raw-ws',
  run: (ctx) =>
    runWideFanout(ctx, {
      name: 'fast',
      title: 'Fast model fan-out',
      opts: fanoutOptions(ctx, defaultFastOptions, quickFastOptions),
      targets: fastTargets,
    }),
};
