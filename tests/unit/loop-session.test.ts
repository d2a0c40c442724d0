import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModelAgent } from '../../src/agents/loop.js';
import type { ModelPart } from '../../src/agents/providers/types.js';
import { deltaText, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import { ofType } from '../utils/events-of.js';
import { CancelTurnMutation, CreateSessionMutation, RespondToPermissionMutation, SendMessageMutation } from '../utils/operations.js';
import { answer, createScriptedProvider, providerError, type ScriptedProvider } from '../utils/scripted-provider.js';
import { startTestServer } from '../utils/server.js';

/**
 * The tool loop run by a real SessionManager, behind a real server and a real graphql-ws
 * client: permissions through the session's own flow, history from the real store. Only the
 * model is scripted (the seam's in-memory double); the HTTP providers are tested on their own.
 */
async function serve(provider: ScriptedProvider) {
  const server = await startTestServer({ agent: createModelAgent({ provider, models: ['m1', 'm2'], maxSteps: 5 }) });
  const client = wsClient(server);
  await server.gql(CreateSessionMutation, { input: { id: 's', permissionMode: 'ASK' } });
  const events = subscribeEvents(client, 's', 0);
  const send = (text: string) => server.gql(SendMessageMutation, { input: { sessionId: 's', text } });
  const respond = (requestId: string, allowed: boolean, alwaysAllow = false) =>
    server.gql(RespondToPermissionMutation, { input: { sessionId: 's', requestId, allowed, alwaysAllow } });
  return { server, events, send, respond };
}

const call = (id: string, name: string, input: unknown): ModelPart => ({ type: 'tool_call', id, name, input });
const toolStep = (...parts: ModelPart[]): ModelPart[] => [...parts, { type: 'usage', inputTokens: 50, outputTokens: 10 }, { type: 'finish', reason: 'tool_use' }];

/** The event kinds of a turn, runs of deltas as one, without the user's message. */
function shape(events: readonly Event[]): string[] {
  const kinds = events.map((e) => e.__typename.replace(/Event$/, '')).filter((k) => k !== 'UserMessage');
  return kinds.filter((k, i) => !(k === 'TextDelta' && kinds[i - 1] === 'TextDelta'));
}

describe('the tool loop in a real session', () => {
  it('asks through the session, remembers "always allow", and rebuilds the next turn from the store', async () => {
    const provider = createScriptedProvider();
    provider.script(
      toolStep({ type: 'text_delta', text: 'Writing both.' }, { type: 'text_end' }, call('w1', 'write_file', { path: 'a.txt', text: 'A' })),
      toolStep(call('w2', 'write_file', { path: 'b.txt', text: 'BB' })),
      answer(['Both ', 'written.'], { inputTokens: 80, outputTokens: 4 }),
    );
    const { server, events, send, respond } = await serve(provider);
    await send('write a and b');

    const asked = await events.takeUntil((e) => e.__typename === 'PermissionRequestEvent');
    const [request] = ofType(asked, 'PermissionRequestEvent');
    expect(request!.request).toMatchObject({
      toolName: 'write_file',
      command: 'write a.txt',
      description: "Write 1 bytes to a.txt in the session's workspace",
    });
    await respond(request!.request.requestId, true, true);
    const turn = [...asked, ...(await events.untilComplete())];

    expect(shape(turn)).toEqual([
      'TextDelta',
      'TextComplete',
      'ToolStart',
      'PermissionRequest',
      'PermissionResolved',
      'ToolResult',
      'ToolStart',
      // The rule answers at once: nobody is asked again.
      'PermissionResolved',
      'ToolResult',
      'TextDelta',
      'TextComplete',
      'Complete',
    ]);
    expect(ofType(turn, 'TextCompleteEvent').map((e) => [e.text, e.isIntermediate])).toEqual([
      ['Writing both.', true],
      ['Both written.', false],
    ]);
    expect(ofType(turn, 'PermissionResolvedEvent').map((e) => e.resolution)).toEqual(['USER', 'RULE']);
    expect(ofType(turn, 'ToolStartEvent')[0]).toMatchObject({ toolUseId: 'w1', toolInput: { path: 'a.txt', text: 'A' }, toolIntent: 'Write a.txt', toolDisplayName: 'Write file' });
    expect(ofType(turn, 'ToolResultEvent').map((e) => e.result)).toEqual(['wrote 1 bytes to a.txt', 'wrote 2 bytes to b.txt']);
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN', usage: { inputTokens: 180, outputTokens: 24 } });
    expect(await readFile(join(server.dataDir, 'workspaces', 's', 'b.txt'), 'utf8')).toBe('BB');

    // The next turn's conversation comes from the store. The store keeps one assistant message
    // per text block with the calls that followed it, so the second step's call joins the first's.
    provider.script(answer(['ok']));
    await send('thanks');
    await events.untilComplete();
    expect(provider.requests).toHaveLength(4);
    expect(provider.requests[3]!.messages).toEqual([
      { role: 'user', text: 'write a and b' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Writing both.' },
          { type: 'tool_call', id: 'w1', name: 'write_file', input: { path: 'a.txt', text: 'A' } },
          { type: 'tool_call', id: 'w2', name: 'write_file', input: { path: 'b.txt', text: 'BB' } },
        ],
      },
      {
        role: 'tool_results',
        results: [
          { toolUseId: 'w1', toolName: 'write_file', content: 'wrote 1 bytes to a.txt', isError: false },
          { toolUseId: 'w2', toolName: 'write_file', content: 'wrote 2 bytes to b.txt', isError: false },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'Both written.' }] },
      { role: 'user', text: 'thanks' },
    ]);
    expect(provider.requests[3]!.model).toBe('m1');
  });

  it('denied: writes nothing, tells the model, and the turn ends with its answer', async () => {
    const provider = createScriptedProvider();
    provider.script(toolStep(call('w1', 'write_file', { path: 'a.txt', text: 'A' })), answer(['Not written, then.']));
    const { server, events, send, respond } = await serve(provider);
    await send('write a');

    const asked = await events.takeUntil((e) => e.__typename === 'PermissionRequestEvent');
    await respond(ofType(asked, 'PermissionRequestEvent')[0]!.request.requestId, false);
    const rest = await events.untilComplete();

    expect(ofType(rest, 'ToolResultEvent')).toMatchObject([{ toolUseId: 'w1', result: 'Permission denied: write_file', isError: true }]);
    expect(deltaText(rest)).toBe('Not written, then.');
    expect(rest.at(-1)).toMatchObject({ reason: 'END_TURN' });
    expect(provider.requests[1]!.messages.at(-1)).toEqual({
      role: 'tool_results',
      results: [{ toolUseId: 'w1', toolName: 'write_file', content: 'Permission denied: write_file', isError: true }],
    });
    await expect(readFile(join(server.dataDir, 'workspaces', 's', 'a.txt'), 'utf8')).rejects.toThrow();
  });

  it('ends a failed turn with the ErrorEvent code, and a cancel aborts the request in flight', async () => {
    const provider = createScriptedProvider();
    provider.script({ fail: providerError('auth', 'invalid x-api-key', { status: 401 }) }, { hang: true });
    const { server, events, send } = await serve(provider);

    await send('hi');
    const failed = await events.untilComplete();
    expect(ofType(failed, 'ErrorEvent')).toMatchObject([{ code: 'PROVIDER_AUTH', error: expect.stringContaining('check the API key') }]);
    expect(failed.at(-1)).toMatchObject({ reason: 'ERROR' });

    await send('again');
    await provider.requested(2);
    await server.gql(CancelTurnMutation, { sessionId: 's' });
    const cancelled = await events.untilComplete();
    expect(cancelled.at(-1)).toMatchObject({ reason: 'CANCELLED' });
    expect(provider.requests[1]!.signal.aborted).toBe(true);
  });
});
