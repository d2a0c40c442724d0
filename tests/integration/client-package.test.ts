import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, dirname } from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** Packages a front end already has next to a GraphQL client; nothing of the server's. */
const allowedPackages = new Set(['graphql', 'graphql-ws', 'graphql-sse', '@graphql-typed-document-node/core']);

describe('switchboard/client as a package', () => {
  it('imports no server code: relative imports stay in src/client, packages are GraphQL clients only', async () => {
    const clientDir = join(root, 'src/client');
    for (const file of await filesUnder(clientDir)) {
      const source = await readFile(file, 'utf8');
      for (const [, specifier] of source.matchAll(/from '([^']+)'/g)) {
        if (specifier!.startsWith('.')) {
          const target = resolve(dirname(file), specifier!);
          expect(relative(clientDir, target).startsWith('..'), `${relative(root, file)} imports ${specifier}`).toBe(false);
        } else expect(allowedPackages, `${relative(root, file)} imports ${specifier}`).toContain(specifier);
      }
    }
  });

  it('`npm run build` emits what package.json exports for ./client, with its types', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
    const entry = pkg.exports['./client']!;
    const outDir = await mkdtemp(join(tmpdir(), 'switchboard-client-build-'));
    try {
      await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], {
        cwd: root,
        timeout: 180_000,
      });
      const inOut = (path: string) => join(outDir, relative('dist', path));
      const types = await readFile(inOut(entry.types!), 'utf8');
      expect(types).toContain('sessionEvents');
      const mod = (await import(pathToFileURL(inOut(entry.default!)).href)) as Record<string, unknown>;
      for (const name of ['sessionEvents', 'reduce', 'seedView', 'fromGraphqlWs', 'fromGraphqlSse', 'SessionSnapshotQuery', 'emptyView'])
        expect(mod[name], name).toBeDefined();
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }, 180_000);
});
