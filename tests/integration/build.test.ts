import { execFile, spawn } from 'node:child_process';
import { appendFile, cp, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

/** What `npm start` runs before `node dist/main.js`, in the checkout at `dir`. */
function startBuild(dir: string, args: string[] = ['--if-stale']): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, 'scripts/build.mjs'), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`build exited ${code}: ${output}`))));
  });
}

/**
 * What a process starting meanwhile could see of dist, sampled until `done`: each sample is
 * 'absent' or whether the build it finds is whole (its stamp, main.js and the web app there).
 */
async function watchDist(dir: string, done: Promise<unknown>) {
  const seen = new Set<string>();
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => {});
  const dist = join(dir, 'dist');
  const inode = () => {
    try {
      return statSync(dist).ino;
    } catch {
      return null;
    }
  };
  while (!finished) {
    // A sample is two reads (the listing, then web/index.html); if dist was renamed between
    // them, they looked at two different folders and say nothing about either: sample again.
    const before = inode();
    let names: string[] | null = null;
    try {
      names = readdirSync(dist);
    } catch {
      names = null;
    }
    const whole = names !== null && names.includes('.build-stamp') && names.includes('main.js') && existsSync(join(dist, 'web/index.html'));
    if (before === inode()) {
      if (before === null || names === null) seen.add('absent');
      else seen.add(whole ? 'whole' : `partial: ${names.length} entries`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return seen;
}

describe('npm start builds dist only when stale, and atomically', () => {
  // A copy of the checkout (with its node_modules linked), so that building does not replace the
  // dist/ of the worktree under other tests.
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-build-'));
    for (const name of ['src', 'web', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'])
      await cp(join(root, name), join(dir, name), { recursive: true, filter: (path) => !path.includes('node_modules') });
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('two starts at once: one builds, the other waits and finds it fresh; dist is never seen half-written', async () => {
    const builds = Promise.all([startBuild(dir), startBuild(dir)]);
    const seen = await watchDist(dir, builds);
    const outputs = await builds;
    expect(outputs.filter((o) => o.includes('built dist')).length).toBe(1);
    expect(outputs.filter((o) => o.includes('up to date')).length).toBe(1);
    expect([...seen].filter((s) => s !== 'absent' && s !== 'whole')).toEqual([]);
    expect(seen).toContain('whole');
    // What it built loads: every module app.js imports is there.
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', "await import('./dist/app.js')"], { cwd: dir });
    expect(readdirSync(dir).filter((name) => name.startsWith('dist.'))).toEqual([]);
  }, 300_000);

  it('a second start with nothing changed does not rebuild; a changed source does, by renaming dist in', async () => {
    const stampBefore = await stat(join(dir, 'dist/.build-stamp'));
    const distBefore = await stat(join(dir, 'dist'));
    expect(await startBuild(dir)).toContain('up to date');
    expect((await stat(join(dir, 'dist/.build-stamp'))).mtimeMs).toBe(stampBefore.mtimeMs);
    expect((await stat(join(dir, 'dist'))).ino).toBe(distBefore.ino);

    await appendFile(join(dir, 'src/clock.ts'), '\n// changed\n');
    const build = startBuild(dir);
    const seen = await watchDist(dir, build);
    expect(await build).toContain('built dist');
    expect([...seen].filter((s) => s !== 'absent' && s !== 'whole')).toEqual([]);
    expect((await stat(join(dir, 'dist'))).ino).not.toBe(distBefore.ino);
    expect(await readFile(join(dir, 'dist/clock.js'), 'utf8')).toContain('// changed');
  }, 300_000);
});
