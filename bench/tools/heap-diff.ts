/**
 * What grew between two V8 heap snapshots, by object kind:
 *
 *   npx tsx bench/tools/heap-diff.ts before.heapsnapshot after.heapsnapshot [--per N] [--top 40]
 *
 * Sums each node's self size by its type and name (a class, `(closure)`, `(array)`, …) in both
 * snapshots and prints the largest differences; `--per N` divides them by N (e.g. the idle
 * subscribers between the two: bytes per subscriber). Made for `BENCH_HEAP_SNAPSHOT_DIR` of the
 * `idle` scenario.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per `type:name`. */
function totals(file: string): Map<string, { bytes: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    // Strings and code by kind only: their names are their contents.
    const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + nameAt]!]! : '';
    const key = `${type}:${name}`;
    const entry = out.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += snap.nodes[i + sizeAt]!;
    entry.count++;
    out.set(key, entry);
  }
  return out;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '40' } },
});
if (positionals.length !== 2) {
  console.error('usage: heap-diff.ts before.heapsnapshot after.heapsnapshot [--per N] [--top 40]');
  process.exit(2);
}
const per = Number(values.per);
const [before, after] = positionals.map(totals) as [ReturnType<typeof totals>, ReturnType<typeof totals>];
const rows = [...new Set([...before.keys(), ...after.keys()])].map((key) => {
  const b = before.get(key) ?? { bytes: 0, count: 0 };
  const a = after.get(key) ?? { bytes: 0, count: 0 };
  return { key, bytes: (a.bytes - b.bytes) / per, count: (a.count - b.count) / per };
});
rows.sort((x, y) => Math.abs(y.bytes) - Math.abs(x.bytes));
const total = rows.reduce((sum, r) => sum + r.bytes, 0);
console.log(`self size after − before${per === 1 ? '' : `, per ${per}`}: ${total.toFixed(0)} bytes in all`);
for (const r of rows.slice(0, Number(values.top))) {
  console.log(`${r.bytes.toFixed(0).padStart(10)} B ${r.count.toFixed(2).padStart(9)} ×  ${r.key}`);
}
