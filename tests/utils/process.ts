import { execFile, spawn, type ChildProcess } from 'node:child_process';
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

/** How the server is run: `src/main.ts` through tsx (`npm run dev`), or `dist/main.js` as `npm start` runs it (see `buildServer`). */
export interface SpawnOptions {
  /** @default false */
  built?: boolean;
}

/** Runs `src/main.ts` as users run the server (through tsx), killed after the test if still alive. */
export function spawnServer(env: Record<string, string>, options: SpawnOptions = {}): Omit<ServerProcess, 'url'> {
  const args = options.built ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
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

/** Builds `dist/` as `npm start` does (`npm run build`), for `{ built: true }`. Slow (tens of seconds): once per suite. */
export async function buildServer(): Promise<void> {
  await promisify(execFile)(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: root, timeout: 180_000 });
}
