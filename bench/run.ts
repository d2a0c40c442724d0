/**
 * `npm run bench [-- <scenario>…] [--quick] [--strict] [--no-write] [--repeats N] [--stores memory,sqlite] [--servers switchboard,naive-yoga,raw-ws,raw-ws-50ms]`
 *
 * Runs the benchmark scenarios (all by default), prints a table per scenario, and writes
 * `bench/results/<YYYY-MM-DD>.json` (machine info, the command, every run). `--quick` uses
 * small counts and one repetition, for trying the harness, and writes nothing. A scenario
 * whose correctness checks fail makes the exit code non-zero; with `--strict`, so does a
 * missed performance target.
 */
import { parseArgs } from 'node:util';
import { appendsScenario } from './appends.js';
import { clusterScenario } from './cluster.js';
import { fanoutScenario } from './fanout.js';
import { compileForBench, killAll } from './lib/processes.js';
import { machineInfo, printResult, writeResults, type ScenarioResult } from './lib/results.js';
import type { Scenario } from './lib/scenario.js';

/** Every scenario, in the order a full run takes them. New scenarios register here. */
const scenarios: Scenario[] = [appendsScenario, fanoutScenario, clusterScenario];
scenarios.push((await import('./idle.js')).idleScenario); // memory per idle subscriber (bench/idle.ts)
scenarios.push((await import('./realistic.js')).realisticScenario); // S sessions × 5 subscribers at 100 tokens/s: lag, TTFT, latency (bench/realistic.ts)
scenarios.push((await import('./slow.js')).slowScenario); // one subscriber stops reading during a fast turn, vs a control round (bench/slow.ts)
scenarios.push((await import('./storm.js')).stormScenario); // 1000 subscribers drop mid-turn and resubscribe at once with `after` (bench/storm.ts)
scenarios.push((await import('./fast.js')).fastScenario); // 10 sessions × 100 subscribers, /stream 1000 1000 (fast model): lag, latency, CPU per message vs the baselines (bench/fast.ts)
scenarios.push((await import('./burst.js')).burstScenario); // 10 sessions × 100 subscribers, /stream 2000 unpaced: tokens/s, latency, CPU per message vs the baselines (bench/burst.ts)
scenarios.push((await import('./agents.js')).agentsScenario); // 10 sessions × 100 subscribers, 1000 tokens at 1000/s: the demo agent vs AGENT=anthropic/openai on a fake provider (bench/agents.ts)

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    repeats: { type: 'string' },
    stores: { type: 'string' },
    servers: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log('npm run bench [-- <scenario>…] [--quick] [--strict] [--no-write] [--repeats N] [--stores memory,sqlite] [--servers switchboard,naive-yoga,raw-ws,raw-ws-50ms]');
  console.log('  BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the servers; BENCH_PROFILE_DIR=DIR only their measured rounds');
  console.log('  cluster: BENCH_POSTGRES_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default redis://127.0.0.1:6379)\n\nscenarios:');
  for (const s of scenarios) console.log(`  ${s.name.padEnd(10)} ${s.description}`);
  process.exit(0);
}

const unknown = positionals.filter((p) => !scenarios.some((s) => s.name === p));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const selected = positionals.length === 0 ? scenarios : scenarios.filter((s) => positionals.includes(s.name));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

const startedAt = new Date();
const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
const machine = machineInfo();
console.log(`${command}\n${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}`);

compileForBench((line) => console.error(`  ${line}`));

const results: ScenarioResult[] = [];
let failed = false;
for (const scenario of selected) {
  const began = Date.now();
  try {
    const result = await scenario.run({
      quick: values.quick,
      repeats: values.repeats === undefined ? undefined : Math.max(1, Math.floor(Number(values.repeats)) || 1),
      stores: values.stores?.split(',').filter(Boolean),
      servers: values.servers?.split(',').filter(Boolean),
      log: (line) => console.error(`  ${line}`),
    });
    results.push(result);
    printResult(result);
    if (!result.ok) failed = true;
    if (values.strict && result.targets?.some((t) => !t.met)) failed = true;
  } catch (error) {
    failed = true;
    console.error(`\n${scenario.name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
    results.push({ name: scenario.name, ok: false, tables: [], data: { error: String(error) } });
  } finally {
    killAll();
  }
  console.error(`  (${scenario.name}: ${((Date.now() - began) / 1000).toFixed(1)} s)`);
}

if (!values.quick && !values['no-write']) {
  const file = writeResults(results, command, startedAt);
  console.log(`\nresults written to ${file}`);
}
process.exit(failed ? 1 : 0);
