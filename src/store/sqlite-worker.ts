import { parentPort, workerData } from 'node:worker_threads';
import { ReadCapExceeded } from './read-cap.js';
import { FencedError } from './fenced.js';
import { createSqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { Store } from './types.js';
import type { StoreCall, StoreAnswer } from './sqlite-thread.js';

/**
 * The store thread's program (see sqlite-thread.ts): the synchronous SQLite store, answering
 * calls in the order they arrive. Each call runs to its end before the next message is taken,
 * so calls keep the order and atomicity they have on the server's thread.
 */
const port = parentPort!;
const store = createSqliteStore(workerData.options as SqliteStoreOptions) as unknown as Record<
  string,
  (...args: unknown[]) => Promise<unknown>
> &
  Store;

port.on('message', async ({ id, method, args }: StoreCall) => {
  let answer: StoreAnswer;
  try {
    answer = { id, value: await store[method]!(...args) };
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    const maxBytes = error instanceof ReadCapExceeded ? error.maxBytes : undefined;
    const fenced = error instanceof FencedError ? { sessionId: error.sessionId, token: error.token } : {};
    answer = { id, error: { name, message, maxBytes, ...fenced } };
  }
  port.postMessage(answer);
  if (method === 'close') port.close();
});
