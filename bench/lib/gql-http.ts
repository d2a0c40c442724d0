/**
 * The two HTTP mutations the `slow` and `storm` scenarios send (`createSession`, `sendMessage`),
 * over `fetch`, loopback only. Every bench server (Switchboard and both baselines) answers them.
 */

export function assertLoopback(url: string): void {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)) throw new Error('the bench only talks to loopback');
}

export async function graphqlHttp<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (!res.ok || body.errors?.length || !body.data) {
    throw new Error(`${query.trim().split('(')[0]}: HTTP ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  }
  return body.data;
}

export async function createSession(url: string, id: string): Promise<void> {
  await graphqlHttp(url, 'mutation Create($input: CreateSessionInput) { createSession(input: $input) { id } }', {
    input: { id, permissionMode: 'ALLOW_ALL' },
  });
}

/** Starts a turn; resolves with its turnId. */
export async function sendMessage(url: string, sessionId: string, text: string): Promise<string> {
  const data = await graphqlHttp<{ sendMessage: { turnId: string } }>(
    url,
    'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { turnId queued } }',
    { input: { sessionId, text } },
  );
  return data.sendMessage.turnId;
}

/** `t1 t2 … tN ` — the text of `/stream N` (the demo agent's and the baselines' tokens). */
export function streamedText(n: number): string {
  let text = '';
  for (let i = 1; i <= n; i++) text += `t${i} `;
  return text;
}

/** The subscription both scenarios open (the fields `bench/load.ts` selects). */
export const SESSION_EVENTS = /* GraphQL */ `
  subscription BenchEvents($sessionId: ID!, $after: Int) {
    sessionEvents(sessionId: $sessionId, after: $after) {
      __typename
      ... on Event { seq turnId at }
      ... on TextDeltaEvent { delta }
      ... on CompleteEvent { reason }
    }
  }
`;

/** One event as the scenarios keep it. */
export interface ReceivedEvent {
  typename: string;
  seq: number;
  turnId: string | null;
  delta?: string;
  reason?: string;
}

/**
 * What one subscriber must have received of a turn: its events' seqs consecutive (no gap, no
 * duplicate; from 1 when `fromOne`), the turn's deltas joining to exactly `text`, the turn
 * ending with CompleteEvent END_TURN. Returns the problem, or null.
 */
export function checkStream(events: readonly ReceivedEvent[], turnId: string, text: string, fromOne: boolean): string | null {
  if (events.length === 0) return 'no events';
  if (fromOne && events[0]!.seq !== 1) return `first seq ${events[0]!.seq}, expected 1`;
  for (let i = 1; i < events.length; i++) {
    if (events[i]!.seq !== events[i - 1]!.seq + 1) {
      return `seq ${events[i]!.seq} after ${events[i - 1]!.seq} (${events[i]!.seq <= events[i - 1]!.seq ? 'duplicate' : 'gap'})`;
    }
  }
  const mine = events.filter((e) => e.turnId === turnId);
  let got = '';
  for (const e of mine) if (e.typename === 'TextDeltaEvent') got += e.delta;
  if (got !== text) {
    let at = 0;
    while (at < got.length && got[at] === text[at]) at++;
    return `deltas join to ${got.length} chars, expected ${text.length}; first difference at ${at}: ${JSON.stringify(got.slice(at, at + 20))}`;
  }
  const last = mine.at(-1);
  if (last?.typename !== 'CompleteEvent' || last.reason !== 'END_TURN') return 'the turn does not end with CompleteEvent END_TURN';
  return null;
}
