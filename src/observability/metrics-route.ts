import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from './metrics.js';

/**
 * `GET /metrics`: the Prometheus text exposition. With a token, a scrape must send
 * `Authorization: Bearer <token>`; any other is 401. The comparison takes the same time
 * whatever the guess (digests of equal length, compared in constant time), so the token
 * cannot be found a byte at a time.
 */
export function metricsRoute(
  metrics: Metrics,
  token: string | null,
  onError: (error: unknown) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const expected = token === null ? null : digest(`Bearer ${token}`);
  return (req, res) => {
    if (expected !== null && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"', 'cache-control': 'no-store' });
      res.end('Unauthorized: /metrics needs Authorization: Bearer <METRICS_TOKEN>.\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method not allowed.\n');
      return;
    }
    metrics.exposition().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('The metrics could not be collected.\n');
        onError(error);
      },
    );
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
