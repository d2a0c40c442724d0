#!/usr/bin/env node
// Builds dist/ (the server, its client library's types, and the web app in dist/web) so that no
// process ever sees a half-written dist: everything is built into a folder beside it and renamed
// into place. `npm run build` always builds; `npm start` runs this with --if-stale, which builds
// only when the inputs' hash differs from the stamp the last build left in dist.
//
// Plain JavaScript run by node, not TypeScript: it must run before anything is compiled.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const stampFile = '.build-stamp';
const lockDir = join(root, 'dist.lock');
const ifStale = process.argv.includes('--if-stale');

/** What a build reads: a change to any of these makes dist stale. */
const inputs = ['src', 'web', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json', 'scripts/build.mjs'];

function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.name !== 'node_modules')
    .flatMap((entry) => filesUnder(join(path, entry.name)));
}

/** Content hash (not mtimes: a checkout or a `git stash` rewrites those without changing anything). */
function inputsHash() {
  const hash = createHash('sha256');
  const files = inputs.flatMap((input) => filesUnder(join(root, input))).sort();
  for (const file of files) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

function currentStamp() {
  try {
    return readFileSync(join(dist, stampFile), 'utf8').trim();
  } catch {
    return null;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * One build at a time per checkout: a second `npm start` waits for the first one's build and
 * then finds dist fresh, rather than building the same thing again and swapping dist under the
 * first one's starting server. mkdir is atomic; a lock whose holder died is taken over.
 */
function lock() {
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
    } catch {
      // Just created, pid not yet written: wait.
    }
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) rmSync(lockDir, { recursive: true, force: true });
    else sleep(200);
  }
}

const unlock = () => rmSync(lockDir, { recursive: true, force: true });

function run(args) {
  execFileSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

function build(hash) {
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temporary = join(root, `dist.tmp-${suffix}`);
  const old = join(root, `dist.old-${suffix}`);
  try {
    run([join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', temporary]);
    run([join(root, 'node_modules/typescript/bin/tsc'), '-p', 'web/tsconfig.json']);
    run([
      join(root, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      'web/vite.config.ts',
      '--outDir',
      join(temporary, 'web'),
      '--emptyOutDir',
    ]);
    // Written last: a dist with a stamp is a whole build.
    writeFileSync(join(temporary, stampFile), `${hash}\n`);
    // rename(2) will not replace a non-empty directory: move the old one away first. Between
    // the two renames dist is absent (a starting process fails to find it, never half of it).
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(temporary, dist);
  } finally {
    rmSync(temporary, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

lock();
process.on('exit', unlock);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
// Hashed while holding the lock (another build may have just finished) and before building, so
// a source edited during the build leaves dist stale for the next start.
const hash = inputsHash();
if (ifStale && currentStamp() === hash) {
  console.log('build: dist is up to date');
} else {
  const started = Date.now();
  build(hash);
  console.log(`build: built dist in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}
