import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Child processes of a benchmark run (the server under test, load generators), each with an
 * IPC channel for small control messages. Every child is killed when the run ends, whatever
 * way it ends: explicitly through `stop()`, or by the exit hook if the parent fails first.
 */

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const exitCleanups = new Set<() => void>();
let hooked = false;

function hookExit() {
  if (hooked) return;
  hooked = true;
  // Synchronous last resort: nothing started or made here outlives the bench process.
  process.on('exit', () => {
    for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    for (const cleanup of exitCleanups) {
      try {
        cleanup();
      } catch (error) {
        console.error('bench cleanup on exit failed:', error);
      }
    }
  });
}

/**
 * Registers a synchronous last-resort cleanup (e.g. dropping a database through a
 * synchronous child process) run when the bench exits without having undone the thing
 * itself; the returned function unregisters it.
 */
export function onExitSync(cleanup: () => void): () => void {
  hookExit();
  exitCleanups.add(cleanup);
  return () => void exitCleanups.delete(cleanup);
}

/** A fresh folder under the OS temp dir, removed by `removeTempDir` or else when the bench exits. */
export function makeTempDir(prefix: string): string {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export interface BenchChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout and stderr so far (for error messages). */
  output(): string;
  /** Resolves with the first stdout line matching `pattern`, or rejects on exit/timeout. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Sends a message and resolves with the first reply whose `type` is `replyType`. */
  request<T>(message: { type: string; [key: string]: unknown }, replyType: string, timeoutMs: number): Promise<T>;
  /** Resolves with the next IPC message of this type. */
  next<T>(type: string, timeoutMs: number): Promise<T>;
  /** Asks the child to stop (`{type: 'stop'}`), then kills it if it has not exited in time. */
  stop(graceMs?: number): Promise<number | string>;
  readonly exited: Promise<number | string>;
}

export interface SpawnOptions {
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Echo the child's stderr to ours as it comes (default: keep it for error messages). */
  echoStderr?: boolean;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tsconfigBench = join(repoRoot, 'tsconfig.bench.json');
/** Under tsconfig.bench.json's outDir; one folder per run, so that runs side by side do not clash. */
const compiledRoot = join(repoRoot, 'node_modules/.cache/switchboard-bench', String(process.pid));

/**
 * Compiles `src` and `bench` with tsc, once per run, so that every server and load generator
 * runs as `npm start` runs Switchboard: plain JavaScript on node. (Through tsx, esbuild's
 * keepNames wraps every function created at run time in a call that defines its `name`,
 * which costs a property store and ~250 bytes per closure: measurable in the idle and
 * per-message figures.) `BENCH_TSX=1` skips it and runs the TypeScript through tsx.
 */
export function compileForBench(log: (line: string) => void): void {
  if (process.env.BENCH_TSX === '1') return;
  const began = Date.now();
  onExitSync(() => rmSync(compiledRoot, { recursive: true, force: true }));
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', tsconfigBench, '--outDir', compiledRoot], { cwd: repoRoot, encoding: 'utf8' });
  // A type error still emits JavaScript; the bench runs it, and says so.
  if (result.status !== 0) log(`tsc reported problems (the bench runs what it emitted):\n${result.stdout}${result.stderr}`);
  if (!existsSync(join(compiledRoot, 'bench/server.js'))) throw new Error(`compiling for the bench failed:\n${result.stdout}${result.stderr}`);
  process.env.BENCH_COMPILED = compiledRoot;
  log(`compiled src and bench to ${compiledRoot} in ${Date.now() - began} ms`);
}

/** The module to fork and how: the compiled JavaScript after `compileForBench`, else the TypeScript through tsx. */
function runnable(moduleUrl: URL): { path: string; execArgv: string[] } {
  const source = fileURLToPath(moduleUrl);
  const compiled = process.env.BENCH_COMPILED;
  if (!compiled) return { path: source, execArgv: ['--import', 'tsx'] };
  return { path: join(compiled, relative(repoRoot, source)).replace(/\.ts$/, '.js'), execArgv: [] };
}

/** Runs a module of this folder in its own node process (compiled, or through tsx), with IPC. */
export function spawnTs(moduleUrl: URL, args: string[], options: SpawnOptions = {}): BenchChild {
  hookExit();
  const { path, execArgv } = runnable(moduleUrl);
  const child = fork(path, args, {
    execPath: process.execPath,
    execArgv: [...execArgv, ...(options.nodeArgs ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (options.echoStderr) process.stderr.write(d);
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? -1);
    }),
  );
  const tail = () => out.split('\n').slice(-30).join('\n');

  const next = <T>(type: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if ((m as { type?: string })?.type !== type) return;
        cleanup();
        resolve(m as T);
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`${moduleUrl.pathname} exited while waiting for "${type}":\n${tail()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${moduleUrl.pathname}: no "${type}" within ${timeoutMs} ms:\n${tail()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });

  return {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    next,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(out);
          if (match) {
            cleanup();
            resolve(match);
          }
        };
        const onExit = () => {
          cleanup();
          reject(new Error(`${moduleUrl.pathname} exited before printing ${pattern}:\n${tail()}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${moduleUrl.pathname} did not print ${pattern} within ${timeoutMs} ms:\n${tail()}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          child.off('exit', onExit);
        };
        child.stdout!.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
    request<T>(message: { type: string }, replyType: string, timeoutMs: number) {
      const reply = next<T>(replyType, timeoutMs);
      child.send(message);
      return reply;
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      if (child.connected) child.send({ type: 'stop' }, () => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Kills every child still running (used on SIGINT and after a failed scenario). */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * In a child: replies to control messages from the parent, and exits if the parent goes away
 * (so that a killed bench leaves nothing behind).
 */
export function onParentMessage(handler: (message: { type: string; [key: string]: unknown }) => void | Promise<void>): void {
  if (!process.send) throw new Error('this module runs as a child of the bench (it needs an IPC channel)');
  process.on('message', (m) => void Promise.resolve(handler(m as { type: string })).catch(fatal));
  process.on('disconnect', () => process.exit(2));
}

export function sendToParent(message: { type: string; [key: string]: unknown }): void {
  process.send?.(message);
}

export function fatal(error: unknown): never {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
}
