/**
 * The load generator, in a process of its own (started by bench/fanout.ts with an IPC channel):
 *
 *   node --import tsx bench/load.ts
 *
 * Driven over IPC: `{type: 'start', config: LoadConfig}` gives it the server, then each round
 * is `{type: 'round', round}` → `ready`, `{type: 'go'}` → `result`:
 * 1. `round` creates `sessions` fresh sessions over HTTP and opens `subscribersPerSession`
 *    graphql-ws clients per session (one WebSocket each, as browsers would), each subscribed
 *    with `after: 0`; runs a short warm-up turn (`/stream warmupTokens`) in every session and
 *    waits until every subscriber has its CompleteEvent, which also proves every subscription
 *    is live; then reports `{type: 'ready'}`;
 * 2. `go` sends `/stream tokens` to every session at once over HTTP and waits until every
 *    subscriber has that turn's CompleteEvent; checks what each one received (seqs 1..n
 *    without a gap, deltas concatenating to exactly the streamed text) and reports
 *    `{type: 'result'}`, with latency (each delta's receipt − its `at`), time to first token
 *    (the session's sendMessage request → each subscriber's first delta) and, for a paced turn
 *    (`rate`), the lag of every token behind its due time `sendMessage + i / rate`;
 * 3. `close` closes the round's clients (→ `closed`); `stop` closes them and exits.
 *
 * With `urls` (several instances of one cluster), session i is created and its messages are
 * sent on instance `i mod n`, and subscriber k of every session connects to instance `k mod n`:
 * every session has subscribers on every instance, and every instance runs turns.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { fatal, onParentMessage, sendToParent } from './lib/processes.js';
import { percentile, percentileVector, sortedPercentile, sum, type PercentileVector } from './lib/stats.js';

export interface LoadConfig {
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  /** Several instances serving the same sessions (see above); default `[url]`. */
  urls?: string[];
  sessions: number;
  subscribersPerSession: number;
  warmupTokens: number;
  tokens: number;
  /** Optional `/stream N R` rate, tokens/s; omitted: as fast as the agent can. */
  rate?: number;
  /** Give up (and fail) if the measured turn has not reached every subscriber by then. */
  timeoutMs: number;
  /**
   * Appends ` #<session id>` to every message (warm-up and measured turn), so that a fake
   * provider can tell which session a stream is for (the `agents` scenario's provider rows;
   * the demo agent would refuse it).
   */
  tagMessages?: boolean;
  /** Reports `firstDeltaAt` with the result. */
  reportFirstDeltas?: boolean;
}

export interface LoadResult {
  type: 'result';
  ok: boolean;
  /** The first few problems found (empty when ok). */
  failures: string[];
  subscribers: number;
  /** Tokens in the measured turn's deltas, summed over subscribers. */
  deliveredTokens: number;
  /** From sending the messages to the last subscriber's CompleteEvent. */
  elapsedMs: number;
  tokensPerSecond: number;
  /** WebSocket messages received in the measured window, all subscribers. */
  wsMessages: number;
  wsBytes: number;
  messagesPerSubscriber: { min: number; median: number; max: number };
  /** Time to first token: from sending the session's sendMessage request to a subscriber's first delta of the turn (one value per subscriber). */
  firstTokenMs: { p50: number; p99: number; max: number };
  /**
   * Per TextDeltaEvent of the measured turn, all subscribers: receipt time − the event's `at`
   * (both wall clocks of this machine; `at` has millisecond resolution, so ±1 ms).
   */
  latencyMs: LatencySummary;
  /**
   * Paced turns only (`rate` set, else null): per token i of the measured turn and subscriber,
   * receipt time of the delta containing it − its due time `sent + i / rate`, where `sent` is
   * when this process sent the session's sendMessage request. Negative: early (a token is due at
   * the end of its interval).
   */
  lagMs: LatencySummary | null;
  /** From sending the message to a subscriber's CompleteEvent. */
  completeMs: { p50: number; p99: number; max: number };
  /** This process's CPU time in the measured window (is the load generator the bottleneck?). */
  loadCpuMicros: number;
  /**
   * With `reportFirstDeltas`: per session id, each of its subscribers' receipt time of the
   * measured turn's first delta (wall-clock ms, `performance.timeOrigin + now`).
   */
  firstDeltaAt?: Record<string, number[]>;
}

/** p50/p99/max of many samples, with the whole distribution as a compact percentile vector (for charts). */
export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
  count: number;
  /** p1 … p99.999 (`PERCENTILE_POINTS` of bench/lib/stats.ts), ms. */
  percentiles: PercentileVector;
}

interface Received {
  typename: string;
  seq: number;
  turnId: string | null;
  delta?: string;
  reason?: string;
  /** The event's `at` (ISO string), deltas only. */
  at?: string;
  /** Wall-clock receipt time (ms, sub-ms resolution), deltas only. */
  receivedAt?: number;
}

interface Subscriber {
  sessionIndex: number;
  client: Client;
  events: Received[];
  completes: number;
  error: string | null;
  /** Messages (`next`) received before the measured window opened. */
  eventsAtGo: number;
  firstDeltaAt: number | null;
  completeAt: number | null;
  onComplete: (() => void) | null;
}

const SUBSCRIPTION = /* GraphQL */ `
  subscription BenchEvents($sessionId: ID!, $after: Int) {
    sessionEvents(sessionId: $sessionId, after: $after) {
      __typename
      ... on Event { seq turnId at }
      ... on TextDeltaEvent { delta }
      ... on TextCompleteEvent { text }
      ... on CompleteEvent { reason }
    }
  }
`;

let wsMessages = 0;
let wsBytes = 0;

/** The `ws` client, counting every message it receives. */
class CountingWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    super(address, protocols);
    this.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      wsMessages++;
      wsBytes += Array.isArray(data) ? sum(data.map((b) => b.length)) : data instanceof ArrayBuffer ? data.byteLength : data.length;
    });
  }
}

/** Set by the parent's `start` message. */
let config: LoadConfig;
let sessionIds: string[] = [];
/** Wall-clock time (ms) each session's latest sendMessage request was sent. */
let sentAt: number[] = [];

/** Wall clock with sub-millisecond resolution (comparable with `Date.parse(at)`). */
const wallNow = () => performance.timeOrigin + performance.now();

/** Instance `i mod n` of `urls` (without them, `url` is the only one). */
const instanceUrl = (i: number) => {
  const urls = config.urls?.length ? config.urls : [config.url];
  return urls[i % urls.length]!;
};

/**
 * HTTP requests go over a bounded pool of keep-alive connections: opening one connection per
 * session at once (1000 sessions) overflows the server's listen backlog (511), and the dropped
 * SYNs come back after the kernel's 1, 3, 7, 15 s retransmit timers: seconds of "time to first
 * token" that measure the TCP handshake storm, not the server.
 */
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 128 });

function post(url: string, payload: string, retries = 3): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: httpAgent,
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    // The server may close an idle keep-alive connection just as it is reused: the request never
    // reached it, so sending it again on a fresh connection is safe (the Node docs' recipe).
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (retries > 0 && req.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up')) {
        post(url, payload, retries - 1).then(resolve, reject);
      } else reject(error);
    });
    req.end(payload);
  });
}

async function graphql<T>(query: string, variables: Record<string, unknown>, url = config.url): Promise<T> {
  const res = await post(url, JSON.stringify({ query, variables }));
  const body = JSON.parse(res.text) as { data?: T; errors?: unknown[] };
  if (res.status !== 200 || body.errors?.length || !body.data) throw new Error(`${query.trim().split('\n')[0]}: HTTP ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

async function sendToAll(text: string): Promise<string[]> {
  sentAt = sessionIds.map(() => NaN);
  const replies = await Promise.all(
    sessionIds.map((sessionId, i) => {
      sentAt[i] = wallNow();
      return graphql<{ sendMessage: { turnId: string; queued: boolean } }>(
        'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { turnId queued } }',
        { input: { sessionId, text: config.tagMessages ? `${text} #${sessionId}` : text } },
        instanceUrl(i),
      );
    }),
  );
  return replies.map((r) => r.sendMessage.turnId);
}

/**
 * Resolves when every subscriber has seen `count` CompleteEvents; rejects at the deadline, or as
 * soon as a subscriber still waiting fails (its subscription ended in an error: with
 * `retryAttempts: 0` it will not complete any more, so there is no point waiting for it).
 */
function allCompleted(subscribers: Subscriber[], count: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let waiting = 0;
    let settled = false;
    let grace: NodeJS.Timeout | null = null;
    // After the first failure, a second for the others that fail with it, to count them.
    const failed = (s: Subscriber) => {
      if (settled || grace) return;
      grace = setTimeout(() => {
        settled = true;
        clearTimeout(timer);
        const errors = subscribers.filter((x) => x.error && x.completes < count);
        const sessions = new Set(errors.map((x) => x.sessionIndex));
        reject(new Error(`${errors.length} of ${subscribers.length} subscribers (in ${sessions.size} sessions) failed before CompleteEvent #${count} ` +
          `(e.g. session ${s.sessionIndex}, after ${s.events.length} events: ${s.error})`));
      }, 1000);
    };
    const timer = setTimeout(() => {
      settled = true;
      if (grace) clearTimeout(grace);
      const behind = subscribers.filter((s) => s.completes < count);
      reject(new Error(`${behind.length} of ${subscribers.length} subscribers lack CompleteEvent #${count} after ${timeoutMs} ms` +
        (behind[0] ? ` (e.g. session ${behind[0].sessionIndex}: ${behind[0].events.length} events, error ${behind[0].error})` : '')));
    }, timeoutMs);
    const done = () => {
      if (--waiting === 0 && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve();
      }
    };
    for (const s of subscribers) {
      if (s.completes >= count) continue;
      waiting++;
      s.onComplete = () => {
        if (s.completes >= count) {
          s.onComplete = null;
          done();
        } else if (s.error) failed(s);
      };
    }
    const early = subscribers.find((s) => s.error && s.completes < count);
    if (early) failed(early);
    else if (waiting === 0) {
      clearTimeout(timer);
      resolve();
    }
  });
}

/** A subscription's error: an Error, a GraphQL error list, or the WebSocket's close or error event (whose fields are getters: JSON shows `{}`). */
function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; reason?: unknown; wasClean?: unknown; type?: unknown; message?: unknown };
    if ('code' in e && 'reason' in e) return `WebSocket closed with code ${String(e.code)}${e.reason ? ` (${String(e.reason)})` : ''}${e.wasClean === false ? ', not clean' : ''}`;
    if ('type' in e && typeof e.type === 'string') return `WebSocket ${e.type}${e.message ? `: ${String(e.message)}` : ''}`;
  }
  return JSON.stringify(error);
}

const streamedText = (n: number) => {
  let text = '';
  for (let i = 1; i <= n; i++) text += `t${i} `;
  return text;
};

/** What one subscriber must have received: both turns, in order, complete and exact. */
function check(s: Subscriber, turns: { turnId: string; text: string }[]): string | null {
  const where = `session ${s.sessionIndex}`;
  if (s.error) return `${where}: subscription error: ${s.error}`;
  for (let i = 0; i < s.events.length; i++) {
    if (s.events[i]!.seq !== i + 1) return `${where}: event #${i + 1} has seq ${s.events[i]!.seq} (gap or duplicate)`;
  }
  for (const { turnId, text } of turns) {
    const mine = s.events.filter((e) => e.turnId === turnId);
    const got = mine.filter((e) => e.typename === 'TextDeltaEvent').map((e) => e.delta).join('');
    if (got !== text) return `${where}: turn ${turnId}: deltas join to ${got.length} chars, expected ${text.length} (${JSON.stringify(got.slice(0, 40))}…)`;
    const last = mine.at(-1);
    if (last?.typename !== 'CompleteEvent' || last.reason !== 'END_TURN') return `${where}: turn ${turnId} does not end with CompleteEvent END_TURN`;
  }
  if (s.events.some((e) => !turns.some((t) => t.turnId === e.turnId))) return `${where}: an event of an unknown turn`;
  return null;
}

const summary = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) });

/**
 * Nearest-rank p50/p99/max of many values, and their percentile vector (a typed array sorts
 * numerically, without copies of boxed numbers).
 */
function bigSummary(values: Float64Array): LatencySummary {
  const sorted = values.slice().sort();
  return {
    p50: sortedPercentile(sorted, 50),
    p99: sortedPercentile(sorted, 99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    count: sorted.length,
    percentiles: percentileVector(sorted),
  };
}

let subscribers: Subscriber[] = [];

function firstDeltasBySession(): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of subscribers) (out[sessionIds[s.sessionIndex]!] ??= []).push(s.firstDeltaAt ?? NaN);
  return out;
}
/** The measured step of the round in hand, once its warm-up is done. */
let measure: (() => Promise<LoadResult>) | null = null;
let stopRequested = false;

// Registered first: if the bench goes away at any point, this process goes too. The process
// starts (and loads its modules) while the server boots; `start` brings the server's URL.
onParentMessage(async (message) => {
  if (stopRequested) return;
  if (message.type === 'start' && !config) {
    config = message.config as LoadConfig;
    for (const url of [config.url, ...(config.urls ?? [])]) {
      if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)) fatal(new Error('the bench only talks to loopback'));
    }
    sendToParent({ type: 'started' });
  } else if (message.type === 'round' && config) {
    await closeClients();
    measure = await prepareRound(config, Number(message.round));
    sendToParent({ type: 'ready', subscribers: subscribers.length });
  } else if (message.type === 'go' && measure) {
    const run = measure;
    measure = null;
    sendToParent((await run()) as unknown as { type: string });
  } else if (message.type === 'close') {
    // After the parent has read the server's CPU time: teardown is not part of the window.
    await closeClients();
    sendToParent({ type: 'closed' });
  } else if (message.type === 'stop') {
    stopRequested = true;
    await closeClients();
    process.exit(0);
  }
});
sendToParent({ type: 'listening' });

async function closeClients() {
  const closing = subscribers;
  subscribers = [];
  await Promise.all(closing.map((s) => s.client.dispose()));
}

/**
 * A round: fresh sessions, one client per subscriber, all subscribed with `after: 0`, and a
 * warm-up turn everyone has received. Returns the measured step.
 */
async function prepareRound(cfg: LoadConfig, round: number): Promise<() => Promise<LoadResult>> {
  sessionIds = Array.from({ length: cfg.sessions }, (_, i) => `bench-${round}-${i}`);
  for (const [i, id] of sessionIds.entries()) {
    await graphql(
      'mutation Create($input: CreateSessionInput) { createSession(input: $input) { id } }',
      { input: { id, permissionMode: 'ALLOW_ALL' } },
      instanceUrl(i),
    );
  }

  const connected: Promise<void>[] = [];
  for (let i = 0; i < cfg.sessions; i++) {
    for (let k = 0; k < cfg.subscribersPerSession; k++) {
      let onConnected!: () => void;
      let onFailed!: (e: unknown) => void;
      connected.push(new Promise<void>((resolve, reject) => ((onConnected = resolve), (onFailed = reject))));
      const client = createClient({
        url: instanceUrl(k).replace(/^http/, 'ws'),
        webSocketImpl: CountingWebSocket,
        lazy: false,
        retryAttempts: 0,
        on: { connected: () => onConnected() },
        onNonLazyError: (e) => onFailed(e),
      });
      subscribers.push({
        sessionIndex: i,
        client,
        events: [],
        completes: 0,
        error: null,
        eventsAtGo: 0,
        firstDeltaAt: null,
        completeAt: null,
        onComplete: null,
      });
    }
  }
  await Promise.all(connected);

  let measuring = false;
  for (const s of subscribers) {
    s.client.subscribe<{ sessionEvents: Received & { __typename: string } }>(
      { query: SUBSCRIPTION, variables: { sessionId: sessionIds[s.sessionIndex], after: 0 } },
      {
        next: (value) => {
          const e = value.data?.sessionEvents;
          if (!e || value.errors?.length) {
            s.error ??= JSON.stringify(value.errors ?? value);
            return;
          }
          const isDelta = e.__typename === 'TextDeltaEvent';
          const receivedAt = isDelta ? wallNow() : undefined;
          s.events.push({ typename: e.__typename, seq: e.seq, turnId: e.turnId, delta: e.delta, reason: e.reason, at: isDelta ? e.at : undefined, receivedAt });
          if (measuring && s.firstDeltaAt === null && isDelta) s.firstDeltaAt = receivedAt!;
          if (e.__typename === 'CompleteEvent') {
            s.completes++;
            if (measuring) s.completeAt = wallNow();
            s.onComplete?.();
          }
        },
        error: (error) => {
          s.error ??= describeError(error);
          s.onComplete?.();
        },
        complete: () => {},
      },
    );
  }

  // Warm-up turn: JIT, first statements, and proof that every subscription is live.
  const warmupTurns = await sendToAll(`/stream ${cfg.warmupTokens}`);
  await allCompleted(subscribers, 1, cfg.timeoutMs);

  return async () => {
    for (const s of subscribers) s.eventsAtGo = s.events.length;
    const messagesAtGo = wsMessages;
    const bytesAtGo = wsBytes;
    const cpuAtGo = process.cpuUsage();
    measuring = true;
    const t0 = wallNow();
    const text = cfg.rate === undefined ? `/stream ${cfg.tokens}` : `/stream ${cfg.tokens} ${cfg.rate}`;
    const [measuredTurns] = await Promise.all([sendToAll(text), allCompleted(subscribers, 2, cfg.timeoutMs)]);
    const elapsedMs = Math.max(...subscribers.map((s) => s.completeAt!)) - t0;
    const sent = sentAt;
    const cpu = process.cpuUsage(cpuAtGo);
    measuring = false;

    const failures: string[] = [];
    const expected = streamedText(cfg.tokens);
    const warmupText = streamedText(cfg.warmupTokens);
    let deliveredTokens = 0;
    const latencies: number[] = [];
    const lags = cfg.rate === undefined ? null : new Float64Array(cfg.tokens * subscribers.length);
    let lagCount = 0;
    const msPerToken = cfg.rate === undefined ? NaN : 1000 / cfg.rate;
    for (const s of subscribers) {
      const turns = [
        { turnId: warmupTurns[s.sessionIndex]!, text: warmupText },
        { turnId: measuredTurns[s.sessionIndex]!, text: expected },
      ];
      const problem = check(s, turns);
      if (problem) failures.push(problem);
      for (const e of s.events.slice(s.eventsAtGo)) {
        if (e.typename !== 'TextDeltaEvent' || e.turnId !== turns[1]!.turnId) continue;
        // Every token is `t<i>` followed by exactly one space.
        for (let i = 0; i < e.delta!.length; i++) if (e.delta!.charCodeAt(i) === 32) deliveredTokens++;
        if (e.at !== undefined) latencies.push(e.receivedAt! - Date.parse(e.at));
        if (lags) {
          const start = sent[s.sessionIndex]!;
          for (const m of e.delta!.matchAll(/t(\d+) /g)) {
            if (lagCount < lags.length) lags[lagCount++] = e.receivedAt! - (start + Number(m[1]) * msPerToken);
          }
        }
      }
    }
    if (deliveredTokens !== cfg.tokens * subscribers.length) {
      failures.push(`delivered ${deliveredTokens} tokens, expected ${cfg.tokens * subscribers.length}`);
    }
    const perSubscriber = subscribers.map((s) => s.events.length - s.eventsAtGo);
    return {
      type: 'result',
      ok: failures.length === 0,
      failures: failures.slice(0, 10),
      subscribers: subscribers.length,
      deliveredTokens,
      elapsedMs,
      tokensPerSecond: (deliveredTokens / elapsedMs) * 1000,
      wsMessages: wsMessages - messagesAtGo,
      wsBytes: wsBytes - bytesAtGo,
      messagesPerSubscriber: { min: Math.min(...perSubscriber), median: percentile(perSubscriber, 50), max: Math.max(...perSubscriber) },
      firstTokenMs: summary(subscribers.map((s) => (s.firstDeltaAt ?? NaN) - sent[s.sessionIndex]!)),
      completeMs: summary(subscribers.map((s) => s.completeAt! - t0)),
      latencyMs: bigSummary(Float64Array.from(latencies)),
      lagMs: lags ? bigSummary(lags.subarray(0, lagCount)) : null,
      loadCpuMicros: cpu.user + cpu.system,
      ...(cfg.reportFirstDeltas ? { firstDeltaAt: firstDeltasBySession() } : {}),
    };
  };
}
