import { describe, expect, it } from 'vitest';
import type { AgentEvent, AgentTurn } from '../../src/agents/types.js';
import { createShoutAgent } from '../../examples/custom-agent.js';
import { deltaText, seqs, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import {
  CancelTurnMutation,
  ConfigQuery,
  CreateSessionMutation,
  RespondToPermissionMutation,
  SendMessageMutation,
  SessionQuery,
} from '../utils/operations.js';
import { startTestServer } from '../utils/server.js';

/** What the agent yields for `text` when run on its own, every permission allowed. */
async function yielded(text: string): Promise<AgentEvent[]> {
  const turn: AgentTurn = {
    sessionId: 's',
    turnId: 't',
    model: 'shout-1',
    text,
    attachments: [],
    history: [],
    workspace: '/nonexistent',
    signal: new AbortController().signal,
    requestPermission: async () => true,
  };
  const events: AgentEvent[] = [];
  for await (const event of createShoutAgent({ msPerWord: 0 }).chat(turn)) events.push(event);
  return events;
}

/** The kinds of events in order, runs of deltas counted once (the server coalesces them). */
function agentShape(events: AgentEvent[]): string[] {
  const kinds = events.map((e) => ({ text: 'TextDelta', text_end: 'TextComplete', tool_start: 'ToolStart', tool_result: 'ToolResult', usage: '' })[e.type]);
  return kinds.filter((k, i) => k !== '' && !(k === 'TextDelta' && kinds[i - 1] === 'TextDelta'));
}

function wireShape(events: Event[]): string[] {
  const kinds = events
    .map((e) => e.__typename.replace(/Event$/, ''))
    .filter((k) => !['UserMessage', 'PermissionRequest', 'PermissionResolved', 'Complete'].includes(k));
  return kinds.filter((k, i) => !(k === 'TextDelta' && kinds[i - 1] === 'TextDelta'));
}

const agentText = (events: AgentEvent[]) => events.map((e) => (e.type === 'text' ? e.delta : '')).join('');

describe('a custom agent (examples/custom-agent.ts) plugged into createApp', () => {
  it('streams exactly what the agent yields, over graphql-ws', async () => {
    const server = await startTestServer({ agent: createShoutAgent({ msPerWord: 5 }) });
    const client = wsClient(server);
    const { config } = await server.gql(ConfigQuery, {});
    expect(config).toMatchObject({ models: ['shout-1'], defaultModel: 'shout-1' });
    const { createSession } = await server.gql(CreateSessionMutation, { input: { id: 'shout' } });
    expect(createSession).toMatchObject({ model: 'shout-1', lastSeq: 0 });

    const text = 'plug in  your own agent';
    const events = subscribeEvents(client, 'shout', 0);
    const { sendMessage } = await server.gql(SendMessageMutation, { input: { sessionId: 'shout', text } });
    const turn = await events.untilComplete();

    const expected = await yielded(text);
    expect(agentText(expected)).toBe('PLUG IN  YOUR OWN AGENT');
    expect(seqs(turn)).toEqual(turn.map((_, i) => i + 1));
    expect(turn[0]).toMatchObject({ __typename: 'UserMessageEvent', text, turnId: sendMessage.turnId });
    expect(wireShape(turn)).toEqual(agentShape(expected));
    expect(deltaText(turn)).toBe(agentText(expected));
    expect(turn.at(-2)).toMatchObject({ __typename: 'TextCompleteEvent', text: agentText(expected), isIntermediate: false });
    expect(turn.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN', usage: null });

    const { session } = await server.gql(SessionQuery, { id: 'shout' });
    expect(session!.messages.map((m) => [m.role, m.text])).toEqual([
      ['USER', text],
      ['ASSISTANT', agentText(expected)],
    ]);
  });

  it('asks for its gated tool and goes on once allowed', async () => {
    const server = await startTestServer({ agent: createShoutAgent({ msPerWord: 1 }) });
    const client = wsClient(server);
    await server.gql(CreateSessionMutation, { input: { id: 'gated', permissionMode: 'ASK' } });
    const events = subscribeEvents(client, 'gated', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'gated', text: '!ls -la' } });

    const asked = await events.takeUntil((e) => e.__typename === 'PermissionRequestEvent');
    const request = asked.at(-1)!;
    if (request.__typename !== 'PermissionRequestEvent') throw new Error('unreachable');
    expect(request.request).toMatchObject({ toolName: 'shell', command: 'ls -la' });
    const waiting = await server.gql(SessionQuery, { id: 'gated' });
    expect(waiting.session!.status).toBe('AWAITING_PERMISSION');

    const { respondToPermission } = await server.gql(RespondToPermissionMutation, {
      input: { sessionId: 'gated', requestId: request.request.requestId, allowed: true },
    });
    expect(respondToPermission.status).toBe('ALLOWED');
    const rest = await events.untilComplete();
    const turn = [...asked, ...rest];

    const expected = await yielded('!ls -la');
    expect(wireShape(turn)).toEqual(agentShape(expected));
    expect(rest[0]).toMatchObject({ __typename: 'PermissionResolvedEvent', allowed: true, resolution: 'USER' });
    expect(rest.find((e) => e.__typename === 'ToolResultEvent')).toMatchObject({ result: 'would run: ls -la', isError: false });
    expect(deltaText(turn)).toBe('!LS -LA');
    expect(turn.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
  });

  it('stops when the turn is cancelled', async () => {
    const server = await startTestServer({ agent: createShoutAgent({ msPerWord: 60_000 }) });
    const client = wsClient(server);
    await server.gql(CreateSessionMutation, { input: { id: 'slow' } });
    const events = subscribeEvents(client, 'slow', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'slow', text: 'one two three' } });
    await events.takeUntil((e) => e.__typename === 'TextDeltaEvent');

    const { cancelTurn } = await server.gql(CancelTurnMutation, { sessionId: 'slow' });
    expect(cancelTurn.status).toBe('IDLE');
    const rest = await events.untilComplete(2000);
    expect(rest.map((e) => e.__typename)).toEqual(['CompleteEvent']);
    expect(rest[0]).toMatchObject({ reason: 'CANCELLED' });
  });

  it('ends the turn with an ErrorEvent when chat() throws before returning an iterable, and the session goes on', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const server = await startTestServer({
      onError: (error) => errors.push(error),
      agent: {
        models: ['brittle-1'],
        chat: (turn) => {
          if (++calls === 1) throw new Error('bad configuration');
          return createShoutAgent({ msPerWord: 0 }).chat(turn);
        },
      },
    });
    await server.gql(CreateSessionMutation, { input: { id: 'brittle' } });
    const events = subscribeEvents(wsClient(server), 'brittle', 0);

    await server.gql(SendMessageMutation, { input: { sessionId: 'brittle', text: 'first' } });
    const failed = await events.untilComplete();
    expect(failed.map((e) => e.__typename)).toEqual(['UserMessageEvent', 'ErrorEvent', 'CompleteEvent']);
    expect(failed[1]).toMatchObject({ error: 'The agent failed unexpectedly.' });
    expect(failed[2]).toMatchObject({ reason: 'ERROR' });
    expect(errors).toEqual([expect.objectContaining({ message: 'bad configuration' })]);

    const { session } = await server.gql(SessionQuery, { id: 'brittle' });
    expect(session?.status).toBe('IDLE');
    await server.gql(SendMessageMutation, { input: { sessionId: 'brittle', text: 'second' } });
    const next = await events.untilComplete();
    expect(deltaText(next)).toBe('SECOND');
    expect(next.at(-1)).toMatchObject({ reason: 'END_TURN' });
  });
});
