/**
 * Burst: 10 sessions × 100 graphql-ws subscribers, every session streaming `/stream 2000` (2000
 * tokens as fast as the agent can) at once; Switchboard (memory, SQLite) and the naive-yoga and
 * raw-ws baselines, all streaming the same turn (`--servers`, `--stores` as in `fanout`).
 * Delivered tokens/s, WebSocket messages per subscriber, latency, server CPU per message and
 * per million tokens; the ratios to the baselines are reported, not judged. Same machinery as
 * `fast` (`bench/lib/wide-fanout.ts` over `fanout`'s `runTargets`).
 */
import { defaultFanoutOptions, fanoutOptions, type FanoutOptions } from './fanout.js';
import type { Scenario } from './lib/scenario.js';
import { runWideFanout } from './lib/wide-fanout.js';

export const defaultBurstOptions: FanoutOptions = {
  ...defaultFanoutOptions,
  name: 'burst',
  sessions: 10,
  subscribersPerSession: 100,
  tokens: 2000,
  baselineTokens: 2000,
  warmupTokens: 20,
  // The server's own store configurations; `fanout` also compares SQLite on the event loop's thread.
  stores: ['memory', 'sqlite'],
  repeats: 3,
  warmupRounds: 0,
  // 1000 subscribers × 2000 messages for a baseline.
  roundTimeoutMs: 600_000,
};

const quickBurstOptions: FanoutOptions = { ...defaultBurstOptions, sessions: 3, subscribersPerSession: 10, tokens: 500, baselineTokens: 500, repeats: 1 };

export const burstScenario: Scenario = {
  name: 'burst',
  description: '10 sessions × 100 subscribers, /stream 2000 everywhere as fast as possible; tokens/s, latency, CPU per message; Switchboard vs naive-yoga and raw-ws',
  run: (ctx) =>
    runWideFanout(ctx, {
      name: 'burst',
      title: 'Burst fan-out',
      opts: fanoutOptions(ctx, defaultBurstOptions, quickBurstOptions),
      targets: null,
    }),
};
