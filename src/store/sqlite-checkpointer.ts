import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's whole program (plain CommonJS, evaluated, so it runs the same from src/ under
 * a TypeScript loader and from dist/): its own connection to the database, a PASSIVE
 * checkpoint on a timer. PASSIVE never waits for the writer; a busy or failed attempt is
 * simply tried again at the next tick.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 0 });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {}
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage('ready');
`;

export interface Checkpointer {
  /** Stops the worker and closes its connection. */
  stop(): Promise<void>;
}

/**
 * Checkpoints a WAL database from a worker thread, so that the server's thread, which does
 * every write synchronously, never stops for one. SQLite's automatic checkpoint runs inside
 * the commit that crosses the threshold: it copies pages into the database file and fsyncs,
 * a pause of several ms on the event loop every few hundred appends. The caller turns the
 * automatic checkpoint off once `ready` resolves, and back on if `onFailure` is called.
 */
export function startCheckpointer(path: string, intervalMs: number, onFailure: (error: unknown) => void): { ready: Promise<void>; checkpointer: Checkpointer } {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, driver } });
  worker.unref(); // it never keeps the process alive; close() stops it
  let stopping = false;
  const exited = once(worker, 'exit').catch(() => {});
  worker.on('error', (error) => {
    if (!stopping) onFailure(error);
  });
  worker.on('exit', () => {
    if (!stopping) onFailure(new Error('the checkpoint worker exited'));
  });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('the checkpoint worker exited')));
  });
  ready.catch(() => {}); // reported through onFailure
  return {
    ready,
    checkpointer: {
      async stop() {
        if (stopping) return;
        stopping = true;
        worker.postMessage('stop');
        const timeout = setTimeout(() => void worker.terminate(), 2000);
        await exited;
        clearTimeout(timeout);
      },
    },
  };
}
