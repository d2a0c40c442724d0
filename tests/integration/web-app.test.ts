import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../utils/server.js';
import { buildWebApp } from '../utils/web-build.js';

describe('the web app over HTTP', () => {
  it('serves its HTML at / and /sessions/<id>, revalidated by ETag', async () => {
    const server = await startTestServer({ webAppDir: await buildWebApp() });
    for (const path of ['/', '/sessions/abc']) {
      const res = await fetch(server.origin + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      const html = await res.text();
      expect(html).toContain('<title>Switchboard</title>');
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^".+"$/);
      const again = await fetch(server.origin + path, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
    }
    // GraphiQL stays at /graphql.
    const graphiql = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).toContain('graphiql');
  });

  it('serves the hashed assets the HTML names for a year, gzipped for who accepts it', async () => {
    const server = await startTestServer({ webAppDir: await buildWebApp() });
    const html = await (await fetch(server.origin + '/')).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const plain = await fetch(server.origin + script!, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const body = Buffer.from(await plain.arrayBuffer());
    // node's fetch decodes gzip itself; a raw request shows the encoding.
    const { request } = await import('node:http');
    const gz = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      request(server.origin + script!, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });
    expect(gz.encoding).toBe('gzip');
    expect(gunzipSync(gz.body).equals(body)).toBe(true);

    for (const path of ['/assets/nothing-here.js', '/assets/..%2F..%2Fpackage.json', '/assets/../index.html']) {
      expect((await fetch(server.origin + path)).status, path).toBe(404);
    }
  });

  it('says to run the build when there is none, and stays up', async () => {
    const server = await startTestServer({ webAppDir: join(await buildWebApp(), 'missing') });
    const res = await fetch(server.origin + '/');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build');
    expect((await fetch(server.origin + '/healthz')).status).toBe(200);
  });
});
