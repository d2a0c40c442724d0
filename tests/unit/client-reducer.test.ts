import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { conversationOf, emptyView, reduce, reduceAll, seedView, type ClientEvent, type SessionView } from '../../src/client/index.js';
import type { SessionSnapshotFieldsFragment } from '../../src/client/gql/graphql.js';

/** Event sequences recorded from a real server (tests/fixtures/client-events/record.ts). */
function recorded(name: string): { events: ClientEvent[]; snapshot?: SessionSnapshotFieldsFragment } {
  return JSON.parse(readFileSync(new URL(`../fixtures/client-events/${name}.json`, import.meta.url), 'utf8'));
}

/** Every intermediate view, event by event. */
function views(events: readonly ClientEvent[], from: SessionView = emptyView): SessionView[] {
  const out: SessionView[] = [];
  let v = from;
  for (const e of events) out.push((v = reduce(v, e)));
  return out;
}

const kinds = (v: SessionView) => conversationOf(v).map((i) => i.kind);
const scenarios = ['plain', 'stream', 'write-allowed', 'write-denied', 'always-allow', 'expired', 'cancel', 'fail', 'queued', 'interrupt'];

describe('reduce: session events to a session view', () => {
  it('plain turn: user message, text streaming from deltas, confirmed by TextComplete, IDLE with usage on Complete', () => {
    const { events } = recorded('plain');
    const [user, d1, d2, complete, end] = views(events);
    expect(user!.status).toBe('RUNNING');
    expect(user!.items).toMatchObject([{ kind: 'user', text: 'hello there' }]);
    expect(user!.turn).toMatchObject({ turnId: events[0]!.turnId, running: true });
    expect(d1!.streaming).toMatchObject({ kind: 'text', text: 'You ', state: 'streaming' });
    expect(d2!.streaming!.text).toBe('You said: hello there');
    // The delta touched only the streaming block.
    expect(d2!.items).toBe(d1!.items);
    expect(complete!.streaming).toBeNull();
    expect(complete!.items.at(-1)).toMatchObject({ kind: 'text', text: 'You said: hello there', state: 'complete', isIntermediate: false, key: d1!.streaming!.key });
    expect(end!.status).toBe('IDLE');
    expect(end!.turn).toMatchObject({ running: false, reason: 'END_TURN' });
    expect(end!.lastSeq).toBe(5);
    expect(kinds(end!)).toEqual(['user', 'text', 'complete']);
  });

  it('/stream: the deltas concatenate to the completed text', () => {
    const { events } = recorded('stream');
    const all = views(events);
    const beforeComplete = all[events.findIndex((e) => e.__typename === 'TextCompleteEvent') - 1]!;
    const final = all.at(-1)!;
    expect(final.items[1]).toMatchObject({ kind: 'text', state: 'complete', text: beforeComplete.streaming!.text });
    expect(beforeComplete.streaming!.text).toMatch(/^t1 t2 .* t20 $/);
  });

  it('/write allowed: tool call with input, pending permission (AWAITING_PERMISSION), resolved ALLOWED by USER, result', () => {
    const { events } = recorded('write-allowed');
    const [, start, request, resolved, result, end] = views(events);
    expect(start!.items.at(-1)).toMatchObject({ kind: 'tool', toolName: 'write_file', input: { path: 'a.txt', text: 'hi' }, result: null });
    expect(request!.status).toBe('AWAITING_PERMISSION');
    expect(request!.pendingPermissions).toMatchObject([{ toolName: 'write_file', command: 'write a.txt', status: 'PENDING' }]);
    expect(resolved!.status).toBe('RUNNING');
    expect(resolved!.pendingPermissions).toEqual([]);
    expect(resolved!.items.find((i) => i.kind === 'permission')).toMatchObject({ status: 'ALLOWED', resolution: 'USER', alwaysAllow: false });
    expect(result!.items.find((i) => i.kind === 'tool')).toMatchObject({ result: 'wrote 2 bytes to a.txt', isError: false });
    expect(end!.status).toBe('IDLE');
    expect(kinds(end!)).toEqual(['user', 'tool', 'permission', 'complete']);
  });

  it('/write denied: DENIED, the tool result isError, then the text', () => {
    const end = reduceAll(emptyView, recorded('write-denied').events);
    expect(end.items.find((i) => i.kind === 'permission')).toMatchObject({ status: 'DENIED', resolution: 'USER' });
    expect(end.items.find((i) => i.kind === 'tool')).toMatchObject({ isError: true });
    expect(kinds(end)).toEqual(['user', 'tool', 'permission', 'text', 'complete']);
  });

  it('always allow: the second call is answered by RULE with no request, and never AWAITING_PERMISSION', () => {
    const { events } = recorded('always-allow');
    const all = views(events);
    const second = all.slice(6);
    expect(second.map((v) => v.status)).not.toContain('AWAITING_PERMISSION');
    const permissions = all.at(-1)!.items.filter((i) => i.kind === 'permission');
    expect(permissions).toMatchObject([
      { status: 'ALLOWED', resolution: 'USER', alwaysAllow: true, command: 'write a.txt' },
      { status: 'ALLOWED', resolution: 'RULE', toolName: 'write_file' },
    ]);
  });

  it('expired: EXPIRED (TIMEOUT) and no longer pending', () => {
    const end = reduceAll(emptyView, recorded('expired').events);
    expect(end.items.find((i) => i.kind === 'permission')).toMatchObject({ status: 'EXPIRED', resolution: 'TIMEOUT', alwaysAllow: false });
    expect(end.pendingPermissions).toEqual([]);
  });

  it('cancel: the pending request becomes CANCELLED and the turn ends CANCELLED', () => {
    const end = reduceAll(emptyView, recorded('cancel').events);
    expect(end.items.find((i) => i.kind === 'permission')).toMatchObject({ status: 'CANCELLED', resolution: 'CANCELLED' });
    expect(end.turn).toMatchObject({ reason: 'CANCELLED', running: false });
    expect(end.status).toBe('IDLE');
  });

  it('/fail: the cut text block stays (state cut), the error is attached to its turn, the turn ends ERROR', () => {
    const { events } = recorded('fail');
    const end = reduceAll(emptyView, events);
    expect(kinds(end)).toEqual(['user', 'text', 'error', 'complete']);
    expect(end.items[1]).toMatchObject({ state: 'cut', text: 'Something is about to go wrong' });
    expect(end.items[2]).toMatchObject({ kind: 'error', error: 'boom', turnId: events[0]!.turnId });
    expect(end.turn).toMatchObject({ reason: 'ERROR', errors: [{ error: 'boom' }] });
  });

  it('queued: seeded from a Session snapshot, the queued message moves into the conversation when its turn starts', () => {
    const { events, snapshot } = recorded('queued');
    const seeded = seedView(snapshot!);
    expect(seeded).toMatchObject({ status: 'RUNNING', lastSeq: 1, queued: [{ text: 'queued one' }] });
    expect(kinds(seeded)).toEqual(['user']);
    const all = views(events, seeded);
    // Seq 1 is already in the snapshot: same view.
    expect(all[0]).toBe(seeded);
    const started = all[2]!;
    expect(started.queued).toEqual([]);
    expect(started.items.at(-1)).toMatchObject({ kind: 'user', text: 'queued one' });
    expect(kinds(all.at(-1)!)).toEqual(['user', 'complete', 'user', 'text', 'complete']);
  });

  it('INTERRUPT: the running turn ends CANCELLED, the new one runs', () => {
    const end = reduceAll(emptyView, recorded('interrupt').events);
    expect(end.items.filter((i) => i.kind === 'complete').map((i) => (i as { reason: string }).reason)).toEqual(['CANCELLED', 'END_TURN']);
    expect(end.turn).toMatchObject({ turnId: recorded('interrupt').events[2]!.turnId, reason: 'END_TURN' });
  });

  it.each(scenarios)('%s: applying the same events twice gives the same view', (name) => {
    const { events } = recorded(name);
    const once = reduceAll(emptyView, events);
    expect(reduceAll(once, events)).toBe(once);
    // Interleaved repeats (a resubscribe overlapping what was seen) change nothing either.
    const doubled = events.flatMap((e, i) => [e, ...events.slice(Math.max(0, i - 2), i + 1)]);
    expect(reduceAll(emptyView, doubled)).toEqual(once);
  });

  it('a snapshot seeds messages with tool calls and pending permissions; events after it resolve them', () => {
    const { events } = recorded('write-allowed');
    const upToRequest = reduceAll(emptyView, events.slice(0, 3));
    const snapshot: SessionSnapshotFieldsFragment = {
      id: events[0]!.sessionId,
      title: 't',
      status: 'AWAITING_PERMISSION',
      model: 'demo',
      permissionMode: 'ASK',
      lastSeq: 3,
      messages: [
        { id: 'm1', role: 'USER', text: '/write a.txt hi', turnId: events[0]!.turnId!, createdAt: events[0]!.at, toolCalls: [] },
        {
          id: 'm2',
          role: 'ASSISTANT',
          text: '',
          turnId: events[0]!.turnId!,
          createdAt: events[1]!.at,
          toolCalls: [{ toolUseId: (events[1] as { toolUseId: string }).toolUseId, toolName: 'write_file', input: { path: 'a.txt', text: 'hi' }, result: null, isError: false }],
        },
      ],
      pendingPermissions: [upToRequest.pendingPermissions[0]!].map(({ requestId, toolName, command, description, expiresAt }) => ({ requestId, toolName: toolName!, command, description, expiresAt })),
      queuedMessages: [],
    };
    const seeded = seedView(snapshot);
    expect(kinds(seeded)).toEqual(['user', 'tool', 'permission']);
    expect(seeded.status).toBe('AWAITING_PERMISSION');
    const end = reduceAll(seeded, events);
    expect(kinds(end)).toEqual(['user', 'tool', 'permission', 'complete']);
    expect(end.items[1]).toMatchObject({ kind: 'tool', result: 'wrote 2 bytes to a.txt' });
    expect(end.items[2]).toMatchObject({ status: 'ALLOWED' });
    expect(end.pendingPermissions).toEqual([]);
  });

  it('a snapshot taken mid-stream, with the recent events, shows the text streamed so far; then continues without a repeat', () => {
    const { events } = recorded('stream');
    const [user] = events;
    const snapshot: SessionSnapshotFieldsFragment = {
      id: user!.sessionId,
      title: 't',
      status: 'RUNNING',
      model: 'demo',
      permissionMode: 'ASK',
      lastSeq: 3,
      // Messages hold completed text only: the user's message so far.
      messages: [{ id: 'm1', role: 'USER', text: '/stream 20', turnId: user!.turnId!, createdAt: user!.at, toolCalls: [] }],
      pendingPermissions: [],
      queuedMessages: [],
    };
    const streamedSoFar = reduceAll(emptyView, events.slice(0, 3));
    const plain = seedView(snapshot);
    expect(plain.streaming).toBeNull();
    const seeded = seedView(snapshot, events.slice(0, 3));
    expect(seeded.lastSeq).toBe(3);
    expect(seeded.streaming!.text).toBe(streamedSoFar.streaming!.text);
    expect(kinds(seeded)).toEqual(['user', 'text']);
    const end = reduceAll(seeded, events);
    expect(end).toEqual({ ...reduceAll(emptyView, events), items: end.items });
    expect(conversationOf(end).map((i) => ({ ...i, key: '' }))).toEqual(conversationOf(reduceAll(emptyView, events)).map((i) => ({ ...i, key: '' })));
    // Recent events that do not reach back to the turn's start are not used.
    expect(seedView(snapshot, events.slice(1, 3))).toEqual(plain);
  });

  it('views are immutable: reducing never changes an earlier view', () => {
    const { events } = recorded('write-denied');
    const all = views(events);
    const frozen = JSON.stringify(all);
    reduceAll(all[3]!, events);
    expect(JSON.stringify(all)).toBe(frozen);
  });

  it('5,000 events: a delta does not copy the item list, and the whole session reduces without quadratic copying', () => {
    // 500 turns of user message, 7 deltas, TextComplete, Complete: 5,000 events.
    const sessionId = 's';
    const events: ClientEvent[] = [];
    let seq = 0;
    const at = '2026-01-01T00:00:00.000Z';
    for (let t = 0; t < 500; t++) {
      const turnId = `t${t}`;
      events.push({ __typename: 'UserMessageEvent', sessionId, seq: ++seq, turnId, at, messageId: `m${t}`, text: `q${t}` });
      for (let d = 0; d < 7; d++) events.push({ __typename: 'TextDeltaEvent', sessionId, seq: ++seq, turnId, at, delta: `w${d} ` });
      events.push({ __typename: 'TextCompleteEvent', sessionId, seq: ++seq, turnId, at, text: 'w0 w1 w2 w3 w4 w5 w6 ', isIntermediate: false });
      events.push({ __typename: 'CompleteEvent', sessionId, seq: ++seq, turnId, at, reason: 'END_TURN', usage: null });
    }
    expect(events).toHaveLength(5000);
    let v = emptyView;
    let itemArraysMade = 0;
    for (const e of events) {
      const next = reduce(v, e);
      if (next.items !== v.items) itemArraysMade++;
      v = next;
    }
    // Only the 1,500 non-delta events made a new item array; the 3,500 deltas did not.
    expect(itemArraysMade).toBe(1500);
    expect(v.items).toHaveLength(1500);
    expect(v.lastSeq).toBe(5000);
  });
});
