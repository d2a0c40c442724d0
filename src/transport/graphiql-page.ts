import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzip } from 'node:zlib';

/** Whether Yoga would answer with GraphiQL: a GET of the endpoint that accepts HTML (its own rule). */
export function wantsGraphiQL(req: IncomingMessage, path: string | undefined, endpoint: string): boolean {
  return req.method === 'GET' && (path === endpoint || path === `${endpoint}/`) && !!req.headers.accept?.includes('text/html');
}

/**
 * Serves GraphiQL's page, the same HTML Yoga would render, built once. The page is Yoga's
 * offline bundle, about 9 MB, which Yoga renders and sends whole on every load. Here it is
 * rendered on the first request, gzipped once in the background (about 2.4 MB; zlib works
 * off the event loop) for clients that accept it, and carries an ETag, so that a reload costs
 * a 304 and no bytes.
 */
export function createGraphiQLPage(render: () => string): (req: IncomingMessage, res: ServerResponse) => void {
  let page: { html: Buffer; etag: string; gzipped: Buffer | null } | null = null;
  const build = () => {
    const html = Buffer.from(render());
    const built = { html, etag: `"${createHash('sha256').update(html).digest('base64url')}"`, gzipped: null as Buffer | null };
    // Until it is done (or if it fails), the page goes out uncompressed.
    gzip(html, (error, gzipped) => {
      if (!error) built.gzipped = gzipped;
    });
    return built;
  };
  return (req, res) => {
    page ??= build();
    const headers = {
      'content-type': 'text/html; charset=utf-8',
      // Cached, but asked about every time: a new server version is seen at once.
      'cache-control': 'no-cache',
      etag: page.etag,
      vary: 'origin, accept-encoding',
    };
    const known = req.headers['if-none-match']?.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
    if (known?.includes(page.etag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    const gzipped = page.gzipped && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') ? page.gzipped : null;
    const body = gzipped ?? page.html;
    res.writeHead(200, { ...headers, 'content-length': body.length, ...(gzipped ? { 'content-encoding': 'gzip' } : {}) });
    res.end(body);
  };
}
