import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { deltaText, seqs, sseClient, subscribe, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import { createJumpClock, type JumpClock } from '../utils/jump-clock.js';
import { ConfigChangedSubscription, CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { createQueue } from '../utils/queue.js';
import { startTestServer, type TestServer } from '../utils/server.js';

const SECRET = 'a test secret of reasonable length';

/** An HS256 token of `sub`, expiring at `expiresAt` (ms on the server's clock), or never. */
async function token(sub: string, expiresAt?: number) {
  const jwt = new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' });
  if (expiresAt !== undefined) jwt.setExpirationTime(Math.floor(expiresAt / 1000));
  return `Bearer ${await jwt.sign(new TextEncoder().encode(SECRET))}`;
}

/** A token that expires about 3 s from the clock's now (whole seconds), and how far to jump past it. */
const shortLived = async (clock: JumpClock) => ({ authorization: await token('alice', clock.now() + 3000) });
const PAST_EXPIRY_MS = 5000;

/** 60 tokens at 20/s: a turn still streaming when the token expires. */
const TURN = '/stream 60 20';
const TURN_TEXT = Array.from({ length: 60 }, (_, i) => `t${i + 1} `).join('');

async function startTurn(server: TestServer, sessionId: string, headers: Record<string, string>) {
  await server.request(CreateSessionMutation, { input: { id: sessionId } }, headers);
  const sent = await server.request(SendMessageMutation, { input: { sessionId, text: TURN } }, headers);
  expect(sent.errors).toBeUndefined();
}

/** What was received before and after the resume make the whole turn: seq 1, 2, 3, … once each. */
function expectWholeTurn(before: readonly Event[], after: readonly Event[]) {
  const all = [...before, ...after];
  expect(seqs(all)).toEqual(all.map((_, i) => i + 1));
  expect(deltaText(all)).toBe(TURN_TEXT);
  expect(all.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
}

const lastSeq = (events: readonly Event[]) => (events.at(-1) as { seq: number } | undefined)?.seq ?? 0;

describe("a token's exp ends what it opened", () => {
  it('closes a graphql-ws connection with 4403 at expiry; a fresh token resumes with after, losing nothing', async () => {
    const clock = createJumpClock();
    const server = await startTestServer({ authSecret: SECRET, clock });
    const forever = { authorization: await token('alice') };
    await startTurn(server, 'ws-expiry', forever);

    // A token valid for a year is not "expired" by a timer that cannot hold a year.
    const yearLong = wsClient(server, { connectionParams: { authorization: await token('alice', clock.now() + 365 * 24 * 3600_000) } });
    const longStream = subscribeEvents(yearLong, 'ws-expiry', 0);
    await longStream.next();

    const closed = createQueue<number>();
    const client = wsClient(server, { connectionParams: await shortLived(clock), on: { closed: (e) => closed.push((e as CloseEvent).code) } });
    const first = subscribeEvents(client, 'ws-expiry', 0);
    await first.takeUntil((e) => e.__typename === 'TextDeltaEvent');
    clock.jump(PAST_EXPIRY_MS);
    expect(await closed.next()).toBe(4403);
    await expect(first.done()).rejects.toThrow();
    expect(first.all.some((e) => e.__typename === 'CompleteEvent')).toBe(false);

    const fresh = wsClient(server, { connectionParams: { authorization: await token('alice', clock.now() + 3600_000) } });
    const rest = await subscribeEvents(fresh, 'ws-expiry', lastSeq(first.all)).untilComplete();
    expectWholeTurn(first.all, rest);
    expect(longStream.ended).toBe(false);
  });

  for (const mode of ['distinct', 'single'] as const) {
    it(`ends an SSE subscription (${mode} connection mode) at expiry; a fresh token resumes with after, losing nothing`, async () => {
      const clock = createJumpClock();
      const server = await startTestServer({ authSecret: SECRET, clock });
      const forever = { authorization: await token('alice') };
      await server.request(CreateSessionMutation, { input: { id: `sse-${mode}` } }, forever);

      const headers = await shortLived(clock);
      const client = sseClient(server, mode, { headers });
      const first = subscribeEvents(client, `sse-${mode}`, 0);
      const changes = subscribe(client, ConfigChangedSubscription, {});
      // Both streams are open before the turn starts (after: 0 replays it anyway).
      await changes.nothingWithin(100);
      const sent = await server.request(SendMessageMutation, { input: { sessionId: `sse-${mode}`, text: TURN } }, forever);
      expect(sent.errors).toBeUndefined();
      await first.takeUntil((e) => e.__typename === 'TextDeltaEvent');

      clock.jump(PAST_EXPIRY_MS);
      // Completed, not failed: the client comes back with a fresh token.
      await first.done();
      await changes.done();
      expect(first.all.some((e) => e.__typename === 'CompleteEvent')).toBe(false);

      const freshHeaders = { authorization: await token('alice', clock.now() + 3600_000) };
      const rest = await subscribeEvents(sseClient(server, mode, { headers: freshHeaders }), `sse-${mode}`, lastSeq(first.all)).untilComplete();
      expectWholeTurn(first.all, rest);
    });
  }
});
