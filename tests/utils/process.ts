import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onCleanup } from './server.js';

export interface ServerProcess {
  child: ChildProcess;
  /** http://HOST:PORT/graphql, read from the start-up line. */
  url: string;
  output: () => string;
  /** What it wrote on stdout alone. */
  stdout: () => string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
}

const root = new URL('../../', import.meta.url).pathname;

/** How the server is run: `src/main.ts` through tsx (`npm run dev`), or compiled as `npm start` runs it (`buildServer` first). */
export interface SpawnOptions {
  /** @default false */
  built?: boolean;
}

/** Variables a developer's shell might hold that would change what a test configures. */
const CONFIGURING_VARIABLES = [
  'AGENT',
  'MODELS',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'AGENT_MAX_TOKENS',
  'AGENT_MAX_STEPS',
  'AGENT_SYSTEM_PROMPT',
  'DATABASE_URL',
  'REDIS_URL',
];

/**
 * Runs the server as users run it, `src/main.ts` through tsx or (`built`) compiled, with this
 * environment over the test's own (less what would configure it behind the test's back);
 * killed after the test if still alive.
 */
export function spawnServer(env: Record<string, string>, options: SpawnOptions = {}): Omit<ServerProcess, 'url'> {
  const args = options.built ? [builtServerMain()] : ['--import', 'tsx', 'src/main.ts'];
  const inherited = { ...process.env };
  for (const name of CONFIGURING_VARIABLES) delete inherited[name];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...inherited, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (d) => {
    output += d;
    stdout += d;
  });
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => output, stdout: () => stdout, exited };
}

/** Spawns the server and waits for its "listening on URL" line. */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 20_000, options: SpawnOptions = {}): Promise<ServerProcess> {
  const proc = spawnServer(env, options);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${proc.output()}`)), timeoutMs);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(proc.output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    proc.child.stdout!.on('data', check);
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${proc.output()}`));
    });
  });
  return { ...proc, url };
}

/**
 * The server compiled as `npm run build` compiles it (tsconfig.build.json), but into a folder
 * of this test process's own under `.test-dist/`: test files running side by side each build,
 * and one writing `dist/` while another's server loads from it would load half-written
 * modules. Packages resolve from the checkout's node_modules as from `dist/`. Built once per
 * process; the folder is removed when the process exits. Slow (tens of seconds).
 */
export function buildServer(): Promise<void> {
  build ??= (async () => {
    const parent = join(root, '.test-dist');
    removeOrphans(parent);
    const outDir = join(parent, `${process.pid}-${randomBytes(4).toString('hex')}`);
    process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
    await promisify(execFile)(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json', '--outDir', outDir], {
      cwd: root,
      timeout: 180_000,
    });
    builtMain = join(outDir, 'main.js');
  })();
  return build;
}

let build: Promise<void> | null = null;

/** Builds of processes that are gone (a worker that was killed never ran its exit handler). */
function removeOrphans(parent: string) {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
let builtMain: string | null = null;

/** The entry point `buildServer` made. */
export function builtServerMain(): string {
  if (builtMain === null) throw new Error('buildServer() first');
  return builtMain;
}
