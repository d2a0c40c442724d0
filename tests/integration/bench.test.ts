import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

/**
 * `npm run bench` is not a test (no timing is judged here), but its harness is part of the
 * product: this runs its `fast` scenario in `--quick` mode (3 sessions × 10 subscribers, every
 * server row: Switchboard on both stores and the three baselines) and `agents` (2 sessions × 5
 * subscribers: the demo agent, and AGENT=anthropic and AGENT=openai streaming from the fake
 * provider in its own process), in one run (one compile), and holds them to their own
 * correctness checks (every subscriber got seqs 1..n, the exact text, the CompleteEvent), so
 * a harness, a baseline or a provider path that stops working fails here rather than on the
 * next bench day.
 */
describe('the bench harness', () => {
  it('runs `fast --quick` and `agents --quick` with every row correct', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'fast', 'agents', '--quick', '--no-write'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output).toBe(0);
    const rows = output.split('\n').filter((line) => /^\| (switchboard \(|naive-yoga|raw-ws)/.test(line));
    expect(rows.map((r) => r.split('|')[1]!.trim())).toEqual([
      'switchboard (memory)',
      'switchboard (sqlite)',
      'naive-yoga',
      'raw-ws',
      'raw-ws-50ms',
    ]);
    for (const row of rows) expect(row, row).toMatch(/\| +yes \(1 round\) \|$/);
    const agentRows = output.split('\n').filter((line) => /^\| (demo agent|AGENT=)/.test(line));
    expect(agentRows.map((r) => r.split('|')[1]!.trim())).toEqual([
      'demo agent',
      'AGENT=anthropic (fake provider)',
      'AGENT=openai (fake provider)',
    ]);
    for (const row of agentRows) expect(row, row).toMatch(/\| +yes \(1 round\) \|$/);
  }, 240_000);
});
