import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore, StoreOpenError } from '../../src/store/sqlite.js';
import { createThreadedSqliteStore } from '../../src/store/sqlite-thread.js';
import type { Store } from '../../src/store/types.js';
import { delta, sessionRecord, uniqueId } from '../utils/events.js';

let dir: string;
const opened: Store[] = [];

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(create: typeof createSqliteStore) {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-thread-'));
  const store = create({ path: join(dir, 'switchboard.db') });
  opened.push(store);
  return store;
}

/**
 * Turns of the event loop (setImmediate callbacks) that run while `work` is pending: none
 * when the work is done synchronously on this thread, some when it is done elsewhere.
 */
async function loopTurnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  await work();
  done = true;
  return turns;
}

describe('the SQLite store thread', () => {
  // 400 events of 20 KB: tens of ms of SQLite work, enough for the loop to turn many times.
  const bigBatch = (sessionId: string) => Array.from({ length: 400 }, (_, i) => delta(sessionId, `${i} `.padEnd(20_000, 'x')));

  it("writes on its own thread: the server's event loop keeps turning during a large append", async () => {
    const store = open(createThreadedSqliteStore);
    const session = sessionRecord({ id: uniqueId('s') });
    await store.createSession(session);
    const turns = await loopTurnsDuring(() => store.appendEvents(session.id, bigBatch(session.id)));
    expect(turns).toBeGreaterThan(0);
    const events = await store.readEvents(session.id, 0, 1000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  });

  it('(the in-thread store, for contrast, holds the loop for the whole append)', async () => {
    const store = open(createSqliteStore);
    const session = sessionRecord({ id: uniqueId('s') });
    await store.createSession(session);
    expect(await loopTurnsDuring(() => store.appendEvents(session.id, bigBatch(session.id)))).toBe(0);
  });

  it('answers in call order, passes errors back, and fails every call once closed', async () => {
    const store = open(createThreadedSqliteStore);
    const session = sessionRecord({ id: uniqueId('s') });
    const created = store.createSession(session);
    const appended = [1, 2, 3].map((i) => store.appendEvents(session.id, [delta(session.id, `t${i}`)]));
    await created;
    expect((await Promise.all(appended)).map(([e]) => e!.seq)).toEqual([1, 2, 3]);
    await expect(store.appendEvents('missing', [delta('missing', 'x')])).rejects.toThrow('appendEvents: no session missing');
    expect(await store.ping()).toBe(true);

    await store.close();
    await store.close(); // twice is fine
    await expect(store.getSession(session.id)).rejects.toThrow('the SQLite store thread is closed');
    // What it wrote is on disk for the next opening.
    const again = createSqliteStore({ path: join(dir, 'switchboard.db') });
    opened.push(again);
    expect(await again.readEvents(session.id, 0, 10)).toHaveLength(3);
  });

  it('refuses a file that is not a database at once, on the calling thread, naming it', () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-thread-'));
    const path = join(dir, 'switchboard.db');
    writeFileSync(path, 'not a database, just some text that is long enough to have a header'.repeat(100));
    expect(() => createThreadedSqliteStore({ path })).toThrow(StoreOpenError);
    expect(() => createThreadedSqliteStore({ path })).toThrow(path);
  });
});
