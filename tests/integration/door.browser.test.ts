import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, openIsolatedPage, requireChromium } from '../utils/browser.js';
import { onCleanup, startTestServer } from '../utils/server.js';
import { describeWithService } from '../utils/services.js';

const chromium = await requireChromium();

/** Another site on this machine: a page on its own loopback port, so another origin. */
async function otherSite(): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>elsewhere</title><p>Nothing to see here.</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describeWithService(chromium, 'a page from another origin, in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('gets nothing from Switchboard: fetch fails, a form-encoded POST is refused unseen, the WebSocket never opens', async () => {
    const server = await startTestServer();
    const { page, pageErrors } = await openIsolatedPage(browser, server.origin);
    await page.goto(await otherSite());

    // Runs in the page; this project compiles without DOM types, hence the casts.
    const outcome = await page.evaluate(async (url: string) => {
      const g = globalThis as unknown as {
        fetch: (url: string, init: object) => Promise<{ status: number; type: string }>;
        URLSearchParams: new (init: Record<string, string>) => unknown;
        WebSocket: new (url: string, protocol: string) => {
          onopen: () => void;
          onerror: () => void;
          onclose: (event: { code: number }) => void;
          onmessage: (event: { data: string }) => void;
          send(data: string): void;
        };
      };
      const mutation = (id: string) => `mutation { createSession(input: { id: "${id}" }) { id } }`;
      // A JSON POST needs a CORS preflight, which is refused: fetch rejects.
      const json = await g
        .fetch(url, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: mutation('evil-json') }) })
        .then((res) => `answered ${res.status}`, (error: Error) => `rejected: ${error.name}`);
      // A form-encoded POST is a "simple" request: the browser sends it without asking, and
      // lets the page see nothing of the answer. Only the server can refuse to act on it.
      const form = await g
        .fetch(url, { method: 'POST', mode: 'no-cors', body: new g.URLSearchParams({ query: mutation('evil-form') }) })
        .then((res) => `sent (${res.type})`, (error: Error) => `rejected: ${error.name}`);
      const socket = await new Promise<string>((resolve) => {
        const ws = new g.WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
        ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init' }));
        ws.onmessage = (event) => resolve(`message: ${event.data}`);
        ws.onerror = () => resolve('error');
        ws.onclose = (event) => resolve(`closed ${event.code}`);
      });
      return { json, form, socket };
    }, server.url);

    expect(outcome).toEqual({ json: 'rejected: TypeError', form: 'sent (opaque)', socket: 'error' });
    // Nothing reached a resolver: no session was created.
    expect((await server.request('{ sessions { id } }')).data).toEqual({ sessions: [] });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
