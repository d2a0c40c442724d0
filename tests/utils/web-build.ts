import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = new URL('../../', import.meta.url).pathname;
let built: Promise<string> | null = null;

/**
 * Builds the web app (as `npm run build:web` does) once per test process, into a folder of its
 * own, so test files never write dist/web at the same time. Pass it as `webAppDir`. Vite
 * refuses a second build of the project while one runs (a lock for builds into the same
 * folder); these go to folders of their own, so test files in parallel bypass it.
 */
export function buildWebApp(): Promise<string> {
  built ??= (async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'switchboard-web-'));
    process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
    await promisify(execFile)(
      process.execPath,
      [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--bypass-lock'],
      { cwd: root },
    );
    return outDir;
  })();
  return built;
}
