/**
 * Summarizes V8 CPU profiles (`.cpuprofile`, from `node --cpu-prof` or BENCH_PROFILE_DIR):
 * self time by function and by package/file, and inclusive time of the functions asked for.
 *
 *   npx tsx bench/tools/cpuprofile.ts FILE.cpuprofile [--top 30] [--inclusive name,name]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' }, inclusive: { type: 'string', default: '' } },
});
const top = Number(values.top);

/** node_modules/<pkg>, src/<file>, node:<internal>, or a V8 pseudo-frame. */
function where(url: string): string {
  if (!url) return '(native/V8)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const src = /\/(src|bench|tests)\/(.+)$/.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  if (url.startsWith('node:')) return url;
  return url;
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Samples under node:inspector are the profiler being stopped (BENCH_PROFILE_DIR), not the server.
  const profiler = new Set<number>();
  for (const n of profile.nodes) {
    for (let cur: number | undefined = n.id; cur !== undefined; cur = parent.get(cur)) {
      if (byId.get(cur)!.callFrame.url === 'node:inspector') {
        profiler.add(n.id);
        break;
      }
    }
  }
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if (!profiler.has(id)) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;

  const fnSelf = new Map<string, number>();
  const pkgSelf = new Map<string, number>();
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const key = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
    pkgSelf.set(where(url), (pkgSelf.get(where(url)) ?? 0) + t);
  }
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  const print = (title: string, m: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  };
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy`);
  print('self time by package/file', pkgSelf);
  print('self time by function', fnSelf);

  // Inclusive time: a sample counts once for each named function on its stack.
  const names = values.inclusive.split(',').filter(Boolean);
  if (names.length > 0) {
    const incl = new Map<string, number>();
    for (const [id, t] of self) {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const n = byId.get(cur)!.callFrame;
        for (const name of names) if (!seen.has(name) && (n.functionName === name || where(n.url).includes(name))) seen.add(name);
      }
      if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
      for (const name of seen) incl.set(name, (incl.get(name) ?? 0) + t);
    }
    print('inclusive time', incl);
  }
}
