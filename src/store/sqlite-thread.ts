import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FencedError } from './fenced.js';
import { ReadCapExceeded } from './read-cap.js';
import { openSqliteDatabase, type SqliteStoreOptions } from './sqlite.js';
import type { Store } from './types.js';

/** A call from the server's thread to the store thread. */
export interface StoreCall {
  id: number;
  method: string;
  args: unknown[];
}

/** The store thread's answer to one call: its value, or the error it threw. */
export type StoreAnswer =
  | { id: number; value: unknown; error?: undefined }
  | { id: number; error: { name: string; message: string; maxBytes?: number; sessionId?: string; token?: number } };

const METHODS = [
  'createSession',
  'getSession',
  'getUsage',
  'listSessions',
  'deleteSession',
  'listUnsettledSessions',
  'appendEvents',
  'readEvents',
  'listMessages',
  'getPermission',
  'listPermissions',
  'addPermissionRule',
  'hasPermissionRule',
  'enqueue',
  'startTurn',
  'listQueue',
  'clearQueue',
  'getClientMessage',
  'putClientMessage',
  'getConfig',
  'putConfig',
  'claimLease',
  'releaseLease',
  'getLease',
  'ping',
] as const satisfies ReadonlyArray<Exclude<keyof Store, 'shared' | 'close'>>;
// Every Store method is in METHODS: a method added to Store and not here fails to compile.
const everyMethod: Exclude<Exclude<keyof Store, 'shared' | 'close'>, (typeof METHODS)[number]> extends never ? true : never = true;
void everyMethod;

/**
 * Starts the store thread's program: compiled JS as it is, TypeScript source (tests, `npm
 * run dev`) through tsx's loader, registered in the worker before it imports the module.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(workerData.tsx ? import(workerData.tsx).then((tsx) => tsx.register()) : Promise.resolve()).then(() => import(workerData.entry));
`;

/**
 * The SQLite store on a thread of its own, the default of `npm start`. better-sqlite3 is
 * synchronous: on the server's thread every append stops the event loop that delivers events
 * for as long as SQLite takes (about 0.5 ms for a coalesced delta of a few KB, over 10 ms for
 * the TextCompleteEvent of a long answer). Here the database lives in a worker thread running
 * the same `createSqliteStore`, and the server's thread only posts each call and takes its
 * answer (a structured clone each way). Calls run one at a time in the order they were made,
 * so every guarantee of the synchronous store holds.
 *
 * Opening is checked on the caller's thread first (the database is opened and migrated, then
 * closed), so a bad DATA_DIR throws StoreOpenError here, synchronously, as with the
 * in-thread store. A store thread that dies fails every call in flight and every later one.
 */
export function createThreadedSqliteStore(options: SqliteStoreOptions): Store {
  if (options.path === ':memory:') throw new Error('a threaded SQLite store needs a file (":memory:" would be the thread\'s own)');
  openSqliteDatabase(options.path, options.busyTimeoutMs).close();

  const source = import.meta.url;
  const typescript = source.endsWith('.ts');
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    workerData: {
      entry: source.replace(/sqlite-thread\.(ts|js)$/, 'sqlite-worker.$1'),
      tsx: typescript ? tsxApi(source) : null,
      options,
    },
  });
  // Referenced only while a call is in flight: an idle store never keeps the process alive.
  worker.unref();
  const exited = once(worker, 'exit').catch(() => {});

  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | null = null;
  let closing: Promise<void> | null = null;

  const fail = (error: Error) => {
    failure ??= error;
    for (const call of pending.values()) call.reject(failure);
    pending.clear();
  };
  worker.on('error', (error) => fail(new Error(`the SQLite store thread failed: ${error.message}`, { cause: error })));
  worker.on('exit', (code) => fail(new Error(`the SQLite store thread ${closing ? 'is closed' : `exited (code ${code})`}`)));
  worker.on('message', (answer: StoreAnswer) => {
    const call = pending.get(answer.id);
    if (!call) return;
    pending.delete(answer.id);
    if (pending.size === 0) worker.unref();
    if (answer.error) call.reject(rebuild(answer.error));
    else call.resolve(answer.value);
  });

  const call = (method: string, args: unknown[]): Promise<never> => {
    if (failure) return Promise.reject(failure);
    const id = ++nextId;
    if (pending.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies StoreCall);
    });
  };

  const store = { shared: false } as Record<string, unknown>;
  for (const method of METHODS) store[method] = (...args: unknown[]) => call(method, args);
  store.close = () =>
    (closing ??= (async () => {
      if (!failure) await call('close', []).catch(() => {});
      // Referenced until it has exited: else, with nothing else left, the process would end
      // first, and whoever awaits close() (a stop that logs "stopped") would never go on.
      worker.ref();
      await exited;
    })());
  return store as unknown as Store;
}

/** An error thrown on the store thread, as the caller's thread sees it: a cap keeps its class. */
function rebuild(error: { name: string; message: string; maxBytes?: number; sessionId?: string; token?: number }): Error {
  if (error.name === 'ReadCapExceeded') return new ReadCapExceeded(error.maxBytes ?? 0);
  if (error.name === 'FencedError') return new FencedError(error.sessionId ?? '', error.token ?? 0);
  return Object.assign(new Error(error.message), { name: error.name });
}

/**
 * tsx's ESM API (its `register()` adds the loader to the calling thread). Resolved by path:
 * the package's export of it resolves, from here, to the CommonJS build, which cannot.
 */
function tsxApi(from: string): string {
  const root = dirname(createRequire(from).resolve('tsx/package.json'));
  return pathToFileURL(join(root, 'dist/esm/api/index.mjs')).href;
}
