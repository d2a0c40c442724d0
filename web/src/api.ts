import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';

/** A GraphQL error the server answered with; `code` is its `extensions.code`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const TOKEN_KEY = 'switchboard.token';

export function storedToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return ''; // storage disabled: the token lasts as long as the page
  }
}

export function storeToken(token: string): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled
  }
}

/** The app's connection to the server: HTTP for queries and mutations, one graphql-ws socket for events. */
export interface Api {
  request<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R>;
  ws: Client;
  dispose(): void;
}

export function createApi(token: string): Api {
  const endpoint = new URL('/graphql', location.href);
  const wsUrl = `${endpoint.protocol === 'https:' ? 'wss:' : 'ws:'}//${endpoint.host}${endpoint.pathname}`;
  const authorization = token ? `Bearer ${token}` : null;
  const ws = createClient({
    url: wsUrl,
    lazy: true,
    connectionParams: () => (authorization ? { authorization } : {}),
    // Reconnects forever with backoff; sessionEvents resubscribes from the last seq it has.
    retryAttempts: Infinity,
    shouldRetry: () => true,
  });
  return {
    ws,
    async request<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R> {
      const query = print(document);
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      let body: { data?: R | null; errors?: { message: string; extensions?: { code?: string } }[] };
      try {
        body = await res.json();
      } catch {
        throw new ApiError(`The server answered ${res.status} ${res.statusText}.`, null);
      }
      const error = body.errors?.[0];
      if (error) throw new ApiError(error.message, error.extensions?.code ?? null);
      if (!body.data) throw new ApiError(`The server answered ${res.status} without data.`, null);
      return body.data;
    },
    dispose: () => void ws.dispose(),
  };
}

/** A fresh idempotency key (crypto.randomUUID needs a secure context; plain http on a LAN is not one). */
export function newId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
