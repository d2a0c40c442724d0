import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { describe, expect, it } from 'vitest';
import { graphiqlTabs } from '../../src/transport/graphiql.js';
import { waitUntil } from '../utils/wait.js';
import { startTestServer } from '../utils/server.js';

/** A GET as a browser sends it, without fetch's transparent decompression. */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('the GraphiQL page', () => {
  it('is the page Yoga renders, compressed for clients that take gzip, and a reload with its ETag costs a 304', async () => {
    const server = await startTestServer();
    const plain = await get(server.url, { ...BROWSER, 'accept-encoding': 'identity' });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(plain.headers['content-encoding']).toBeUndefined();
    const expected = renderGraphiQL({ title: 'Switchboard', defaultTabs: graphiqlTabs, subscriptionsProtocol: 'SSE' });
    expect(plain.body.toString('utf8')).toBe(expected);

    const etag = plain.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    const reload = await get(server.url, { ...BROWSER, 'if-none-match': `W/"other", ${etag}` });
    expect(reload.status).toBe(304);
    expect(reload.body.length).toBe(0);

    // Compressed once, in the background, after the first request.
    let gzipped = plain;
    await waitUntil(async () => {
      gzipped = await get(server.url, { ...BROWSER, 'accept-encoding': 'gzip, deflate, br' });
      return gzipped.headers['content-encoding'] === 'gzip';
    }, 'the gzipped page', 10_000, 100);
    expect(gzipped.headers.vary).toBe('origin, accept-encoding');
    expect(gzipped.headers.etag).toBe(etag);
    expect(Number(gzipped.headers['content-length'])).toBe(gzipped.body.length);
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 3);
    expect(gunzipSync(gzipped.body).equals(plain.body)).toBe(true);
  });

  it('is only for a browser asking for the endpoint: GraphQL over GET and other paths are not it', async () => {
    const server = await startTestServer();
    const query = await get(`${server.url}?query=${encodeURIComponent('{ __typename }')}`, { accept: 'application/json' });
    expect(JSON.parse(query.body.toString('utf8'))).toEqual({ data: { __typename: 'Query' } });
    const elsewhere = await get(`${server.origin}/somewhere`, BROWSER);
    expect(elsewhere.status).toBe(404);
  });
});
