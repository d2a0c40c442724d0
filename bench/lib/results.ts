import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, type as osType, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chartHeading, writeLatencyChart, type LatencyPanel } from './chart.js';

/** One printable table of a scenario: the same rows go to the console, the JSON and docs/performance.md. */
export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** Lines printed under the table (the verdict, the ratio, caveats). */
  notes?: string[];
}

export interface ScenarioResult {
  /** Scenario name, e.g. `appends` or `fanout`. */
  name: string;
  /** False when a correctness check or a target failed: the bench exits non-zero. */
  ok: boolean;
  /** Performance targets the scenario checks (reported; they fail the run only with `--strict`). */
  targets?: { name: string; met: boolean }[];
  tables: Table[];
  /** Everything measured, raw runs included, for later comparison. */
  data: unknown;
  /** Latency distributions per row, for the chart written next to the results (`bench/lib/chart.ts`). */
  latency?: LatencyPanel;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
  };
}

/** A table as fixed-width text (also valid GitHub markdown). */
export function renderTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '| ' + widths.map((w, i) => (i === 0 ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ') + ' |';
  return [line(table.columns), rule, ...table.rows.map(line)].join('\n');
}

export function printResult(result: ScenarioResult): void {
  for (const table of result.tables) {
    console.log(`\n${table.title}\n`);
    console.log(renderTable(table));
    for (const note of table.notes ?? []) console.log(note);
  }
}

/** `bench/results/`, or `BENCH_RESULTS_DIR` (e.g. to try the writer without touching the repo's results). */
const resultsDir = process.env.BENCH_RESULTS_DIR
  ? process.env.BENCH_RESULTS_DIR.replace(/\/*$/, '/')
  : fileURLToPath(new URL('../results/', import.meta.url));

/**
 * Writes `bench/results/<YYYY-MM-DD>.json`. A run of some scenarios replaces only those in a
 * file the same day already holds, so `npm run bench -- appends` does not erase a fan-out run.
 * Then, if any scenario in the file has a latency panel (`fast`, `burst`, `realistic`), draws
 * them all in `bench/results/<YYYY-MM-DD>-latency.svg` (and says so on stdout).
 */
export function writeResults(results: ScenarioResult[], command: string, startedAt: Date): string {
  mkdirSync(resultsDir, { recursive: true });
  const date = startedAt.toISOString().slice(0, 10);
  const file = `${resultsDir}${date}.json`;
  let scenarios: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      scenarios = (JSON.parse(readFileSync(file, 'utf8')) as { scenarios?: Record<string, unknown> }).scenarios ?? {};
    } catch {
      scenarios = {};
    }
  }
  for (const r of results) {
    scenarios[r.name] = {
      command,
      startedAt: startedAt.toISOString(),
      ok: r.ok,
      targets: r.targets ?? [],
      tables: r.tables,
      ...(r.latency ? { latency: r.latency } : {}),
      data: r.data,
    };
  }
  const body = { date, machine: machineInfo(), scenarios };
  writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
  const chart = `${resultsDir}${date}-latency.svg`;
  if (writeLatencyChart(chart, scenarios, chartHeading(date))) console.log(`latency chart written to ${chart}`);
  return file;
}
