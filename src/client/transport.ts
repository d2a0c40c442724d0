import type { ExecutionResult } from 'graphql';
import type { Client as WsClient } from 'graphql-ws';
import type { Client as SseClient } from 'graphql-sse';

/** One GraphQL request as graphql-ws and graphql-sse send it. */
export interface TransportRequest {
  query: string;
  variables: Record<string, unknown>;
}

export interface TransportSink {
  next(value: ExecutionResult<Record<string, unknown>, unknown>): void;
  /** A connection fault (CloseEvent, network error) or GraphQL errors (an array). */
  error(error: unknown): void;
  complete(): void;
}

/**
 * What `sessionEvents` needs of a GraphQL client: the shape graphql-ws's and graphql-sse's
 * `subscribe` share, plus a way to hear that the connection under a subscription dropped
 * while the client itself means to retry it (and would re-send the original variables).
 */
export interface SessionEventsTransport {
  subscribe(request: TransportRequest, sink: TransportSink): () => void;
  /** Calls `listener` when the connection closes; returns a function that stops listening. */
  onDrop?(listener: () => void): () => void;
}

/**
 * A graphql-ws client as a transport. Its own retry (`retryAttempts`) would re-subscribe with
 * the subscription's first `after` and replay the session from there; so on every `closed`
 * the subscription is dropped here and `sessionEvents` subscribes again with the current one.
 * The client's other subscriptions and its reconnect logic are untouched.
 */
export function fromGraphqlWs(client: Pick<WsClient, 'subscribe' | 'on'>): SessionEventsTransport {
  return {
    subscribe: (request, sink) => client.subscribe(request, sink),
    onDrop: (listener) => client.on('closed', () => listener()),
  };
}

/**
 * A graphql-sse client as a transport. Create it with `retryAttempts: 0` (graphql-sse cannot
 * tell a subscriber it reconnected, and its retry would repeat the first `after`: events are
 * still never handed twice, but the replay is wasted).
 */
export function fromGraphqlSse(client: Pick<SseClient, 'subscribe'>): SessionEventsTransport {
  return { subscribe: (request, sink) => client.subscribe(request, sink) };
}
