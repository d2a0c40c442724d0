import { request, type IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import { onCleanup } from './server.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request through node:http, which (unlike fetch) sends any `Host` and `Origin` a test
 * names: what a browser on another page, or after DNS rebinding, would send. A response that
 * is an event stream is cut off after its headers and `firstBytes` of its body.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunks?: Array<string | Buffer>; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      const done = () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      };
      if ((res.headers['content-type'] ?? '').includes('text/event-stream')) {
        // A stream need not end: its first data event (or its end) is enough.
        const onData = (chunk: string) => {
          body += chunk;
          if (!/^data:.*\n\n/m.test(body)) return;
          res.off('data', onData);
          done();
          req.destroy();
        };
        res.on('data', onData);
        res.on('end', done);
        return;
      }
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', done);
      res.on('error', reject);
    });
    req.on('error', reject);
    // A stream that says nothing (a subscription waiting for events) fails the test, not hangs it.
    const timer = setTimeout(() => {
      reject(new Error(`${options.method ?? 'GET'} ${url}: no answer within ${options.timeoutMs ?? 10_000} ms`));
      req.destroy();
    }, options.timeoutMs ?? 10_000);
    onCleanup(() => req.destroy());
    if (options.chunks) {
      for (const chunk of options.chunks) req.write(chunk);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** A response's JSON: the body, or an event stream's first data event. */
export function bodyJson(res: RawResponse): unknown {
  if (!(res.headers['content-type'] ?? '').includes('text/event-stream')) return JSON.parse(res.body);
  const data = /^data:\s?(.*)$/m.exec(res.body);
  if (!data) throw new Error(`no data event in ${JSON.stringify(res.body)}`);
  return JSON.parse(data[1]!);
}

/** The `access-control-*` headers of a response. */
export function corsHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('access-control-'))) as Record<string, string>;
}

export type UpgradeOutcome = { opened: true; socket: WebSocket } | { opened: false; status: number };

/**
 * A WebSocket upgrade with the headers a test names (`origin`, `host`): opened, or the HTTP
 * status the server refused it with. Terminated after the test.
 */
export function tryUpgrade(wsUrl: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<UpgradeOutcome> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { headers, ...options });
  socket.on('error', () => {});
  onCleanup(() => socket.terminate());
  return new Promise((resolve) => {
    socket.once('open', () => resolve({ opened: true, socket }));
    socket.once('unexpected-response', (_req, res) => {
      resolve({ opened: false, status: res.statusCode ?? 0 });
      res.resume();
      socket.terminate();
    });
  });
}
