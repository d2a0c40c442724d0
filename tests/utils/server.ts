import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterEach } from 'vitest';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { createDemoAgent } from '../../src/agents/demo.js';

export interface TestServer {
  app: App;
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  /** ws://127.0.0.1:PORT/graphql */
  wsUrl: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  dataDir: string;
  /** One GraphQL request over HTTP POST; returns the whole result (data and errors). */
  request<R, V>(document: TypedDocumentNode<R, V> | string, variables?: V, headers?: Record<string, string>): Promise<ExecutionResult<R>>;
  /** Like `request`, but fails on errors and returns `data`. */
  gql<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R>;
  stop(): Promise<void>;
}

const running = new Set<TestServer>();
const cleanups: Array<() => unknown> = [];

/** Registers something to dispose after the current test (clients, sockets). */
export function onCleanup(fn: () => unknown) {
  cleanups.push(fn);
}

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve(fn()).catch(() => {});
  await Promise.all([...running].map((s) => s.stop()));
});

/**
 * A real Switchboard on a free port of 127.0.0.1, stopped after the test. The demo agent
 * echoes at 1000 words/s unless the test asks otherwise, so turns are quick.
 */
export async function startTestServer(options: AppOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'switchboard-test-')));
  const app = createApp({
    agent: createDemoAgent({ wordsPerSecond: 1000 }),
    shutdownGraceMs: 500,
    onError: () => {},
    ...options,
    port: 0,
    host: '127.0.0.1',
    dataDir,
  });
  const { port } = await app.start();
  const origin = `http://127.0.0.1:${port}`;
  const url = `${origin}/graphql`;

  const request: TestServer['request'] = async (document, variables, headers = {}) => {
    const query = typeof document === 'string' ? document : print(document);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as ExecutionResult<never>;
  };

  let stopped: Promise<void> | null = null;
  const server: TestServer = {
    app,
    url,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    origin,
    dataDir,
    request,
    async gql(document, variables) {
      const result = await request(document, variables);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data!;
    },
    stop() {
      stopped ??= (async () => {
        running.delete(server);
        await app.stop();
        if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  running.add(server);
  return server;
}
