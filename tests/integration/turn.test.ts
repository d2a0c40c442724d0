import { describe, expect, it } from 'vitest';
import { deltaText, seqs, subscribeEvents, wsClient } from '../utils/clients.js';
import { CreateSessionMutation, SendMessageMutation, SessionQuery } from '../utils/operations.js';
import { startTestServer } from '../utils/server.js';

describe('a turn over graphql-ws', () => {
  it('streams UserMessage, deltas, TextComplete and Complete with gap-free seqs', async () => {
    const server = await startTestServer();
    const client = wsClient(server);
    const { createSession } = await server.gql(CreateSessionMutation, { input: { id: 'plain' } });
    expect(createSession).toMatchObject({ id: 'plain', status: 'IDLE', lastSeq: 0 });

    const events = subscribeEvents(client, 'plain', 0);
    const sent = await server.gql(SendMessageMutation, {
      input: { sessionId: 'plain', text: 'hello there, streaming world' },
    });
    expect(sent.sendMessage).toMatchObject({ queued: false, session: { status: 'RUNNING' } });

    const turn = await events.untilComplete();
    expect(seqs(turn)).toEqual(turn.map((_, i) => i + 1));
    expect(turn[0]).toMatchObject({ __typename: 'UserMessageEvent', text: 'hello there, streaming world', turnId: sent.sendMessage.turnId });
    const complete = turn.at(-1)!;
    expect(complete).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
    const textComplete = turn.at(-2)!;
    expect(textComplete).toMatchObject({ __typename: 'TextCompleteEvent', text: 'You said: hello there, streaming world' });
    expect(deltaText(turn)).toBe('You said: hello there, streaming world');
    expect(turn.slice(1, -2).every((e) => e.__typename === 'TextDeltaEvent')).toBe(true);

    const { session } = await server.gql(SessionQuery, { id: 'plain' });
    expect(session).toMatchObject({ status: 'IDLE', lastSeq: turn.length });
    expect(session!.messages.map((m) => [m.role, m.text])).toEqual([
      ['USER', 'hello there, streaming world'],
      ['ASSISTANT', 'You said: hello there, streaming world'],
    ]);
  });
});
