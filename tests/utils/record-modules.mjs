// Preloaded into a server process (NODE_OPTIONS=--import) by tests/integration/backends.test.ts: writes
// every module the process loads, one URL or path a line, to the file RECORD_MODULES names. ES
// modules as they are resolved (a hook on the loader's thread); CommonJS ones (pg, ioredis and
// better-sqlite3 all are, and a package required lazily is seen by no import hook) from
// require.cache as the process exits. Plain JavaScript: it runs before any TypeScript loader.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const file = process.env.RECORD_MODULES;
if (file && isMainThread) {
  register('./record-modules-hooks.mjs', import.meta.url, { data: { file } });
  const require = createRequire(import.meta.url);
  process.once('exit', () => appendFileSync(file, Object.keys(require.cache).map((path) => `${path}\n`).join('')));
}
