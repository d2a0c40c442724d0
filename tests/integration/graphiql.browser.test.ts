import { parse, validate } from 'graphql';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';
import { graphiqlTabs } from '../../src/transport/graphiql.js';
import { GraphiQL, launchChromium, openIsolatedPage, requireChromium, type ResponseSnapshot } from '../utils/browser.js';
import { SendMessageMutation, SessionQuery } from '../utils/operations.js';
import { startTestServer } from '../utils/server.js';
import { describeWithService } from '../utils/services.js';

const chromium = await requireChromium();

/** What GraphiQL names a tab: the operation's name. */
const operationName = (query: string) => /^(?:query|mutation|subscription)\s+(\w+)/m.exec(query)?.[1];

/** The `sessionEvents` payload a result-pane snapshot shows, or undefined if it shows something else. */
function shownEvent(snapshot: ResponseSnapshot): { __typename: string; seq: number; reason?: string } | undefined {
  try {
    return (JSON.parse(snapshot.text) as { data?: { sessionEvents?: { __typename: string; seq: number } } }).data?.sessionEvents;
  } catch {
    return undefined; // empty pane, or a rendering caught between two results
  }
}

describeWithService(chromium, 'GraphiQL in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('is served by Switchboard itself, needs no network, and opens on the walkthrough tabs', async () => {
    const server = await startTestServer();
    const { page, offOrigin, pageErrors } = await openIsolatedPage(browser, server.origin);

    const graphiql = await GraphiQL.open(page, server.url);
    await graphiql.container.waitFor();
    expect(await page.title()).toBe('Switchboard');
    expect(await graphiql.logo.innerText()).toContain('Switchboard');

    // A fresh context has no saved tabs, so GraphiQL shows the server's default ones.
    expect(await graphiql.tabNames()).toEqual(graphiqlTabs.map((tab) => operationName(tab.query)));
    // Only tabs 1 and 2 run in the next test; a schema change must not break tab 3 either.
    for (const tab of graphiqlTabs) expect(validate(schema, parse(tab.query))).toEqual([]);
    expect(await graphiql.activeTab()).toBe('CreateSession');
    // The editor shows a tab's text a frame or more after the tab is marked active: read it until it does.
    const editorText = () => expect.poll(() => graphiql.queryText(), { timeout: 10_000 });
    await editorText().toContain('mutation CreateSession {');
    await graphiql.selectTab('Watch');
    await editorText().toContain('sessionEvents(sessionId: "demo", after: 0)');
    await graphiql.selectTab('Send');
    await editorText().toContain('text: "/stream 200 50"');

    expect(offOrigin).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('runs the walkthrough: a subscription started in GraphiQL shows the turn streaming in', async () => {
    const server = await startTestServer();
    const { page, requests, offOrigin, pageErrors } = await openIsolatedPage(browser, server.origin);
    const graphiql = await GraphiQL.open(page, server.url);

    // Tab 1, as a person would: create the "demo" session.
    await graphiql.run();
    await graphiql.responsePane.getByText('"IDLE"').waitFor({ timeout: 15_000 });
    expect(JSON.parse(await graphiql.responseText())).toEqual({ data: { createSession: { id: 'demo', status: 'IDLE' } } });

    // Tab 2: watch it. Yoga's GraphiQL subscribes over SSE (a GET to /graphql); waiting for
    // the stream's headers means the subscription is open before the turn starts.
    await graphiql.selectTab('Watch');
    const responses = await graphiql.recordResponses();
    const isStream = (accept: string | undefined) => (accept ?? '').includes('text/event-stream');
    const subscribed = page.waitForResponse((res) => isStream(res.request().headers()['accept']), { timeout: 45_000 });
    subscribed.catch(() => {}); // awaited below, unless a failed click gives up first
    // On a loaded machine the click can land before GraphiQL handles it and be lost: click
    // again only if no stream request went out (a second click on a running subscription
    // would stop it).
    for (let attempt = 1; ; attempt++) {
      const requested = page.waitForRequest((req) => isStream(req.headers()['accept']), { timeout: 10_000 });
      await graphiql.run();
      const sent = await requested.then(() => true, () => false);
      if (sent) break;
      if (attempt === 3) throw new Error('GraphiQL sent no subscription request after three clicks on Run');
    }
    await subscribed;

    // Tab 3's message, sent over HTTP: 200 tokens at 50/s, so the turn lasts about 4 s.
    const sent = await server.gql(SendMessageMutation, { input: { sessionId: 'demo', text: '/stream 200 50' } });
    expect(sent.sendMessage.queued).toBe(false);

    const shown = await responses.takeUntil((s) => shownEvent(s)?.__typename === 'CompleteEvent', 30_000);
    const events = shown.flatMap((s) => {
      const event = shownEvent(s);
      return event ? [{ ...event, at: s.at }] : [];
    });
    const complete = events.at(-1)!;
    expect(complete).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
    const { session } = await server.gql(SessionQuery, { id: 'demo', after: 0, limit: 1000 });
    expect(complete.seq).toBe(session!.lastSeq);

    // The pane updated while the turn streamed: many delta results, in seq order, the
    // first well before the end (the stream takes about 4 s; coalescing gives ~20 results/s).
    const deltas = events.filter((e) => e.__typename === 'TextDeltaEvent');
    expect(deltas.length).toBeGreaterThan(5);
    const seqsShown = events.map((e) => e.seq);
    expect(seqsShown).toEqual([...seqsShown].sort((a, b) => a - b));
    expect(complete.at - deltas[0]!.at).toBeGreaterThan(1000);

    // What a person sees now; GRAPHIQL_SCREENSHOT=/tmp/x.png keeps a picture to look at.
    if (process.env.GRAPHIQL_SCREENSHOT) await page.screenshot({ path: process.env.GRAPHIQL_SCREENSHOT });
    expect(await graphiql.responseText()).toContain('"reason": "END_TURN"');

    expect(requests.some((url) => url.startsWith(server.url))).toBe(true);
    expect(offOrigin).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
