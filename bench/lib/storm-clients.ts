/**
 * Clients of the `storm` scenario (`bench/storm.ts`), in a process of their own (started with
 * an IPC channel; the scenario runs several):
 *
 *   node --import tsx bench/lib/storm-clients.ts
 *
 * `{type: 'open', url, sessionIds, count, offset, disconnectAtToken}`: opens `count` real
 * graphql-ws clients on `ws` (one WebSocket each, at most `BATCH` handshakes in flight), client i
 * subscribed to `sessionEvents(sessions[(offset + i) mod S], after: 0)` → `opened`. Each one
 * drops its connection (`ws.terminate()`, like a network cut) as soon as it has a delta holding
 * token `disconnectAtToken` or a later one, and ignores whatever that connection still brings.
 *
 * `{type: 'wait-disconnected', timeoutMs}` → `disconnected` once every client has dropped
 * (or at the deadline, with how many have).
 *
 * `{type: 'reconnect', turnIds, tokens, timeoutMs}`: every client at once opens a new WebSocket and
 * subscribes with `after: <last seq it got>`; → `caught-up` when each has its turn's
 * CompleteEvent (or at the deadline), with each client's time from its reconnect to that
 * CompleteEvent and to its connection_ack, and the check of what it got across both connections
 * (seqs 1..n, no gap, no duplicate, the deltas joining to exactly the streamed text, the turn
 * ending with CompleteEvent END_TURN).
 *
 * `stop` disposes every client and exits; the process also exits if the bench goes away.
 */
import { performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { assertLoopback, checkStream, SESSION_EVENTS, streamedText, type ReceivedEvent } from './gql-http.js';
import { fatal, onParentMessage, sendToParent } from './processes.js';

/** Handshakes in flight at once while opening (the first connections are not the storm). */
const BATCH = 200;

export interface CaughtUpReply {
  type: 'caught-up';
  clients: number;
  caughtUp: number;
  /** Per client that caught up: reconnect → CompleteEvent of the turn (ms). */
  catchUpMs: number[];
  /** Per client: reconnect → connection_ack (ms). */
  ackMs: number[];
  /** Per client: events it got on the second connection. */
  replayed: number[];
  /** Per client: the seq it resumed after. */
  resumedAfter: number[];
  /** From the `reconnect` message to the last client's CompleteEvent (ms). */
  allMs: number;
  failures: string[];
  failed: number;
  /** This process's CPU time over the storm (µs). */
  cpuMicros: number;
}

interface StormClient {
  session: number;
  first: Client;
  firstWs: WebSocket | null;
  second: Client | null;
  events: ReceivedEvent[];
  /** The first connection was dropped: its later events are ignored. */
  dropped: boolean;
  phase: 1 | 2;
  secondEvents: number;
  error: string | null;
  reconnectAt: number;
  ackAt: number;
  completeAt: number;
  turnId: string | null;
  onChange: (() => void) | null;
}

let url = '';
let sessionIds: string[] = [];
let threshold = Infinity;
const clients: StormClient[] = [];

const now = () => performance.now();

/** The number of the last token in a delta (`… t123 ` → 123), or 0. */
function lastToken(delta: string): number {
  const m = /t(\d+) $/.exec(delta);
  return m ? Number(m[1]) : 0;
}

type Payload = { sessionEvents: { __typename: string; seq: number; turnId: string | null; delta?: string; reason?: string } };

function subscribe(c: StormClient, client: Client, phase: 1 | 2, after: number) {
  client.subscribe<Payload>(
    { query: SESSION_EVENTS, variables: { sessionId: sessionIds[c.session], after } },
    {
      next: (value) => {
        if (c.phase !== phase || (phase === 1 && c.dropped)) return;
        const e = value.data?.sessionEvents;
        if (!e || value.errors?.length) {
          c.error ??= `connection ${phase}: ${JSON.stringify(value.errors ?? value)}`;
          c.onChange?.();
          return;
        }
        c.events.push({ typename: e.__typename, seq: e.seq, turnId: e.turnId, delta: e.delta, reason: e.reason });
        if (phase === 2) c.secondEvents++;
        if (phase === 1 && e.__typename === 'TextDeltaEvent' && lastToken(e.delta ?? '') >= threshold) {
          c.dropped = true;
          c.firstWs?.terminate();
        }
        if (phase === 2 && e.__typename === 'CompleteEvent' && e.turnId === c.turnId && c.completeAt === 0) c.completeAt = now();
        c.onChange?.();
      },
      error: (error) => {
        if (phase === 1 && c.dropped) return;
        c.error ??= `connection ${phase}: ${error instanceof Error ? error.message : JSON.stringify(error)}`;
        c.onChange?.();
      },
      complete: () => {},
    },
  );
}

function makeClient(c: StormClient, phase: 1 | 2, onAck: () => void, onFail: (e: unknown) => void): Client {
  class TrackedWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      if (phase === 1) c.firstWs = this;
    }
  }
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: TrackedWebSocket,
    lazy: false,
    retryAttempts: 0,
    // The first connections are cut on purpose; the second ones must not be pinged away meanwhile.
    keepAlive: 0,
    on: { connected: onAck },
    onNonLazyError: onFail,
  });
}

async function open(count: number, offset: number) {
  for (let start = 0; start < count; start += BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      batch.push(
        new Promise<void>((resolve, reject) => {
          const c: StormClient = {
            session: (offset + i) % sessionIds.length,
            first: null as unknown as Client,
            firstWs: null,
            second: null,
            events: [],
            dropped: false,
            phase: 1,
            secondEvents: 0,
            error: null,
            reconnectAt: 0,
            ackAt: 0,
            completeAt: 0,
            turnId: null,
            onChange: null,
          };
          c.first = makeClient(c, 1, () => resolve(), (e) => reject(new Error(`client ${offset + i}: ${e instanceof Error ? e.message : JSON.stringify(e)}`)));
          subscribe(c, c.first, 1, 0);
          clients.push(c);
        }),
      );
    }
    await Promise.all(batch);
  }
}

function waitUntil(done: (c: StormClient) => boolean, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout;
    const finish = () => {
      clearTimeout(timer);
      for (const c of clients) c.onChange = null;
      resolve(clients.filter(done).length);
    };
    const check = () => {
      if (clients.every((c) => done(c) || c.error !== null)) finish();
    };
    timer = setTimeout(finish, timeoutMs);
    for (const c of clients) c.onChange = check;
    check();
  });
}

async function reconnect(turnIds: string[], tokens: number, timeoutMs: number): Promise<CaughtUpReply> {
  const cpu0 = process.cpuUsage();
  const t0 = now();
  for (const c of clients) {
    c.turnId = turnIds[c.session]!;
    c.phase = 2;
    c.reconnectAt = now();
    const after = c.events.at(-1)?.seq ?? 0;
    c.second = makeClient(
      c,
      2,
      () => (c.ackAt = now()),
      (e) => {
        c.error ??= `reconnect: ${e instanceof Error ? e.message : JSON.stringify(e)}`;
        c.onChange?.();
      },
    );
    subscribe(c, c.second, 2, after);
  }
  await waitUntil((c) => c.completeAt > 0, timeoutMs);
  const allMs = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const text = streamedText(tokens);
  const failures: string[] = [];
  let failed = 0;
  for (const [i, c] of clients.entries()) {
    const problem = c.completeAt === 0 ? (c.error ?? `no CompleteEvent within ${timeoutMs} ms of reconnecting`) : checkStream(c.events, c.turnId!, text, true);
    if (problem) {
      failed++;
      if (failures.length < 10) failures.push(`client ${i} (session ${c.session}): ${problem}`);
    }
  }
  const done = clients.filter((c) => c.completeAt > 0);
  return {
    type: 'caught-up',
    clients: clients.length,
    caughtUp: done.length,
    catchUpMs: done.map((c) => c.completeAt - c.reconnectAt),
    ackMs: clients.filter((c) => c.ackAt > 0).map((c) => c.ackAt - c.reconnectAt),
    replayed: clients.map((c) => c.secondEvents),
    resumedAfter: clients.map((c) => c.events.length - c.secondEvents),
    allMs,
    failures,
    failed,
    cpuMicros: cpu.user + cpu.system,
  };
}

onParentMessage(async (message) => {
  if (message.type === 'open') {
    url = String(message.url);
    assertLoopback(url);
    sessionIds = message.sessionIds as string[];
    threshold = Number(message.disconnectAtToken);
    await open(Number(message.count), Number(message.offset));
    sendToParent({ type: 'opened', count: clients.length });
  } else if (message.type === 'wait-disconnected') {
    const dropped = await waitUntil((c) => c.dropped, Number(message.timeoutMs));
    const errors = clients.flatMap((c) => (c.error ? [c.error] : [])).slice(0, 3);
    sendToParent({ type: 'disconnected', clients: clients.length, dropped, errors });
  } else if (message.type === 'reconnect') {
    const reply = await reconnect(message.turnIds as string[], Number(message.tokens), Number(message.timeoutMs));
    sendToParent(reply as unknown as { type: string });
  } else if (message.type === 'stop') {
    await Promise.race([
      Promise.all(clients.flatMap((c) => [c.first.dispose(), c.second?.dispose()])),
      new Promise((r) => setTimeout(r, 3_000)),
    ]);
    process.exit(0);
  }
});
process.on('unhandledRejection', fatal);
sendToParent({ type: 'listening' });
