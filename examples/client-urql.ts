/**
 * switchboard/client beside urql: urql for queries and mutations, the library for the
 * session's events over graphql-ws (or graphql-sse), resuming with the current `after`.
 * Type-checked by `npm run typecheck`; see docs/client.md.
 */
import { Client, cacheExchange, fetchExchange } from '@urql/core';
import { createClient } from 'graphql-sse';
import { fromGraphqlSse, reduce, seedView, sessionEvents, SessionSnapshotQuery, type SessionView } from 'switchboard/client';

export async function followWithUrql(sessionId: string, render: (view: SessionView) => void) {
  const urql = new Client({ url: 'http://127.0.0.1:4000/graphql', exchanges: [cacheExchange, fetchExchange] });
  const { data, error } = await urql.query(SessionSnapshotQuery, { id: sessionId }, { requestPolicy: 'network-only' }).toPromise();
  if (error || !data?.session) throw error ?? new Error('no such session');
  let view = seedView(data.session);
  render(view);
  // graphql-sse as the transport this time: its own retries off, sessionEvents resubscribes.
  const sse = createClient({ url: 'http://127.0.0.1:4000/graphql', retryAttempts: 0 });
  return sessionEvents(fromGraphqlSse(sse), sessionId, {
    after: view.lastSeq,
    onEvent: (event) => render((view = reduce(view, event))),
  });
}
