import type { Socket } from 'node:net';
import { SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDemoAgent } from '../../src/agents/demo.js';
import type { AppOptions } from '../../src/app.js';
import { launchChromium, openIsolatedPage, requireChromium } from '../utils/browser.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { describeWithService } from '../utils/services.js';
import { buildWebApp } from '../utils/web-build.js';
import { CreateSessionMutation, SendMessageMutation, SessionQuery, UpdateConfigMutation } from '../utils/operations.js';

const chromium = await requireChromium();

/** A server serving a fresh build of the app, with the demo agent at a pace a test can watch. */
async function serve(options: AppOptions = {}): Promise<TestServer> {
  return startTestServer({ webAppDir: await buildWebApp(), agent: createDemoAgent({ wordsPerSecond: 50 }), ...options });
}

/** The conversation's text as shown. */
const conversation = (page: Page) => page.getByRole('log', { name: 'Conversation' });

/** The session's status (Idle, Running, Waiting for permission) once it shows `text`. */
const status = (page: Page, text: string) => page.getByRole('status', { name: 'Session status' }).getByText(text, { exact: true });

/** The tokens `/stream N` streams, each followed by a space. */
const tokens = (n: number) => Array.from({ length: n }, (_, i) => `t${i + 1} `).join('');

/** Opens the app, makes a session with "New session", and returns its id (from the URL). */
async function newSession(page: Page, server: TestServer): Promise<string> {
  await page.goto(server.origin + '/');
  await page.getByRole('button', { name: 'New session' }).click();
  await page.waitForURL(/\/sessions\/[^/]+$/);
  await status(page, 'Idle').waitFor({ timeout: 15_000 });
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
}

/**
 * Until the turn ends, checks what the streaming answer shows against the whole answer: each
 * rendering is a start of it (a gap or a repeat would not be). Returns how many it saw.
 */
async function watchStream(page: Page, whole: string): Promise<number> {
  let seen = 0;
  const answer = page.getByRole('article', { name: 'Assistant' }).last();
  while ((await status(page, 'Idle').count()) === 0) {
    const text = ((await answer.textContent({ timeout: 15_000 })) ?? '').trim();
    expect(whole.startsWith(text), text).toBe(true);
    if (text) seen++;
  }
  return seen;
}

async function send(page: Page, text: string) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

describeWithService(chromium, 'the web app in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
    await buildWebApp();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('creates a session, sends with Enter and streams the answer in; the list and URL follow', async () => {
    const server = await serve();
    const { page, offOrigin, pageErrors } = await openIsolatedPage(browser, server.origin);
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') violations.push(message.text());
    });
    const id = await newSession(page, server);
    expect(page.url()).toBe(`${server.origin}/sessions/${id}`);
    const list = page.getByRole('navigation', { name: 'Session list' }).getByRole('link');
    await expect.poll(() => list.count()).toBe(1);
    expect(await list.getAttribute('href')).toBe(`/sessions/${id}`);
    expect(await list.getAttribute('aria-current')).toBe('page');
    await expect.poll(() => page.getByText('demo', { exact: true }).count()).toBeGreaterThan(0); // the model

    await send(page, 'hello there');
    await expect.poll(() => page.getByRole('textbox', { name: 'Message' }).inputValue()).toBe('');
    await conversation(page).getByText('You said: hello there').waitFor({ timeout: 15_000 });
    await expect.poll(() => conversation(page).getByText('hello there', { exact: true }).count()).toBe(1);
    await status(page, 'Idle').waitFor();
    // The Send button does the same as Enter.
    await page.getByRole('textbox', { name: 'Message' }).fill('again');
    await page.getByRole('button', { name: 'Send' }).click();
    await conversation(page).getByText('You said: again').waitFor({ timeout: 15_000 });

    // A reload of the session's URL opens the same conversation.
    await page.reload();
    await conversation(page).getByText('You said: again').waitFor({ timeout: 15_000 });
    expect(await conversation(page).getByText('You said: hello there').count()).toBe(1);
    expect(offOrigin).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(violations).toEqual([]); // e.g. the Content-Security-Policy refusing something the app needs
  }, 120_000);

  it('a reload in the middle of a stream and a second tab each show every token exactly once', async () => {
    const server = await serve();
    const first = await openIsolatedPage(browser, server.origin);
    const id = await newSession(first.page, server);
    await send(first.page, '/stream 150 40');
    await first.page.getByText('t10 ', { exact: false }).first().waitFor({ timeout: 15_000 });
    await first.page.reload();
    const second = await openIsolatedPage(browser, server.origin);
    await second.page.goto(`${server.origin}/sessions/${id}`);
    // Both joined while it streams (150 tokens at 40/s: almost 4 s).
    await first.page.getByRole('button', { name: 'Stop' }).waitFor({ timeout: 15_000 });
    const [a, b] = await Promise.all([watchStream(first.page, tokens(150)), watchStream(second.page, tokens(150))]);
    expect(a).toBeGreaterThan(0); // they saw it streaming, not only its end
    expect(b).toBeGreaterThan(0);
    for (const { page } of [first, second]) {
      await status(page, 'Idle').waitFor({ timeout: 30_000 });
      const assistant = page.getByRole('article', { name: 'Assistant' });
      expect(await assistant.count()).toBe(1);
      expect((await assistant.innerText()).trim()).toBe(tokens(150).trim());
    }
    expect(first.pageErrors).toEqual([]);
    expect(second.pageErrors).toEqual([]);
  }, 120_000);

  it('asks before /write: Allow writes, Deny refuses, and each says how it ended', async () => {
    const server = await serve();
    const { page, pageErrors } = await openIsolatedPage(browser, server.origin);
    await newSession(page, server);

    await send(page, '/write notes.txt hello');
    const ask = conversation(page).getByRole('article', { name: 'Permission request' });
    await ask.getByRole('button', { name: 'Allow', exact: true }).waitFor({ timeout: 15_000 });
    expect(await ask.innerText()).toContain('notes.txt');
    await status(page, 'Waiting for permission').waitFor();
    // By keyboard: Enter on the focused button answers.
    await ask.getByRole('button', { name: 'Allow', exact: true }).focus();
    await page.keyboard.press('Enter');
    await ask.getByText('Allowed').waitFor({ timeout: 15_000 });
    // Focus went back to the message box, not lost with the button.
    expect(await page.getByRole('textbox', { name: 'Message' }).evaluate((el) => el === (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement)).toBe(true);
    await conversation(page).getByText(/wrote 5 bytes to notes\.txt/).waitFor({ timeout: 15_000 });
    expect(await ask.getByRole('button').count()).toBe(0);
    await status(page, 'Idle').waitFor({ timeout: 15_000 });

    await send(page, '/write other.txt nope');
    const second = conversation(page).getByRole('article', { name: 'Permission request' }).nth(1);
    await second.getByRole('button', { name: 'Deny' }).click({ timeout: 15_000 });
    await second.getByText('Denied').waitFor({ timeout: 15_000 });
    await conversation(page).getByText('Permission denied.').waitFor({ timeout: 15_000 });
    await status(page, 'Idle').waitFor({ timeout: 15_000 });

    // Always allow: the next write is answered by that rule, without asking.
    await send(page, '/write third.txt yes');
    const third = conversation(page).getByRole('article', { name: 'Permission request' }).nth(2);
    await third.getByRole('button', { name: 'Always allow' }).click({ timeout: 15_000 });
    await conversation(page).getByText(/wrote 3 bytes to third\.txt/).waitFor({ timeout: 15_000 });
    await status(page, 'Idle').waitFor({ timeout: 15_000 });
    await send(page, '/write fourth.txt again');
    await conversation(page).getByText(/wrote 5 bytes to fourth\.txt/).waitFor({ timeout: 15_000 });
    expect(await conversation(page).getByRole('button', { name: 'Allow', exact: true }).count()).toBe(0);

    // An agent's error is shown as one.
    await status(page, 'Idle').waitFor({ timeout: 15_000 });
    await send(page, '/fail the model fell over');
    await conversation(page).getByRole('article', { name: 'Error' }).getByText('the model fell over').waitFor({ timeout: 15_000 });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('an unanswered request that expires says so', async () => {
    const server = await serve({ permissionTimeoutMs: 1500 });
    const { page } = await openIsolatedPage(browser, server.origin);
    await newSession(page, server);
    await send(page, '/write late.txt hi');
    const ask = conversation(page).getByRole('article', { name: 'Permission request' });
    await ask.getByRole('button', { name: 'Deny' }).waitFor({ timeout: 15_000 });
    await ask.getByText(/Expired/).waitFor({ timeout: 15_000 });
    expect(await ask.getByRole('button').count()).toBe(0);
  }, 120_000);

  it('Stop ends a /sleep; a message sent meanwhile shows as queued, then runs', async () => {
    const server = await serve();
    const { page, pageErrors } = await openIsolatedPage(browser, server.origin);
    await newSession(page, server);
    await send(page, '/sleep 60000');
    await status(page, 'Running').waitFor({ timeout: 15_000 });
    await send(page, 'after the nap');
    const queued = page.getByRole('region', { name: 'Queued messages' });
    await queued.getByText('after the nap').waitFor({ timeout: 15_000 });

    await page.getByRole('button', { name: 'Stop' }).click();
    await conversation(page).getByText('Turn ended: stopped').waitFor({ timeout: 15_000 });
    // The queued message is next: it leaves the queue and gets its answer.
    await conversation(page).getByText('You said: after the nap').waitFor({ timeout: 15_000 });
    expect(await queued.count()).toBe(0);
    await status(page, 'Idle').waitFor({ timeout: 15_000 });
    expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('resumes after the server cuts its socket: no token missing, none twice', async () => {
    const server = await serve();
    const sockets: Socket[] = [];
    server.app.server.on('upgrade', (_req, socket: Socket) => sockets.push(socket));
    const { page, pageErrors } = await openIsolatedPage(browser, server.origin);
    await newSession(page, server);
    await send(page, '/stream 150 40');
    await page.getByText('t20 ', { exact: false }).first().waitFor({ timeout: 15_000 });
    expect(sockets.length).toBeGreaterThan(0);
    for (const socket of sockets) socket.destroy();
    expect(await watchStream(page, tokens(150))).toBeGreaterThan(0);
    await status(page, 'Idle').waitFor({ timeout: 30_000 });
    expect((await page.getByRole('article', { name: 'Assistant' }).innerText()).trim()).toBe(tokens(150).trim());
    expect(sockets.length).toBeGreaterThan(1); // it did reconnect
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('with authentication on, asks for a token, keeps it, and sends it over HTTP and WebSocket', async () => {
    const secret = 'a test secret of reasonable length';
    const server = await serve({ authSecret: secret });
    const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(new TextEncoder().encode(secret));
    const { page, pageErrors } = await openIsolatedPage(browser, server.origin);
    await page.goto(server.origin + '/');
    const box = page.getByRole('textbox', { name: 'Token' });
    await box.waitFor({ timeout: 15_000 });
    expect(await page.getByRole('link').count()).toBe(0);
    await box.fill(token);
    await box.press('Enter');
    await page.getByText('No sessions yet.').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'New session' }).click();
    await page.waitForURL(/\/sessions\/[^/]+$/);
    await send(page, 'signed in');
    // The answer streams over graphql-ws, which authenticates with connectionParams.
    await conversation(page).getByText('You said: signed in').waitFor({ timeout: 15_000 });
    await page.reload();
    await conversation(page).getByText('You said: signed in').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('switchboard.token'))).toBe(token);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it("applies the user's theme from Query.config, and a change at once (configChanged)", async () => {
    const server = await serve();
    await server.gql(UpdateConfigMutation, { input: { theme: { mode: 'dark' } } });
    const { page, pageErrors } = await openIsolatedPage(browser, server.origin);
    await page.goto(server.origin + '/');
    const theme = () => page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { dataset: Record<string, string>; style: { getPropertyValue(n: string): string } } } }).document.documentElement;
      return { mode: root.dataset.theme ?? null, accent: root.style.getPropertyValue('--accent') || null };
    });
    await expect.poll(theme).toEqual({ mode: 'dark', accent: null });
    await server.gql(UpdateConfigMutation, { input: { theme: { mode: 'light', accent: '#22a06b' } } });
    await expect.poll(theme).toEqual({ mode: 'light', accent: '#22a06b' });
    // Not a colour: ignored, not injected into the page's CSS.
    await server.gql(UpdateConfigMutation, { input: { theme: { accent: 'red; background: url(x)' } } });
    await expect.poll(theme).toEqual({ mode: null, accent: null });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('opens a long session (thousands of events) and keeps streaming into it', async () => {
    const server = await serve({ agent: createDemoAgent({ wordsPerSecond: Infinity }), limits: { sendMessagesPerMinute: 1000 } });
    const { id } = (await server.gql(CreateSessionMutation, { input: {} })).createSession;
    // 150 turns: about 900 events, 300 rows; one of them 3000 tokens streamed one event each.
    await server.gql(SendMessageMutation, { input: { sessionId: id, text: '/stream 3000' } });
    for (let i = 1; i <= 149; i++) await server.gql(SendMessageMutation, { input: { sessionId: id, text: `message ${i}` } });
    await expect.poll(async () => (await server.gql(SessionQuery, { id, limit: 1 })).session?.status, { timeout: 60_000 }).toBe('IDLE');
    const { page, pageErrors } = await openIsolatedPage(browser, server.origin);
    await page.goto(`${server.origin}/sessions/${id}`);
    await conversation(page).getByText('You said: message 149').waitFor({ timeout: 30_000 });
    // It opens on the newest 200 messages; the rest are a click away, in order.
    const you = conversation(page).getByRole('article', { name: 'You' });
    expect(await you.count()).toBe(100);
    await page.getByRole('button', { name: 'Show earlier messages' }).click();
    await expect.poll(() => you.count()).toBe(150);
    expect(await page.getByRole('button', { name: 'Show earlier messages' }).count()).toBe(0);
    expect(await you.first().textContent()).toBe('/stream 3000');
    expect(await you.nth(1).textContent()).toBe('message 1');
    expect(await page.getByRole('article', { name: 'Assistant' }).first().textContent()).toContain('t2999 t3000');
    // And it still takes input: a new turn streams in.
    await send(page, '/stream 2000');
    const last = page.getByRole('article', { name: 'Assistant' }).last();
    await expect.poll(async () => (await last.textContent())?.trim(), { timeout: 30_000 }).toBe(tokens(2000).trim());
    await status(page, 'Idle').waitFor({ timeout: 15_000 });
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
