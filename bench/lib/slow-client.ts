/**
 * The load generator of the `slow` scenario (`bench/slow.ts`), in a process of its own (started
 * with an IPC channel):
 *
 *   node --import tsx bench/lib/slow-client.ts
 *
 * `{type: 'start', config: SlowClientConfig}`: creates `sessions` sessions, opens
 * `subscribersPerSession` real graphql-ws clients on `ws` per session (one WebSocket each),
 * subscribed with `after: 0`, and runs a warm-up turn until every subscriber has its
 * CompleteEvent (sent again, up to 3 times: the live-only baselines miss a turn that starts
 * before a subscription is registered) → `ready`.
 *
 * `{type: 'go', slow}`: with `slow`, first stops reading on subscriber 0 of session 0 (the
 * "slow subscriber": `ws.pause()`, i.e. its TCP socket is paused, so the kernel buffers and then
 * the server's send queue fill up); then sends `/stream tokens` to every session and waits until
 * every OTHER subscriber has the turn's CompleteEvent (or has lost its connection) → `others`,
 * with their latency (each delta's receipt − its `at`) and the check of what they got.
 *
 * `{type: 'resume'}`: resumes reading on the slow subscriber and waits until it has the turn's
 * CompleteEvent or its connection is gone; if gone and `resumable` (Switchboard), subscribes
 * again on a new WebSocket with `after: <last seq it got>` and waits for the CompleteEvent →
 * `slow`, with its fate and the check of its whole stream (both connections).
 *
 * `stop` disposes every client and exits; the process also exits if the bench goes away.
 */
import { performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { checkStream, createSession, sendMessage, SESSION_EVENTS, streamedText, assertLoopback, type ReceivedEvent } from './gql-http.js';
import { fatal, onParentMessage, sendToParent } from './processes.js';

export interface SlowClientConfig {
  url: string;
  /** Prefix of the session ids (unique per round). */
  prefix: string;
  sessions: number;
  subscribersPerSession: number;
  warmupTokens: number;
  tokens: number;
  /** Whether the server replays with `after` (Switchboard; the baselines are live only). */
  resumable: boolean;
  /** Give up waiting for the others / the slow subscriber after this long. */
  timeoutMs: number;
}

export interface OthersResult {
  type: 'others';
  ok: boolean;
  failures: string[];
  /** Subscribers that got the turn's CompleteEvent (the slow one excluded). */
  completed: number;
  others: number;
  /** Subscribers whose connection closed or errored before their CompleteEvent. */
  lost: number;
  /** From sending the turn to the last other subscriber's CompleteEvent (or the deadline). */
  elapsedMs: number;
  latencyMs: { p50: number; p99: number; max: number; count: number };
  /** The slow subscriber when the others were done: events and bytes it had read, whether its connection is gone. */
  slowEvents: number;
  slowBytes: number;
  slowGone: string | null;
  loadCpuMicros: number;
}

export type SlowFate = 'completed' | 'completed after resubscribing' | 'closed' | 'error' | 'timeout';

export interface SlowResult {
  type: 'slow';
  fate: SlowFate;
  /** Close code / error of the first connection, if it ended before the CompleteEvent. */
  closedWith: string | null;
  /** From resuming to the CompleteEvent (or to giving up). */
  resumeMs: number;
  /** Bytes read after resuming (what kernel and server had held back), first connection. */
  backlogBytes: number;
  /** Events of the turn replayed by the second subscription (after a close), if any. */
  replayedEvents: number;
  /** null: exact stream (every seq, no gap, no duplicate, text exact); else the problem. */
  problem: string | null;
}

interface Sub {
  session: number;
  index: number;
  client: Client;
  ws: WebSocket | null;
  events: ReceivedEvent[];
  /** turnId → receipt of its CompleteEvent. */
  completes: Set<string>;
  /** Wall-clock receipt time of each delta of the measured turn, paired with its `at`. */
  latencies: number[];
  bytes: number;
  gone: string | null;
  onEvent: (() => void) | null;
  /** Which connection is current: a replaced one's late close and errors are ignored. */
  generation: number;
}

let config: SlowClientConfig;
let sessionIds: string[] = [];
let subs: Sub[] = [];
let measuredTurn: string[] = [];
let measuring = false;
const extraClients: Client[] = [];

const wallNow = () => performance.timeOrigin + performance.now();

function open(session: number, index: number, after: number, into?: Sub): Promise<Sub> {
  const sub: Sub = into ?? { session, index, client: null as unknown as Client, ws: null, events: [], completes: new Set(), latencies: [], bytes: 0, gone: null, onEvent: null, generation: 0 };
  const generation = ++sub.generation;
  const current = () => sub.generation === generation;
  // A class per client, to keep hold of its WebSocket (for pause/resume and byte counts).
  class TrackedWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      sub.ws = this;
      this.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        sub.bytes += Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;
      });
    }
  }
  return new Promise<Sub>((resolve, reject) => {
    const client = createClient({
      url: config.url.replace(/^http/, 'ws'),
      webSocketImpl: TrackedWebSocket,
      lazy: false,
      retryAttempts: 0,
      on: {
        connected: () => resolve(sub),
        closed: (event) => {
          if (!current()) return;
          const e = event as { code?: number; reason?: string };
          sub.gone ??= `closed ${e.code ?? '?'}${e.reason ? ` ${e.reason}` : ''}`;
          sub.onEvent?.();
        },
      },
      onNonLazyError: (e) => reject(new Error(`client ${session}/${index}: ${e instanceof Error ? e.message : JSON.stringify(e)}`)),
    });
    if (into) extraClients.push(client);
    else sub.client = client;
    client.subscribe<{ sessionEvents: { __typename: string; seq: number; turnId: string | null; at?: string; delta?: string; reason?: string } }>(
      { query: SESSION_EVENTS, variables: { sessionId: sessionIds[session], after } },
      {
        next: (value) => {
          if (!current()) return;
          const e = value.data?.sessionEvents;
          if (!e || value.errors?.length) {
            sub.gone ??= `error ${JSON.stringify(value.errors ?? value)}`;
            return;
          }
          sub.events.push({ typename: e.__typename, seq: e.seq, turnId: e.turnId, delta: e.delta, reason: e.reason });
          if (measuring && e.__typename === 'TextDeltaEvent' && e.turnId === measuredTurn[session] && e.at) {
            sub.latencies.push(wallNow() - Date.parse(e.at));
          }
          if (e.__typename === 'CompleteEvent' && e.turnId) sub.completes.add(e.turnId);
          sub.onEvent?.();
        },
        error: (error) => {
          if (!current()) return;
          const close = error as { code?: number; reason?: string };
          if (typeof close?.code === 'number') sub.gone ??= `closed ${close.code}${close.reason ? ` ${close.reason}` : ''}`;
          sub.gone ??= `error ${error instanceof Error ? error.message : JSON.stringify(error)}`;
          sub.onEvent?.();
        },
        complete: () => {
          if (!current()) return;
          sub.gone ??= 'completed by the server';
          sub.onEvent?.();
        },
      },
    );
  });
}

/** Resolves when every sub is done (`done(sub)`), or at the deadline; resolves with how many are. */
function waitAll(list: Sub[], done: (s: Sub) => boolean, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout;
    const check = () => {
      if (list.every(done)) finish();
    };
    const finish = () => {
      clearTimeout(timer);
      for (const s of list) s.onEvent = null;
      resolve(list.filter(done).length);
    };
    timer = setTimeout(finish, timeoutMs);
    for (const s of list) s.onEvent = check;
    check();
  });
}

const bigSummary = (values: number[]) => {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!);
  return { p50: at(50), p99: at(99), max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!, count: sorted.length };
};

async function start(cfg: SlowClientConfig) {
  config = cfg;
  assertLoopback(cfg.url);
  sessionIds = Array.from({ length: cfg.sessions }, (_, i) => `${cfg.prefix}-${i}`);
  for (const id of sessionIds) await createSession(cfg.url, id);
  const opening: Promise<Sub>[] = [];
  for (let s = 0; s < cfg.sessions; s++) for (let k = 0; k < cfg.subscribersPerSession; k++) opening.push(open(s, k, 0));
  subs = await Promise.all(opening);
  for (let attempt = 1; ; attempt++) {
    const turns = await Promise.all(sessionIds.map((id) => sendMessage(cfg.url, id, `/stream ${cfg.warmupTokens}`)));
    const live = await waitAll(subs, (s) => s.completes.has(turns[s.session]!), 10_000);
    if (live === subs.length) break;
    if (attempt === 3) throw new Error(`warm-up: ${live} of ${subs.length} subscribers live after 3 turns`);
  }
  // The baselines may have missed a warm-up turn: the checks start from the measured turn.
  for (const s of subs) s.events = [];
}

async function go(slow: boolean): Promise<OthersResult> {
  const slowSub = subs[0]!;
  if (slow) slowSub.ws!.pause();
  const others = slow ? subs.slice(1) : subs;
  const cpu0 = process.cpuUsage();
  measuring = true;
  const t0 = wallNow();
  measuredTurn = await Promise.all(sessionIds.map((id) => sendMessage(config.url, id, `/stream ${config.tokens}`)));
  await waitAll(others, (s) => s.completes.has(measuredTurn[s.session]!) || s.gone !== null, config.timeoutMs);
  const elapsedMs = wallNow() - t0;
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  const text = streamedText(config.tokens);
  const failures: string[] = [];
  let lost = 0;
  for (const s of others) {
    if (!s.completes.has(measuredTurn[s.session]!)) {
      if (s.gone) lost++;
      failures.push(`session ${s.session} subscriber ${s.index}: no CompleteEvent${s.gone ? ` (${s.gone})` : ` within ${config.timeoutMs} ms`}`);
      continue;
    }
    const problem = checkStream(s.events, measuredTurn[s.session]!, text, false);
    if (problem) failures.push(`session ${s.session} subscriber ${s.index}: ${problem}`);
  }
  return {
    type: 'others',
    ok: failures.length === 0,
    failures: failures.slice(0, 10),
    completed: others.filter((s) => s.completes.has(measuredTurn[s.session]!)).length,
    others: others.length,
    lost,
    elapsedMs,
    latencyMs: bigSummary(others.flatMap((s) => s.latencies)),
    slowEvents: slowSub.events.length,
    slowBytes: slowSub.bytes,
    slowGone: slowSub.gone,
    loadCpuMicros: cpu.user + cpu.system,
    // `completed` counts above; `lost` those whose connection ended first.
  } satisfies OthersResult;
}

async function resume(): Promise<SlowResult> {
  const slow = subs[0]!;
  const turnId = measuredTurn[0]!;
  const bytesAtResume = slow.bytes;
  const t0 = wallNow();
  if (slow.ws && slow.ws.readyState === WebSocket.OPEN) slow.ws.resume();
  await waitAll([slow], (s) => s.completes.has(turnId) || s.gone !== null, config.timeoutMs);
  const backlogBytes = slow.bytes - bytesAtResume;
  const text = streamedText(config.tokens);
  if (slow.completes.has(turnId)) {
    return { type: 'slow', fate: 'completed', closedWith: null, resumeMs: wallNow() - t0, backlogBytes, replayedEvents: 0, problem: checkStream(slow.events, turnId, text, false) };
  }
  const closedWith = slow.gone;
  if (closedWith === null) {
    return { type: 'slow', fate: 'timeout', closedWith, resumeMs: wallNow() - t0, backlogBytes, replayedEvents: 0, problem: `no CompleteEvent within ${config.timeoutMs} ms of resuming` };
  }
  const fate: SlowFate = closedWith.startsWith('closed') ? 'closed' : 'error';
  if (!config.resumable) {
    return { type: 'slow', fate, closedWith, resumeMs: wallNow() - t0, backlogBytes, replayedEvents: 0, problem: 'cut off, and the server cannot replay (live only)' };
  }
  // Switchboard: subscribe again with `after` = the last seq it got, on a new WebSocket.
  const lastSeq = slow.events.at(-1)?.seq ?? 0;
  const before = slow.events.length;
  slow.gone = null;
  await open(0, 0, lastSeq, slow);
  await waitAll([slow], (s) => s.completes.has(turnId) || s.gone !== null, config.timeoutMs);
  const replayedEvents = slow.events.length - before;
  const problem = slow.completes.has(turnId)
    ? checkStream(slow.events, turnId, text, false)
    : `after resubscribing with after: ${lastSeq}: ${slow.gone ?? `no CompleteEvent within ${config.timeoutMs} ms`}`;
  return { type: 'slow', fate: 'completed after resubscribing', closedWith, resumeMs: wallNow() - t0, backlogBytes, replayedEvents, problem };
}

async function stopAll() {
  await Promise.all([...subs.map((s) => s.client.dispose()), ...extraClients.map((c) => c.dispose())]);
}

onParentMessage(async (message) => {
  if (message.type === 'start') {
    await start(message.config as SlowClientConfig);
    sendToParent({ type: 'ready', subscribers: subs.length });
  } else if (message.type === 'go') {
    sendToParent((await go(Boolean(message.slow))) as unknown as { type: string });
  } else if (message.type === 'resume') {
    sendToParent((await resume()) as unknown as { type: string });
  } else if (message.type === 'stop') {
    await Promise.race([stopAll(), new Promise((r) => setTimeout(r, 3_000))]);
    process.exit(0);
  }
});
process.on('unhandledRejection', fatal);
sendToParent({ type: 'listening' });
