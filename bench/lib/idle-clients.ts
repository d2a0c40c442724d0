/**
 * Idle graphql-ws subscribers for the `idle` scenario (`bench/idle.ts`), in a process of their
 * own (started by the bench with an IPC channel):
 *
 *   node --import tsx bench/lib/idle-clients.ts
 *
 * `{type: 'open', url, sessionIds, count}` opens `count` real `graphql-ws` clients on `ws`
 * (one WebSocket each, `lazy: false`, at most `BATCH` handshakes in flight), waits for every
 * `connection_ack`, then subscribes each to `sessionEvents(sessionId, after: 0)` on the
 * sessions in turn → `{type: 'opened', count}`. `{type: 'completes', min, timeoutMs}` →
 * `{type: 'completes', subscribers, reached, errors}`: how many subscribers have received at
 * least `min` CompleteEvents (the proof that a subscription is live). `stop` disposes every
 * client and exits; the process also exits if the bench goes away.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { fatal, onParentMessage, sendToParent } from './processes.js';

const SUBSCRIPTION = /* GraphQL */ `
  subscription IdleEvents($sessionId: ID!, $after: Int) {
    sessionEvents(sessionId: $sessionId, after: $after) {
      __typename
      ... on Event { seq turnId at }
      ... on TextDeltaEvent { delta }
      ... on CompleteEvent { reason }
    }
  }
`;

/** Handshakes in flight at once (thousands at once overflow the listen backlog). */
const BATCH = 200;

interface Idle {
  client: Client;
  completes: number;
  error: string | null;
}

const idle: Idle[] = [];

async function open(url: string, sessionIds: string[], count: number): Promise<void> {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)) fatal(new Error('the bench only talks to loopback'));
  const wsUrl = url.replace(/^http/, 'ws');
  for (let start = 0; start < count; start += BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      batch.push(
        new Promise<void>((resolve, reject) => {
          const entry: Idle = { client: null as unknown as Client, completes: 0, error: null };
          entry.client = createClient({
            url: wsUrl,
            webSocketImpl: WebSocket,
            lazy: false,
            retryAttempts: 0,
            // No keep-alive pings: idle means idle.
            keepAlive: 0,
            on: { connected: () => resolve() },
            onNonLazyError: (e) => reject(new Error(`client ${i}: ${e instanceof Error ? e.message : JSON.stringify(e)}`)),
          });
          idle.push(entry);
          entry.client.subscribe<{ sessionEvents: { __typename: string } }>(
            { query: SUBSCRIPTION, variables: { sessionId: sessionIds[i % sessionIds.length], after: 0 } },
            {
              next: (value) => {
                if (value.errors?.length) entry.error ??= JSON.stringify(value.errors);
                if (value.data?.sessionEvents.__typename === 'CompleteEvent') entry.completes++;
              },
              error: (error) => {
                entry.error ??= error instanceof Error ? error.message : JSON.stringify(error);
              },
              complete: () => {},
            },
          );
        }),
      );
    }
    await Promise.all(batch);
  }
}

function completes(min: number, timeoutMs: number): Promise<{ reached: number; errors: string[] }> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = () => {
      const reached = idle.filter((s) => s.completes >= min).length;
      if (reached === idle.length || Date.now() >= deadline) {
        const errors = idle.flatMap((s) => (s.error ? [s.error] : [])).slice(0, 5);
        resolve({ reached, errors });
      } else setTimeout(check, 100);
    };
    check();
  });
}

onParentMessage(async (message) => {
  if (message.type === 'open') {
    await open(String(message.url), message.sessionIds as string[], Number(message.count));
    sendToParent({ type: 'opened', count: idle.length });
  } else if (message.type === 'completes') {
    const { reached, errors } = await completes(Number(message.min), Number(message.timeoutMs));
    sendToParent({ type: 'completes', subscribers: idle.length, reached, errors });
  } else if (message.type === 'stop') {
    await Promise.all(idle.map((s) => s.client.dispose()));
    process.exit(0);
  }
});
sendToParent({ type: 'listening' });
