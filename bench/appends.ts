/**
 * Appends per second, in process: how fast each Store takes events, one per `appendEvents`
 * call (one transaction each) and in batches of 20 (what the EventLog hands over under load:
 * one transaction per batch). Realistic TEXT_DELTA events of about 40 bytes, spread
 * round-robin over several sessions.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NewSessionEvent } from '../src/events/types.js';
import { createMemoryStore } from '../src/store/memory.js';
import { createSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';
import { makeTempDir, removeTempDir } from './lib/processes.js';
import type { ScenarioResult, Table } from './lib/results.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { fmt, median } from './lib/stats.js';

export interface AppendsOptions {
  /** Events appended per run (each mode, each store). */
  events: number;
  sessions: number;
  batchSizes: number[];
  repeats: number;
}

export const defaultAppendsOptions: AppendsOptions = { events: 20_000, sessions: 10, batchSizes: [1, 20], repeats: 3 };
const quickAppendsOptions: AppendsOptions = { events: 2_000, sessions: 4, batchSizes: [1, 20], repeats: 1 };

type StoreKind = 'memory' | 'sqlite';

interface Run {
  store: StoreKind;
  batch: number;
  events: number;
  transactions: number;
  ms: number;
  /** Process CPU time (user + system) spent in the timed loop. */
  cpuMs: number;
}

function openStore(kind: StoreKind): { store: Store; cleanup: () => void } {
  if (kind === 'memory') return { store: createMemoryStore(), cleanup: () => {} };
  const dir = makeTempDir('switchboard-bench-appends-');
  return {
    store: createSqliteStore({ path: join(dir, 'switchboard.db') }),
    cleanup: () => removeTempDir(dir),
  };
}

/** ~40 bytes of streamed text, like a few coalesced tokens: "t1201 t1202 t1203 …". */
function deltaText(i: number): string {
  let text = '';
  for (let t = i * 7; text.length < 40; t++) text += `t${t} `;
  return text;
}

async function runOnce(kind: StoreKind, batch: number, opts: AppendsOptions): Promise<Run> {
  const { store, cleanup } = openStore(kind);
  try {
    const now = new Date().toISOString();
    const sessions = Array.from({ length: opts.sessions }, (_, i) => ({ id: `bench-${i}`, turnId: randomUUID() }));
    for (const s of sessions) {
      await store.createSession({
        id: s.id,
        userId: 'local',
        title: s.id,
        model: 'demo',
        permissionMode: 'ASK',
        status: 'IDLE',
        lastSeq: 0,
        createdAt: now,
        updatedAt: now,
      });
      // Each session is in a turn, as when it streams.
      await store.appendEvents(s.id, [
        { type: 'USER_MESSAGE', sessionId: s.id, turnId: s.turnId, at: now, messageId: randomUUID(), text: '/stream' },
      ]);
    }
    // Events are built up front: the timed loop measures the store, not the bench.
    const calls: { sessionId: string; events: NewSessionEvent[] }[] = [];
    for (let i = 0, n = 0; n < opts.events; i++) {
      const s = sessions[i % sessions.length]!;
      const events: NewSessionEvent[] = [];
      for (let k = 0; k < batch && n < opts.events; k++, n++) {
        events.push({ type: 'TEXT_DELTA', sessionId: s.id, turnId: s.turnId, at: new Date().toISOString(), delta: deltaText(n) });
      }
      calls.push({ sessionId: s.id, events });
    }
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (const call of calls) await store.appendEvents(call.sessionId, call.events);
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    // Sanity: every event got its seq.
    for (const s of sessions) {
      const session = await store.getSession(s.id);
      const expected = 1 + calls.filter((c) => c.sessionId === s.id).reduce((a, c) => a + c.events.length, 0);
      if (session?.lastSeq !== expected) throw new Error(`${kind}: session ${s.id} lastSeq ${session?.lastSeq}, expected ${expected}`);
    }
    await store.close();
    return { store: kind, batch, events: opts.events, transactions: calls.length, ms, cpuMs: (used.user + used.system) / 1000 };
  } finally {
    cleanup();
  }
}

export async function runAppends(ctx: ScenarioContext, opts: AppendsOptions): Promise<ScenarioResult> {
  const runs: Run[] = [];
  const kinds: StoreKind[] = ['memory', 'sqlite'];
  // Warm-up (JIT, SQLite's first file): not counted.
  for (const kind of kinds) await runOnce(kind, 20, { ...opts, events: Math.min(2_000, opts.events) });
  for (let r = 0; r < opts.repeats; r++) {
    for (const batch of opts.batchSizes) {
      for (const kind of kinds) {
        const run = await runOnce(kind, batch, opts);
        ctx.log(`appends: ${kind} batch ${batch}: ${fmt((run.events / run.ms) * 1000)} events/s`);
        runs.push(run);
      }
    }
  }

  const summary = opts.batchSizes.flatMap((batch) =>
    kinds.map((kind) => {
      const mine = runs.filter((r) => r.store === kind && r.batch === batch);
      const ms = median(mine.map((r) => r.ms));
      const first = mine[0]!;
      return {
        store: kind,
        batch,
        events: first.events,
        transactions: first.transactions,
        medianMs: ms,
        eventsPerSecond: (first.events / ms) * 1000,
        transactionsPerSecond: (first.transactions / ms) * 1000,
        microsecondsPerEvent: (ms * 1000) / first.events,
        cpuMicrosecondsPerEvent: (median(mine.map((r) => r.cpuMs)) * 1000) / first.events,
      };
    }),
  );

  const table: Table = {
    title: `Appends (in process; ${fmt(opts.events, 0)} TEXT_DELTA events of ~40 bytes over ${opts.sessions} sessions; median of ${opts.repeats})`,
    columns: ['store', 'events per call', 'events/s', 'transactions/s', 'µs/event', 'CPU µs/event'],
    rows: summary.map((s) => [
      s.store,
      String(s.batch),
      fmt(s.eventsPerSecond),
      fmt(s.transactionsPerSecond),
      fmt(s.microsecondsPerEvent),
      fmt(s.cpuMicrosecondsPerEvent),
    ]),
    notes: [],
  };
  const sqliteBatched = summary.find((s) => s.store === 'sqlite' && s.batch === Math.max(...opts.batchSizes));
  const sqliteSingle = summary.find((s) => s.store === 'sqlite' && s.batch === 1);
  if (sqliteBatched && sqliteSingle) {
    table.notes!.push(
      `SQLite: batches of ${sqliteBatched.batch} append ${fmt(sqliteBatched.eventsPerSecond / sqliteSingle.eventsPerSecond, 1)}× the events/s of one event per transaction.`,
    );
  }
  return { name: 'appends', ok: true, tables: [table], data: { options: opts, summary, runs } };
}

export const appendsScenario: Scenario = {
  name: 'appends',
  description: 'Store.appendEvents throughput, memory vs SQLite, one event per call vs batches of 20',
  run: (ctx) => {
    const base = ctx.quick ? quickAppendsOptions : defaultAppendsOptions;
    return runAppends(ctx, { ...base, repeats: ctx.repeats ?? base.repeats });
  },
};
