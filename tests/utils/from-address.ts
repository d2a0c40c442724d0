import { request } from 'node:http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { onCleanup } from './server.js';

/**
 * Clients bound to a local address of their choosing, to play callers from different
 * addresses on one machine (Linux routes all of 127.0.0.0/8 to the loopback interface).
 */

/** POSTs a GraphQL request from `localAddress`; resolves with the HTTP status and the parsed body. */
export function postFrom(
  localAddress: string,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, localAddress, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: the text itself
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * A graphql-ws client connected from `localAddress`. Resolves 'acked' once the server has
 * acknowledged the connection, or with the close code it closed it with instead.
 */
export function connectFrom(
  localAddress: string,
  wsUrl: string,
  connectionParams?: Record<string, unknown>,
): Promise<{ outcome: 'acked' | number; client: ReturnType<typeof createClient> }> {
  return new Promise((resolve) => {
    class BoundWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { localAddress });
      }
    }
    const client = createClient({
      url: wsUrl,
      webSocketImpl: BoundWebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams,
      on: {
        connected: () => resolve({ outcome: 'acked', client }),
        closed: (event) => resolve({ outcome: (event as { code: number }).code, client }),
      },
      onNonLazyError: () => {},
    });
    onCleanup(() => client.dispose());
  });
}
