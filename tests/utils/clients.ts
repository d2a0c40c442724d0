import { print, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient as createWsClient, type Client as WsClient, type ClientOptions as WsClientOptions } from 'graphql-ws';
import { createClient as createSseClient, type Client as SseClient, type ClientOptions as SseClientOptions } from 'graphql-sse';
import WebSocket from 'ws';
import type { EventFieldsFragment } from '../gql/graphql.js';
import { SessionEventsSubscription } from './operations.js';
import { createQueue, type AwaitableQueue } from './queue.js';
import { onCleanup, type TestServer } from './server.js';

/** Any client that can subscribe the graphql-ws/graphql-sse way. */
type Subscriber = Pick<WsClient, 'subscribe'> | Pick<SseClient, 'subscribe'>;

/** A graphql-ws client, as a browser app would make it, disposed after the test. */
export function wsClient(server: Pick<TestServer, 'wsUrl'>, options: Partial<WsClientOptions> = {}): WsClient {
  const client = createWsClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, ...options });
  onCleanup(() => client.dispose());
  return client;
}

/** A graphql-sse client: distinct connections mode at /graphql, or single connection mode at /graphql/stream. */
export function sseClient(server: Pick<TestServer, 'url'>, mode: 'distinct' | 'single', options: Partial<SseClientOptions> = {}): SseClient {
  const client = createSseClient({
    url: mode === 'single' ? `${server.url}/stream` : server.url,
    singleConnection: mode === 'single',
    retryAttempts: 0,
    ...options,
  } as SseClientOptions);
  onCleanup(() => client.dispose());
  return client;
}

export interface Subscription<R> extends AwaitableQueue<ExecutionResult<R>> {
  unsubscribe(): void;
}

/** Subscribes and queues every result; the queue ends on complete or error. */
export function subscribe<R, V>(client: Subscriber, document: TypedDocumentNode<R, V>, variables: V): Subscription<R> {
  const queue = createQueue<ExecutionResult<R>>();
  const unsubscribe = client.subscribe<R>(
    { query: print(document), variables: variables as Record<string, unknown> },
    {
      next: (value) => queue.push(value as ExecutionResult<R>),
      error: (error) => queue.end(error ?? new Error('subscription error')),
      complete: () => queue.end(),
    },
  );
  onCleanup(unsubscribe);
  return Object.assign(queue, { unsubscribe });
}

export type Event = EventFieldsFragment;

/** A sessionEvents subscription whose queue holds the events themselves (errors fail the test). */
export interface EventStream extends AwaitableQueue<Event> {
  unsubscribe(): void;
  /** Events up to and including the turn's CompleteEvent. */
  untilComplete(timeoutMs?: number): Promise<Event[]>;
}

export function subscribeEvents(client: Subscriber, sessionId: string, after?: number | null): EventStream {
  const queue = createQueue<Event>();
  const unsubscribe = client.subscribe(
    { query: print(SessionEventsSubscription), variables: { sessionId, after } },
    {
      next: (value) => {
        if (value.errors?.length || !value.data) queue.end(new Error(JSON.stringify(value.errors)));
        else queue.push((value.data as { sessionEvents: Event }).sessionEvents);
      },
      error: (error) => queue.end(error ?? new Error('subscription error')),
      complete: () => queue.end(),
    },
  );
  onCleanup(unsubscribe);
  return Object.assign(queue, {
    unsubscribe,
    untilComplete: (timeoutMs?: number) => queue.takeUntil((e) => e.__typename === 'CompleteEvent', timeoutMs),
  });
}

/** The seqs of the events, in the order received. */
export function seqs(events: readonly Event[]): number[] {
  return events.map((e) => (e as { seq: number }).seq);
}

/** The text of a turn's deltas, concatenated. */
export function deltaText(events: readonly Event[]): string {
  return events.map((e) => (e.__typename === 'TextDeltaEvent' ? e.delta : '')).join('');
}
