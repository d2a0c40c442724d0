/**
 * Takes the web app's screenshots for README.md and docs/web-app.md (docs/web-app*.png) in Debian's Chromium,
 * against a server with the demo agent: `npm run build && tsx scripts/web-screenshots.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { createDemoAgent } from '../src/agents/demo.js';
import { createApp } from '../src/app.js';

const root = new URL('../', import.meta.url).pathname;
const dataDir = await mkdtemp(join(tmpdir(), 'switchboard-shots-'));
const app = createApp({ agent: createDemoAgent({ wordsPerSecond: 200 }), port: 0, host: '127.0.0.1', dataDir, onError: () => {} });
const { port } = await app.start();
const origin = `http://127.0.0.1:${port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${origin}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return ((await res.json()) as { data: Record<string, unknown> }).data;
}
const create = (id: string, title: string) => gql('mutation($i: CreateSessionInput){ createSession(input: $i){ id } }', { i: { id, title } });

async function say(page: Page, text: string, waitFor: string) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
  await page.getByRole('log', { name: 'Conversation' }).getByText(waitFor).first().waitFor();
}

try {
  await create('notes', 'Release notes draft');
  await create('ideas', 'Weekend ideas');
  await create('demo', 'Trying the demo agent');
  for (const [name, theme] of [
    ['web-app.png', { mode: 'light' }],
    ['web-app-dark.png', { mode: 'dark', accent: '#22a06b' }],
  ] as const) {
    await gql('mutation($t: JSON){ updateConfig(input: { theme: $t }){ theme } }', { t: theme });
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const id = name === 'web-app.png' ? 'demo' : 'ideas';
    await page.goto(`${origin}/sessions/${id}`);
    await page.getByRole('status', { name: 'Session status' }).getByText('Idle', { exact: true }).waitFor();
    await say(page, 'Hello! What can you do?', 'You said: Hello! What can you do?');
    await page.getByRole('status', { name: 'Session status' }).getByText('Idle', { exact: true }).waitFor();
    await say(page, '/write notes.txt Ship the web app', 'asks for permission');
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await page.getByText(/wrote \d+ bytes/).waitFor();
    await page.getByRole('status', { name: 'Session status' }).getByText('Idle', { exact: true }).waitFor();
    await say(page, '/write todo.txt Take screenshots', 'asks for permission');
    await page.getByRole('button', { name: 'Deny' }).waitFor();
    await page.screenshot({ path: join(root, 'docs', name) });
    await context.close();
  }
} finally {
  await browser.close();
  await app.stop();
  await rm(dataDir, { recursive: true, force: true });
}
