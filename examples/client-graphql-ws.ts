/**
 * switchboard/client with graphql-ws alone: seed a view from one query, then follow the
 * session's events from its lastSeq. `openSession` is a small store a UI can subscribe to
 * (React: `useSyncExternalStore(store.subscribe, store.getView)`).
 * Type-checked by `npm run typecheck`; see docs/client.md.
 */
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import {
  fromGraphqlWs,
  reduce,
  seedView,
  sessionEvents,
  SessionSnapshotQuery,
  type SessionEventsError,
  type SessionSnapshotQueryResult,
  type SessionView,
} from 'switchboard/client';

export interface SessionStore {
  getView(): SessionView;
  /** Calls `listener` after every change; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  dispose(): void;
}

/** Follows one session from `seed` (a view of a Session query), through drops and restarts. */
export function openSession(ws: Client, seed: SessionView, onGone?: (error: SessionEventsError) => void): SessionStore {
  let view = seed;
  const listeners = new Set<() => void>();
  const events = sessionEvents(fromGraphqlWs(ws), seed.sessionId!, {
    after: seed.lastSeq,
    onEvent: (event) => {
      view = reduce(view, event);
      for (const listener of listeners) listener();
    },
    onError: onGone,
  });
  return {
    getView: () => view,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose: () => events.dispose(),
  };
}

/** The snapshot over plain HTTP (any GraphQL client does; see the Apollo and urql examples). */
export async function fetchSnapshot(httpUrl: string, id: string): Promise<SessionView | null> {
  const res = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: print(SessionSnapshotQuery), variables: { id } }),
  });
  const { data } = (await res.json()) as { data?: SessionSnapshotQueryResult };
  return data?.session ? seedView(data.session) : null;
}

export async function example(sessionId: string) {
  // graphql-ws's own retry stays on for the app's other subscriptions; sessionEvents drops its
  // subscription on every close and resubscribes itself with the current `after`.
  const ws = createClient({ url: 'ws://127.0.0.1:4000/graphql' });
  const seed = await fetchSnapshot('http://127.0.0.1:4000/graphql', sessionId);
  if (!seed) throw new Error('no such session');
  const store = openSession(ws, seed, (error) => console.log('session gone:', error.code));
  store.subscribe(() => console.log(store.getView().status, store.getView().streaming?.text ?? ''));
  return store;
}
