import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The paths that answer with the app's HTML: `/` and a session's own URL. */
const PAGE = /^\/(?:sessions\/[^/]+\/?)?$/;
/**
 * The page runs only its own files and talks only to this server (HTTP and the WebSocket:
 * 'self' covers ws: of the same host), and no other site may frame it.
 */
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Vite's hashed file names: nothing else under /assets/, and no way out of it. */
const ASSET = /^\/assets\/[\w-]+\.[\w.]+$/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

interface File {
  body: Buffer;
  gzipped: Buffer | null;
  etag: string;
  type: string;
}

/**
 * Serves the chat web app that `npm run build` writes to `dir` (dist/web): its HTML at `/` and
 * `/sessions/<id>`, revalidated on every load (ETag, `no-cache`) so a new version shows at
 * once, and its hashed assets cached for a year. Files are read on first request and kept;
 * without a build, `/` says how to make one. Returns false for any other request.
 */
export function createWebApp(dir: string): (req: IncomingMessage, res: ServerResponse, path: string | undefined) => boolean {
  const files = new Map<string, File>();
  const load = (name: string): File | null => {
    const known = files.get(name);
    if (known) return known;
    let body: Buffer;
    try {
      body = readFileSync(join(dir, name));
    } catch {
      return null; // not built (yet): asked again next time
    }
    const type = TYPES[extname(name)] ?? 'application/octet-stream';
    const compressible = type.startsWith('text/') || type.includes('json') || type.includes('svg');
    const file = {
      body,
      gzipped: compressible && body.length > 1024 ? gzipSync(body) : null,
      etag: `"${createHash('sha256').update(body).digest('base64url')}"`,
      type,
    };
    files.set(name, file);
    return file;
  };

  return (req, res, path) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !path) return false;
    const page = PAGE.test(path);
    if (!page && !ASSET.test(path)) return false;
    const file = load(page ? 'index.html' : path.slice(1));
    if (!file) {
      const message = page ? 'The web app is not built: run `npm run build`.\n' : 'Not found.\n';
      res.writeHead(page ? 503 : 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : message);
      return true;
    }
    const headers = {
      'content-type': file.type,
      // The HTML names the current assets: asked about on every load. Assets never change
      // under their hashed names.
      'cache-control': page ? 'no-cache' : 'public, max-age=31536000, immutable',
      etag: file.etag,
      vary: 'origin, accept-encoding',
      'x-content-type-options': 'nosniff',
      ...(page ? { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' } : {}),
    };
    const known = req.headers['if-none-match']?.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
    if (known?.includes(file.etag)) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    const gzipped = file.gzipped && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') ? file.gzipped : null;
    const body = gzipped ?? file.body;
    res.writeHead(200, { ...headers, 'content-length': body.length, ...(gzipped ? { 'content-encoding': 'gzip' } : {}) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
