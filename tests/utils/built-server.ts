/**
 * The server as `npm start` runs it: compiled once (buildServer), then `node <out>/main.js`
 * in a child process configured only by its environment, killed after the test if alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { print, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { onCleanup } from './server.js';
import { buildServer, builtServerMain } from './process.js';

const root = new URL('../../', import.meta.url).pathname;

/** The server compiled as `npm run build` compiles it, once per test process (see buildServer). */
export const buildOnce = buildServer;

/** Variables a developer's shell might hold that would change what a test configures. */
const AGENT_VARIABLES = [
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

export interface BuiltServer {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | string>;
}

/** Runs the compiled server with PORT=0 and this environment (call buildOnce first). */
export function spawnBuiltServer(env: Record<string, string>): BuiltServer {
  const inherited = { ...process.env };
  for (const name of AGENT_VARIABLES) delete inherited[name];
  const child = spawn(process.execPath, [builtServerMain()], {
    cwd: root,
    env: { ...inherited, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => output, exited };
}

/** Spawns it and waits for "listening on URL"; `url` is the GraphQL endpoint. */
export async function startBuiltServer(env: Record<string, string>, timeoutMs = 30_000): Promise<BuiltServer & { url: string; wsUrl: string }> {
  const proc = spawnBuiltServer(env);
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
  return { ...proc, url, wsUrl: url.replace(/^http/, 'ws') };
}

/** One GraphQL request over HTTP POST, as GraphiQL sends it; the whole result. */
export async function post<R, V>(url: string, document: TypedDocumentNode<R, V>, variables?: V): Promise<ExecutionResult<R>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await res.json()) as ExecutionResult<R>;
}
