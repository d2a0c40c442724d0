import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { createQueue, type AwaitableQueue } from './queue.js';
import { onCleanup } from './server.js';
import { executable, requireService, type ServiceRequirement } from './services.js';

/**
 * Debian's Chromium (`apt-get install chromium`); Playwright's own browser download is not
 * used. `CHROMIUM_PATH` points elsewhere, e.g. on a laptop with Chrome installed.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export function requireChromium(): Promise<ServiceRequirement> {
  return requireService('Chromium', executable(CHROMIUM_PATH), `${CHROMIUM_PATH} not found (apt-get install -y chromium)`);
}

/** Headless Chromium that reaches nothing but 127.0.0.1. Close it in `afterAll`. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // Without these Chromium phones home at start and its connections are refused here.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Any host name fails at once, so a page that tries the network fails fast instead of
      // hanging on a timeout; the request is still recorded and the test names it.
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ],
  });
}

export interface IsolatedPage {
  page: Page;
  context: BrowserContext;
  /** Every request the page made (http, ws, blob, data), in order. */
  readonly requests: readonly string[];
  /** Requests that went anywhere but `origin`; in-page `blob:`/`data:` URLs do not count. */
  readonly offOrigin: readonly string[];
  /** Uncaught exceptions in the page. */
  readonly pageErrors: readonly string[];
}

/**
 * A page in a context of its own, so no local storage (GraphiQL's saved tabs) carries over
 * between tests; the context is closed after the test.
 */
export async function openIsolatedPage(browser: Browser, origin: string): Promise<IsolatedPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, serviceWorkers: 'block' });
  onCleanup(() => context.close());
  const requests: string[] = [];
  const offOrigin: string[] = [];
  const pageErrors: string[] = [];
  const record = (url: string) => {
    requests.push(url);
    const { protocol } = new URL(url);
    if (protocol === 'blob:' || protocol === 'data:') return;
    // ws://127.0.0.1:PORT has the same host as the page; compare host, not scheme.
    if (new URL(url).host !== new URL(origin).host) offOrigin.push(url);
  };
  context.on('request', (request) => record(request.url()));
  const page = await context.newPage();
  page.on('websocket', (ws) => record(ws.url()));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return { page, context, requests, offOrigin, pageErrors };
}

/** One rendering of GraphiQL's result pane. */
export interface ResponseSnapshot {
  /** `Date.now()` in the page when it rendered. */
  at: number;
  text: string;
}

/**
 * Drives the GraphiQL that Yoga serves (GraphiQL 5, Monaco editors) the way a person does:
 * tabs, the run button, and what the result pane shows.
 */
export class GraphiQL {
  constructor(readonly page: Page) {}

  static async open(page: Page, url: string, timeoutMs = 60_000): Promise<GraphiQL> {
    await page.goto(url);
    const graphiql = new GraphiQL(page);
    // The page inlines GraphiQL and Monaco (about 9 MB of script), so parsing it takes a few
    // seconds on a busy machine; ready means the query editor shows the first tab's text.
    await graphiql.queryEditor.locator('.view-lines').first().waitFor({ timeout: timeoutMs });
    return graphiql;
  }

  get container(): Locator {
    return this.page.locator('.graphiql-container').first();
  }

  get queryEditor(): Locator {
    return this.page.locator('.graphiql-query-editor');
  }

  get responsePane(): Locator {
    return this.page.locator('.graphiql-response');
  }

  get logo(): Locator {
    return this.page.locator('.graphiql-logo');
  }

  tabButton(name: string): Locator {
    return this.page.locator('.graphiql-tabs').getByRole('button', { name, exact: true });
  }

  async tabNames(): Promise<string[]> {
    return this.page.locator('.graphiql-tabs .graphiql-tab-button').allInnerTexts();
  }

  activeTab(): Promise<string> {
    return this.page.locator('.graphiql-tab-active .graphiql-tab-button').innerText();
  }

  /** The query editor's text as shown (Monaco renders spaces as no-break spaces). */
  async queryText(): Promise<string> {
    return normalize(await this.queryEditor.locator('.view-lines').first().innerText());
  }

  async selectTab(name: string, timeoutMs = 10_000): Promise<void> {
    // Keyboard, not a click: GraphiQL's tabs are draggable (framer-motion Reorder) and keep a
    // stale layout transform that CSS applies only on :focus-within. The mouse-down focuses
    // the tab, it jumps sideways, the mouse-up lands beside it and no click fires (seen in
    // headless Chromium for the first click after load). Enter on the focused tab is what a
    // keyboard user does and does not depend on where the tab is drawn.
    await this.tabButton(name).press('Enter');
    await this.page.locator('.graphiql-tab-active').getByRole('button', { name, exact: true }).waitFor({ timeout: timeoutMs });
  }

  /** Clicks the run button (it becomes a stop button while a subscription runs). */
  async run(): Promise<void> {
    await this.page.locator('.graphiql-execute-button').click();
  }

  /** The result pane's text as shown. */
  async responseText(): Promise<string> {
    return normalize(await this.responsePane.innerText());
  }

  /**
   * Queues every distinct text the result pane renders from now on, with the time it
   * rendered, so a test can see a subscription's results arrive one by one.
   */
  async recordResponses(): Promise<AwaitableQueue<ResponseSnapshot>> {
    const queue = createQueue<ResponseSnapshot>();
    let last = '';
    await this.page.exposeFunction('__switchboardResponse', (at: number, raw: string) => {
      const text = normalize(raw);
      if (text === last) return;
      last = text;
      queue.push({ at, text });
    });
    // Runs in the page, where the DOM exists; this project compiles without DOM types.
    await this.responsePane.evaluate((pane) => {
      const win = globalThis as unknown as {
        MutationObserver: new (cb: () => void) => { observe(target: unknown, options: object): void };
        __switchboardResponse(at: number, text: string): void;
      };
      const report = () => win.__switchboardResponse(Date.now(), (pane as unknown as { innerText: string }).innerText);
      new win.MutationObserver(report).observe(pane, { childList: true, subtree: true, characterData: true });
      report();
    });
    return queue;
  }
}

function normalize(text: string): string {
  return text.replace(/\u00a0/g, ' ');
}
