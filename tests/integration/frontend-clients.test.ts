import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { Client as UrqlClient, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { OperationTypeNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import possibleTypes from '../gql/possible-types.js';
import { deltaText, seqs, wsClient, type Event } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation, SessionEventsSubscription, SessionQuery } from '../utils/operations.js';
import { createQueue } from '../utils/queue.js';
import { onCleanup, startTestServer } from '../utils/server.js';

/**
 * The clients front-end teams actually run, configured as their docs say, against a real
 * server: Apollo Client (HTTP + GraphQLWsLink) and urql (fetch + subscriptionExchange over
 * graphql-ws), with the codegen typed documents.
 */
describe('front-end clients', () => {
  it('Apollo Client creates, subscribes, sends and reads a session', async () => {
    const server = await startTestServer();
    const apollo = new ApolloClient({
      cache: new InMemoryCache({ possibleTypes: possibleTypes.possibleTypes }),
      link: ApolloLink.split(
        ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
        new GraphQLWsLink(wsClient(server)),
        new HttpLink({ uri: server.url }),
      ),
    });
    onCleanup(() => apollo.stop());

    const created = await apollo.mutate({ mutation: CreateSessionMutation, variables: { input: { id: 'apollo' } } });
    expect(created.data?.createSession.id).toBe('apollo');

    const events = createQueue<Event>();
    const subscription = apollo.subscribe({ query: SessionEventsSubscription, variables: { sessionId: 'apollo', after: 0 } }).subscribe({
      next: (result) => {
        if (result.data) events.push(result.data.sessionEvents);
        else events.end(result.error);
      },
      error: (error) => events.end(error),
    });
    onCleanup(() => subscription.unsubscribe());

    await apollo.mutate({ mutation: SendMessageMutation, variables: { input: { sessionId: 'apollo', text: 'hi Apollo' } } });
    const turn = await events.takeUntil((e) => e.__typename === 'CompleteEvent');
    expect(seqs(turn)).toEqual(turn.map((_, i) => i + 1));
    expect(deltaText(turn)).toBe('You said: hi Apollo');
    // Interface fields survive the cache only because possibleTypes is configured.
    expect(turn[0]).toMatchObject({ __typename: 'UserMessageEvent', sessionId: 'apollo', seq: 1, text: 'hi Apollo' });

    const { data } = await apollo.query({ query: SessionQuery, variables: { id: 'apollo' }, fetchPolicy: 'network-only' });
    expect(data?.session?.messages.map((m) => m.text)).toEqual(['hi Apollo', 'You said: hi Apollo']);
  });

  it('urql creates, subscribes, sends and reads a session', async () => {
    const server = await startTestServer();
    const ws = wsClient(server);
    const urql = new UrqlClient({
      url: server.url,
      exchanges: [
        cacheExchange,
        fetchExchange,
        subscriptionExchange({
          forwardSubscription(request) {
            const input = { ...request, query: request.query ?? '' };
            return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }) };
          },
        }),
      ],
    });

    const created = await urql.mutation(CreateSessionMutation, { input: { id: 'urql' } }).toPromise();
    expect(created.error).toBeUndefined();

    const events = createQueue<Event>();
    const subscription = urql.subscription(SessionEventsSubscription, { sessionId: 'urql', after: 0 }).subscribe((result) => {
      if (result.data) events.push(result.data.sessionEvents);
      else events.end(result.error);
    });
    onCleanup(() => subscription.unsubscribe());

    const sent = await urql.mutation(SendMessageMutation, { input: { sessionId: 'urql', text: 'hi urql' } }).toPromise();
    expect(sent.data?.sendMessage.queued).toBe(false);
    const turn = await events.takeUntil((e) => e.__typename === 'CompleteEvent');
    expect(seqs(turn)).toEqual(turn.map((_, i) => i + 1));
    expect(deltaText(turn)).toBe('You said: hi urql');

    const read = await urql.query(SessionQuery, { id: 'urql' }, { requestPolicy: 'network-only' }).toPromise();
    expect(read.data?.session?.status).toBe('IDLE');
  });
});
