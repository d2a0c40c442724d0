/**
 * What the two baseline servers (`naive-yoga.ts`, `raw-ws.ts`) share: the fake model stream
 * (the same token semantics as the demo agent's `/stream N [R]`: tokens `t1 `, `t2 `, …, as
 * fast as possible with a macrotask yield every 64 tokens, or paced at R tokens/s), the
 * per-session event log counters (seq 1, 2, 3, … without holes, across turns), and the IPC
 * protocol of `bench/server.ts` (`usage`, `profile`, `stop`), so that the fan-out harness
 * measures them exactly as it measures Switchboard.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Server } from 'node:http';
import type { WebSocketServer } from 'ws';
import type { ServerUsage } from '../server.js';
import { onParentMessage, sendToParent } from '../lib/processes.js';
import { createProfiler } from '../lib/profiler.js';

/** The event shapes `bench/load.ts` selects (same type names and fields as Switchboard's schema). */
export type BaselineEvent =
  | { __typename: 'TextDeltaEvent'; sessionId: string; seq: number; turnId: string; at: string; delta: string }
  | { __typename: 'TextCompleteEvent'; sessionId: string; seq: number; turnId: string; at: string; text: string; isIntermediate: boolean }
  | { __typename: 'CompleteEvent'; sessionId: string; seq: number; turnId: string; at: string; reason: 'END_TURN' | 'ERROR' };

/** Same as the demo agent: yield to the macrotask queue every this many tokens when unpaced. */
const TOKENS_PER_YIELD = 64;

export interface BaselineSession {
  id: string;
  /** Seq of the newest event (0 if none). */
  seq: number;
  /** Turns run one after another, like Switchboard's ENQUEUE strategy. */
  tail: Promise<void>;
  turns: number;
}

const sessions = new Map<string, BaselineSession>();
let generatedIds = 0;

export function createSession(id: string | null | undefined): BaselineSession {
  const sessionId = id ?? `s${++generatedIds}`;
  let session = sessions.get(sessionId);
  if (!session) {
    session = { id: sessionId, seq: 0, tail: Promise.resolve(), turns: 0 };
    sessions.set(sessionId, session);
  }
  return session;
}

export function getSession(id: string): BaselineSession {
  const session = sessions.get(id);
  if (!session) throw new Error(`no session ${id}`);
  return session;
}

function parseStream(text: string): { count: number; rate: number } | null {
  const m = /^\/stream\s+(\d+)(?:\s+(\d+(?:\.\d+)?))?\s*$/.exec(text.trim());
  if (!m) return null;
  return { count: Math.min(Number(m[1]), 1_000_000), rate: m[2] === undefined ? Infinity : Number(m[2]) };
}

/**
 * Starts a turn (after the session's running one, if any) and returns its id at once. With
 * `/stream N [R]` it emits N TextDeltaEvents `t1 `, `t2 `, …, then a TextCompleteEvent and a
 * CompleteEvent END_TURN; any other text is echoed as one delta `You said: <text>`. Every
 * event goes to `emit`, synchronously, with the next seq of the session.
 *
 * With `coalesceMs`, deltas are joined the way Switchboard joins them (a delta on a quiet
 * session at once, the rest in windows of `coalesceMs`, whatever is pending before the
 * TextCompleteEvent), so that a baseline can send the messages Switchboard sends.
 */
export function startTurn(
  session: BaselineSession,
  text: string,
  emit: (event: BaselineEvent) => void,
  { coalesceMs = 0 }: { coalesceMs?: number } = {},
): string {
  const turnId = `${session.id}-turn-${++session.turns}`;
  const run = async () => {
    const stream = parseStream(text);
    const sessionId = session.id;
    let full = '';
    const send = (d: string, at: string) =>
      emit({ __typename: 'TextDeltaEvent', sessionId, seq: ++session.seq, turnId, at, delta: d });
    /** The joined delta waiting for its window to close, and its first token's time. */
    let pending: { delta: string; at: string } | null = null;
    let window: NodeJS.Timeout | null = null;
    const closeWindow = () => {
      window = null;
      if (!pending) return;
      send(pending.delta, pending.at);
      pending = null;
      window = setTimeout(closeWindow, coalesceMs);
    };
    const delta = (d: string) => {
      full += d;
      const at = new Date().toISOString();
      if (coalesceMs <= 0) return send(d, at);
      if (pending) pending.delta += d;
      else if (window) pending = { delta: d, at };
      else {
        send(d, at);
        window = setTimeout(closeWindow, coalesceMs);
      }
    };
    if (stream) {
      const start = performance.now();
      const msPerToken = 1000 / stream.rate;
      let sinceMacrotask = 0;
      for (let i = 1; i <= stream.count; i++) {
        const wait = start + (i - 1) * msPerToken - performance.now();
        if (wait > 0) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          sinceMacrotask = 0;
        } else if (sinceMacrotask >= TOKENS_PER_YIELD) {
          await new Promise((resolve) => setImmediate(resolve));
          sinceMacrotask = 0;
        }
        delta(`t${i} `);
        sinceMacrotask++;
      }
    } else {
      delta(`You said: ${text}`);
    }
    if (window) clearTimeout(window);
    // (Set by the closures above; TypeScript's narrowing does not see it.)
    const last = pending as { delta: string; at: string } | null;
    if (last) send(last.delta, last.at);
    emit({ __typename: 'TextCompleteEvent', sessionId, seq: ++session.seq, turnId, at: new Date().toISOString(), text: full, isIntermediate: false });
    emit({ __typename: 'CompleteEvent', sessionId, seq: ++session.seq, turnId, at: new Date().toISOString(), reason: 'END_TURN' });
  };
  session.tail = session.tail.then(run).catch((error) => console.error('[baseline] turn failed:', error));
  return turnId;
}

/** Answers the bench's `usage` / `profile` / `stop` like `bench/server.ts` (no store, no PubSub stats). */
export function serveBenchIpc(stop: () => Promise<void>): void {
  if (!process.send) return;
  const profile = createProfiler();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  onParentMessage(async (message) => {
    if (message.type === 'usage') {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      const usage: ServerUsage = {
        type: 'usage',
        userMicros: cpu.user,
        systemMicros: cpu.system,
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        uptimeMs: process.uptime() * 1000,
        eventLoopDelay: { meanMs: loopDelay.mean / 1e6, p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 },
        store: {},
        pubsub: {},
      };
      loopDelay.reset();
      sendToParent(usage as unknown as { type: string });
    } else if (message.type === 'profile') {
      await profile(message);
      sendToParent({ type: 'profiled' });
    } else if (message.type === 'stop') {
      await stop();
    }
  });
}

/** Stops on SIGTERM/SIGINT and on the bench's `stop`; exits 1 if closing takes over 10 s. */
export function stopper(close: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      setTimeout(() => process.exit(1), 10_000).unref();
      await close();
      process.exit(0);
    })();
    return stopping;
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  return stop;
}

/** Loopback only, like `bench/server.ts`. */
export function checkHost(host: string): void {
  if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
    console.error('the bench servers only listen on loopback');
    process.exit(1);
  }
}

/**
 * The tail every baseline shares: answer the bench's IPC, stop on a signal or a `stop`
 * message (terminate sockets, close both servers), listen, and print the line the harness
 * waits for: `<name> listening on http://HOST:PORT/graphql`.
 */
export async function listenAsBaseline(name: string, httpServer: Server, wsServer: WebSocketServer, port: number, host: string) {
  const stop = stopper(async () => {
    for (const client of wsServer.clients) client.terminate();
    await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    httpServer.closeAllConnections();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  });
  serveBenchIpc(stop);
  await new Promise<void>((resolve) => httpServer.listen(port, host, resolve));
  const address = httpServer.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  console.log(`${name} listening on http://${shown}:${address.port}/graphql`);
}
