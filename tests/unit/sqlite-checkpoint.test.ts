import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { delta, sessionRecord, uniqueId } from '../utils/events.js';

let dir: string;
let store: Store | null = null;

afterEach(async () => {
  await store?.close();
  store = null;
  rmSync(dir, { recursive: true, force: true });
});

/** Appends `count` one-event batches (what a live stream mostly writes) to a new session. */
async function appendDeltas(s: Store, count: number) {
  const session = sessionRecord({ id: uniqueId('s') });
  await s.createSession(session);
  for (let i = 0; i < count; i++) await s.appendEvents(session.id, [delta(session.id, `token ${i} `.repeat(20))]);
  return session.id;
}

describe('SQLite WAL checkpoints', () => {
  it('are made by the worker thread: the database file takes the pages while the server only appends', async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-wal-'));
    const file = join(dir, 'switchboard.db');
    store = createSqliteStore({ path: file, checkpointIntervalMs: 10 });
    const before = statSync(file).size;
    // Far fewer pages than SQLite's own threshold (1000): without the worker, they would all
    // stay in the WAL until the store closes.
    const sessionId = await appendDeltas(store, 100);
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(before + 50_000), { timeout: 5000, interval: 20 });
    expect(await store.readEvents(sessionId, 0, 1000)).toHaveLength(100);
  });

  it('leave everything to SQLite with checkpointIntervalMs 0, and close cleanly either way', async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-wal-'));
    const file = join(dir, 'switchboard.db');
    store = createSqliteStore({ path: file, checkpointIntervalMs: 0 });
    const before = statSync(file).size;
    const sessionId = await appendDeltas(store, 100);
    expect(statSync(file).size).toBe(before); // below the threshold, nothing was checkpointed
    await store.close();
    store = createSqliteStore({ path: file });
    expect(await store.readEvents(sessionId, 0, 1000)).toHaveLength(100);
  });
});
