/**
 * The server as `npm start` runs it: compiled once (buildServer), then `node <out>/main.js`
 * in a child process configured only by its environment, killed after the test if alive.
 */
import { print, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { buildServer, spawnServer, startServerProcess, type ServerProcess } from './process.js';

/** The server compiled as `npm run build` compiles it, once per test process (see buildServer). */
export const buildOnce = buildServer;

export type BuiltServer = Omit<ServerProcess, 'url'>;

/** Runs the compiled server with PORT=0 and this environment (call buildOnce first). */
export function spawnBuiltServer(env: Record<string, string>): BuiltServer {
  return spawnServer({ HOST: '127.0.0.1', ...env }, { built: true });
}

/** Spawns it and waits for "listening on URL"; `url` is the GraphQL endpoint. */
export async function startBuiltServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess & { wsUrl: string }> {
  const proc = await startServerProcess({ HOST: '127.0.0.1', ...env }, timeoutMs, { built: true });
  return { ...proc, wsUrl: proc.url.replace(/^http/, 'ws') };
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
