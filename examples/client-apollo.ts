/**
 * switchboard/client beside Apollo Client: Apollo for queries and mutations (and its cache),
 * the library for the session's events over graphql-ws, which resumes with the current
 * `after` where Apollo's GraphQLWsLink would replay from its first variables.
 * Type-checked by `npm run typecheck`; see docs/client.md.
 */
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { createClient } from 'graphql-ws';
import { seedView, SessionSnapshotQuery } from 'switchboard/client';
import { openSession, type SessionStore } from './client-graphql-ws.js';

export async function followWithApollo(sessionId: string): Promise<SessionStore> {
  const apollo = new ApolloClient({ link: new HttpLink({ uri: 'http://127.0.0.1:4000/graphql' }), cache: new InMemoryCache() });
  const { data } = await apollo.query({ query: SessionSnapshotQuery, variables: { id: sessionId }, fetchPolicy: 'network-only' });
  if (!data?.session) throw new Error('no such session');
  const store = openSession(createClient({ url: 'ws://127.0.0.1:4000/graphql' }), seedView(data.session));
  // Keep what other components read from Apollo's cache (status, lastSeq) in step with the events.
  const id = apollo.cache.identify({ __typename: 'Session', id: sessionId });
  store.subscribe(() => {
    const view = store.getView();
    apollo.cache.modify({ id, fields: { status: () => view.status, lastSeq: () => view.lastSeq } });
  });
  return store;
}
