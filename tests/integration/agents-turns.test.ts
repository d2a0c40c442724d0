/**
 * Real-model turns end to end: a real Switchboard, the tool loop over the real Anthropic and
 * OpenAI-compatible providers speaking HTTP to the fake provider server, and a graphql-ws
 * client. Each point runs for both providers; the requests the fake server recorded show
 * what went to the model, in that provider's own form.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgentFromConfig, DEFAULT_MODELS } from '../../src/agents/index.js';
import { deltaText, sseClient, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import { ofType } from '../utils/events-of.js';
import { ConfigQuery, CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { startFakeProvider } from '../fake-provider/server.js';
import { onCleanup, startTestServer } from '../utils/server.js';
import { API_KEY, conversationSent, openSession, PROVIDER_NAMES, sessionDriver, startAgentServer, type ProviderName } from '../utils/agent-server.js';

/** The event kinds of a turn, runs of deltas as one, without the user's message. */
function shape(events: readonly Event[]): string[] {
  const kinds = events.map((e) => e.__typename.replace(/Event$/, '')).filter((k) => k !== 'UserMessage');
  return kinds.filter((k, i) => !(k === 'TextDelta' && kinds[i - 1] === 'TextDelta'));
}

/** How each provider writes a conversation: user text, assistant text + tool calls, tool results. */
const FORM = {
  anthropic: {
    user: (text: string) => ({ role: 'user', content: [{ type: 'text', text }] }),
    assistant: (text: string | null, calls: Array<{ id: string; name: string; input: unknown }> = []) => ({
      role: 'assistant',
      content: [
        ...(text ? [{ type: 'text', text }] : []),
        ...calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.input })),
      ],
    }),
    /** Tool results, and the user text that follows them in the same user message. */
    results: (results: Array<{ id: string; content: string; isError: boolean }>, then?: string) => [
      {
        role: 'user',
        content: [
          ...results.map((r) => ({ type: 'tool_result', tool_use_id: r.id, content: r.content, is_error: r.isError })),
          ...(then ? [{ type: 'text', text: then }] : []),
        ],
      },
    ],
  },
  openai: {
    user: (text: string) => ({ role: 'user', content: text }),
    assistant: (text: string | null, calls: Array<{ id: string; name: string; input: unknown }> = []) =>
      calls.length === 0
        ? { role: 'assistant', content: text }
        : {
            role: 'assistant',
            content: text,
            tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input) } })),
          },
    results: (results: Array<{ id: string; content: string; isError: boolean }>, then?: string) => [
      ...results.map((r) => ({ role: 'tool', tool_call_id: r.id, content: r.content })),
      ...(then ? [{ role: 'user', content: then }] : []),
    ],
  },
} as const;

const ids = (p: ProviderName, n: string) => (p === 'anthropic' ? `toolu_${n}` : `call_${n}`);

describe.each(PROVIDER_NAMES)('%s: turns through a real server', (p) => {
  const form = FORM[p];

  it('a plain answer: the deltas concatenate to the TextComplete, END_TURN with the usage; one request with the model, prompt, limit and tools', async () => {
    const { server, fake, wire } = await startAgentServer({ provider: p, agent: { maxTokens: 321, systemPrompt: 'Be terse.' } });
    const s = await openSession(server, { model: 'model-b' });
    fake[wire.endpoint].enqueue(wire.text(['Hel', 'lo, ', 'wor', 'ld.'], { input: 12, output: 7 }));
    await s.send('Say hello');
    const turn = await s.events.untilComplete();

    expect(shape(turn)).toEqual(['TextDelta', 'TextComplete', 'Complete']);
    expect(deltaText(turn)).toBe('Hello, world.');
    expect(ofType(turn, 'TextCompleteEvent')).toMatchObject([{ text: 'Hello, world.', isIntermediate: false }]);
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN', usage: { inputTokens: 12, outputTokens: 7 } });

    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    const body = request!.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'model-b', max_tokens: 321, stream: true });
    if (p === 'anthropic') {
      expect(request!.path).toBe('/v1/messages');
      expect(request!.headers['x-api-key']).toBe(API_KEY);
      expect(body.system).toBe('Be terse.');
      expect((body.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(['list_files', 'read_file', 'write_file']);
    } else {
      expect(request!.path).toBe('/v1/chat/completions');
      expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(body.stream_options).toEqual({ include_usage: true });
      expect((body.messages as unknown[])[0]).toEqual({ role: 'system', content: 'Be terse.' });
      expect((body.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toEqual(['list_files', 'read_file', 'write_file']);
    }
    expect(conversationSent(request!)).toEqual([form.user('Say hello')]);
  });

  it('a plain answer over graphql-sse (single connection mode) too', async () => {
    const { server, fake, wire } = await startAgentServer({ provider: p });
    await server.gql(CreateSessionMutation, { input: { id: 'sse' } });
    const events = subscribeEvents(sseClient(server, 'single'), 'sse', 0);
    fake[wire.endpoint].enqueue(wire.text(['Over ', 'SSE.'], { input: 3, output: 2 }));
    await server.gql(SendMessageMutation, { input: { sessionId: 'sse', text: 'hi' } });
    const turn = await events.untilComplete();
    expect(deltaText(turn)).toBe('Over SSE.');
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN', usage: { inputTokens: 3, outputTokens: 2 } });
  });

  it('allow: the write asks, lands in the workspace after the yes, and its result goes back to the model', async () => {
    const { server, fake, wire } = await startAgentServer({ provider: p });
    const s = await openSession(server);
    const write = { id: ids(p, 'w1'), name: 'write_file', input: { path: 'notes/a.txt', text: 'hello' } };
    fake[wire.endpoint].enqueue(
      wire.tools([write], { text: "I'll write it.", usage: { input: 40, output: 9 } }),
      wire.text(['Done', '.'], { input: 60, output: 2 }),
    );
    await s.send('Write hello to notes/a.txt');

    const asked = await s.events.takeUntil((e) => e.__typename === 'PermissionRequestEvent');
    const request = ofType(asked, 'PermissionRequestEvent')[0]!.request;
    expect(request).toMatchObject({ toolName: 'write_file', command: 'write notes/a.txt' });
    await expect(readFile(s.workspaceFile('notes/a.txt'), 'utf8')).rejects.toThrow();
    await s.respond(request.requestId, true);
    const turn = [...asked, ...(await s.events.untilComplete())];

    expect(shape(turn)).toEqual([
      'TextDelta',
      'TextComplete',
      'ToolStart',
      'PermissionRequest',
      'PermissionResolved',
      'ToolResult',
      'TextDelta',
      'TextComplete',
      'Complete',
    ]);
    expect(ofType(turn, 'TextCompleteEvent').map((e) => [e.text, e.isIntermediate])).toEqual([
      ["I'll write it.", true],
      ['Done.', false],
    ]);
    expect(ofType(turn, 'ToolStartEvent')).toMatchObject([{ toolUseId: write.id, toolName: 'write_file', toolInput: write.input }]);
    expect(ofType(turn, 'ToolResultEvent')).toMatchObject([{ toolUseId: write.id, result: 'wrote 5 bytes to notes/a.txt', isError: false }]);
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN', usage: { inputTokens: 100, outputTokens: 11 } });
    expect(await readFile(s.workspaceFile('notes/a.txt'), 'utf8')).toBe('hello');

    expect(fake.requests).toHaveLength(2);
    expect(conversationSent(fake.requests[1]!)).toEqual([
      form.user('Write hello to notes/a.txt'),
      form.assistant("I'll write it.", [write]),
      ...form.results([{ id: write.id, content: 'wrote 5 bytes to notes/a.txt', isError: false }]),
    ]);
  });

  it('deny: nothing is written and the model is told, as an error result', async () => {
    const { server, fake, wire } = await startAgentServer({ provider: p });
    const s = await openSession(server);
    const write = { id: ids(p, 'w1'), name: 'write_file', input: { path: 'a.txt', text: 'A' } };
    fake[wire.endpoint].enqueue(wire.tools([write]), wire.text(['Not written, then.']));
    await s.send('write a');

    const asked = await s.events.takeUntil((e) => e.__typename === 'PermissionRequestEvent');
    await s.respond(ofType(asked, 'PermissionRequestEvent')[0]!.request.requestId, false);
    const rest = await s.events.untilComplete();

    expect(ofType(rest, 'PermissionResolvedEvent')).toMatchObject([{ allowed: false, resolution: 'USER' }]);
    expect(ofType(rest, 'ToolResultEvent')).toMatchObject([{ toolUseId: write.id, result: 'Permission denied: write_file', isError: true }]);
    expect(deltaText(rest)).toBe('Not written, then.');
    expect(rest.at(-1)).toMatchObject({ reason: 'END_TURN' });
    await expect(readFile(s.workspaceFile('a.txt'), 'utf8')).rejects.toThrow();
    expect(conversationSent(fake.requests[1]!).slice(-1)).toEqual(
      form.results([{ id: write.id, content: 'Permission denied: write_file', isError: true }]),
    );
  });

  it('always allow: the second write in the turn is allowed by the rule, nobody is asked again', async () => {
    const { server, fake, wire } = await startAgentServer({ provider: p });
    const s = await openSession(server);
    const first = { id: ids(p, 'w1'), name: 'write_file', input: { path: 'a.txt', text: 'A' } };
    const second = { id: ids(p, 'w2'), name: 'write_file', input: { path: 'b.txt', text: 'BB' } };
    fake[wire.endpoint].enqueue(wire.tools([first]), wire.tools([second]), wire.text(['Both written.']));
    await s.send('write a and b');

    const asked = await s.events.takeUntil((e) => e.__typename === 'PermissionRequestEvent');
    await s.respond(ofType(asked, 'PermissionRequestEvent')[0]!.request.requestId, true, true);
    const rest = await s.events.untilComplete();

    expect(ofType([...asked, ...rest], 'PermissionRequestEvent')).toHaveLength(1);
    expect(ofType(rest, 'PermissionResolvedEvent').map((e) => [e.resolution, e.allowed])).toEqual([
      ['USER', true],
      ['RULE', true],
    ]);
    expect(await readFile(s.workspaceFile('b.txt'), 'utf8')).toBe('BB');
    expect(fake.requests).toHaveLength(3);
    expect(conversationSent(fake.requests[2]!).slice(-1)).toEqual(
      form.results([{ id: second.id, content: 'wrote 2 bytes to b.txt', isError: false }]),
    );
  });

  it('parallel calls in one response run in the order given, and all their results go back together', async () => {
    const { server, fake, wire } = await startAgentServer({ provider: p });
    const s = await openSession(server, { permissionMode: 'ALLOW_ALL' });
    const calls = [
      { id: ids(p, 'p1'), name: 'write_file', input: { path: 'x.txt', text: 'first' } },
      { id: ids(p, 'p2'), name: 'read_file', input: { path: 'x.txt' } },
      { id: ids(p, 'p3'), name: 'list_files', input: {} },
    ];
    fake[wire.endpoint].enqueue(wire.tools(calls), wire.text(['ok']));
    await s.send('go');
    const turn = await s.events.untilComplete();

    expect(shape(turn)).toEqual(['ToolStart', 'ToolResult', 'ToolStart', 'ToolResult', 'ToolStart', 'ToolResult', 'TextDelta', 'TextComplete', 'Complete']);
    // The read sees the write before it: they ran one after the other, in order.
    expect(ofType(turn, 'ToolResultEvent').map((e) => [e.toolUseId, e.result])).toEqual([
      [calls[0]!.id, 'wrote 5 bytes to x.txt'],
      [calls[1]!.id, 'first'],
      [calls[2]!.id, 'x.txt'],
    ]);
    expect(conversationSent(fake.requests[1]!)).toEqual([
      form.user('go'),
      form.assistant(null, calls),
      ...form.results([
        { id: calls[0]!.id, content: 'wrote 5 bytes to x.txt', isError: false },
        { id: calls[1]!.id, content: 'first', isError: false },
        { id: calls[2]!.id, content: 'x.txt', isError: false },
      ]),
    ]);
  });

  it('the three tools on the workspace: folders end in /, a read gives the text, a path that escapes is an error result and asks nobody', async () => {
    const { server, fake, wire } = await startAgentServer({ provider: p });
    const s = await openSession(server);
    await mkdir(join(server.dataDir, 'workspaces', 's', 'notes'), { recursive: true });
    await writeFile(join(server.dataDir, 'workspaces', 's', 'notes', 'a.txt'), 'alpha');
    const calls = [
      { id: ids(p, 't1'), name: 'list_files', input: {} },
      { id: ids(p, 't2'), name: 'read_file', input: { path: 'notes/a.txt' } },
      { id: ids(p, 't3'), name: 'write_file', input: { path: '../outside.txt', text: 'x' } },
      { id: ids(p, 't4'), name: 'read_file', input: { path: '/etc/passwd' } },
    ];
    fake[wire.endpoint].enqueue(wire.tools(calls), wire.text(['Seen.']));
    await s.send('look around');
    const turn = await s.events.untilComplete();

    const results = ofType(turn, 'ToolResultEvent');
    expect(results.map((r) => [r.toolUseId, r.isError])).toEqual(calls.map((c, i) => [c.id, i >= 2]));
    expect(results[0]!.result.split('\n')).toEqual(['notes/', 'notes/a.txt']);
    expect(results[1]!.result).toBe('alpha');
    expect(results[2]!.result).toMatch(/outside\.txt/);
    expect(ofType(turn, 'PermissionRequestEvent')).toEqual([]);
    await expect(readFile(join(server.dataDir, 'workspaces', 'outside.txt'), 'utf8')).rejects.toThrow();
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN' });
  });

  it('history: the next turn, and the turn after a restart on the same data, carry every earlier turn in the provider form', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'switchboard-agents-'));
    onCleanup(() => rm(dataDir, { recursive: true, force: true }));
    const fake = await startFakeProvider();
    onCleanup(() => fake.close());
    const first = await startAgentServer({ provider: p, fake, app: { dataDir } });
    const { wire } = first;
    const s = await openSession(first.server, { permissionMode: 'ALLOW_ALL' });
    const write = { id: ids(p, 'h1'), name: 'write_file', input: { path: 'h.txt', text: 'hi' } };
    fake[wire.endpoint].enqueue(wire.tools([write], { text: 'Writing.' }), wire.text(['Written.']));
    await s.send('turn one');
    await s.events.untilComplete();
    fake[wire.endpoint].enqueue(wire.text(['Second answer.']));
    await s.send('turn two');
    await s.events.untilComplete();

    const history = [
      form.user('turn one'),
      form.assistant('Writing.', [write]),
      ...form.results([{ id: write.id, content: 'wrote 2 bytes to h.txt', isError: false }]),
    ];
    const turnTwo = conversationSent(fake.requests[2]!);
    expect(turnTwo).toEqual([...history, form.assistant('Written.'), form.user('turn two')]);

    await first.server.stop();
    const second = await startAgentServer({ provider: p, fake, app: { dataDir } });
    // Subscribed from where the first server's client stopped: only the new turn's events.
    const lastSeq = (s.events.all.at(-1) as { seq: number }).seq;
    const again = sessionDriver(second.server, s.id, subscribeEvents(wsClient(second.server), s.id, lastSeq));
    fake[wire.endpoint].enqueue(wire.text(['Third answer.']));
    await again.send('turn three');
    const turnThree = await again.events.untilComplete();
    expect(deltaText(turnThree)).toBe('Third answer.');
    expect(fake.requests).toHaveLength(4);
    expect(conversationSent(fake.requests[3]!)).toEqual([...turnTwo, form.assistant('Second answer.'), form.user('turn three')]);
  });
});

describe.each(PROVIDER_NAMES)('%s: a turn stopped while a tool waits', (p) => {
  const form = FORM[p];

  it('after a restart, the next request carries the call with a result saying it never finished (providers refuse a call without one)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'switchboard-agents-'));
    onCleanup(() => rm(dataDir, { recursive: true, force: true }));
    const fake = await startFakeProvider();
    onCleanup(() => fake.close());
    const first = await startAgentServer({ provider: p, fake, app: { dataDir } });
    const { wire } = first;
    const s = await openSession(first.server);
    const write = { id: ids(p, 'u1'), name: 'write_file', input: { path: 'u.txt', text: 'u' } };
    fake[wire.endpoint].enqueue(wire.tools([write], { text: 'Writing.' }));
    await s.send('write u');
    await s.events.takeUntil((e) => e.__typename === 'PermissionRequestEvent');
    await first.server.stop();
    expect((await s.events.untilComplete()).at(-1)).toMatchObject({ reason: 'INTERRUPTED' });

    const second = await startAgentServer({ provider: p, fake, app: { dataDir } });
    const lastSeq = (s.events.all.at(-1) as { seq: number }).seq;
    const again = sessionDriver(second.server, s.id, subscribeEvents(wsClient(second.server), s.id, lastSeq));
    fake[wire.endpoint].enqueue(wire.text(['Fine.']));
    await again.send('never mind');
    expect((await again.events.untilComplete()).at(-1)).toMatchObject({ reason: 'END_TURN' });
    const unfinished = 'The tool call did not finish: the turn was stopped before it had a result.';
    expect(conversationSent(fake.requests[1]!)).toEqual([
      form.user('write u'),
      form.assistant('Writing.', [write]),
      ...form.results([{ id: write.id, content: unfinished, isError: true }], 'never mind'),
    ]);
  });
});

describe('Query.config.models', () => {
  it('is the served list: MODELS when set, the first the default, and the model a session sends', async () => {
    const fake = await startFakeProvider();
    onCleanup(() => fake.close());
    const agent = await createAgentFromConfig({
      agent: 'openai',
      models: ['llama3.2', 'qwen3:8b'],
      anthropicApiKey: null,
      anthropicBaseUrl: 'https://api.anthropic.com',
      openaiApiKey: null,
      openaiBaseUrl: fake.openaiBaseUrl,
      agentMaxTokens: 99,
      agentMaxSteps: 3,
      agentSystemPrompt: null,
    });
    const server = await startTestServer({ agent });
    const { config } = await server.gql(ConfigQuery, {});
    expect(config).toMatchObject({ models: ['llama3.2', 'qwen3:8b'], defaultModel: 'llama3.2' });

    const s = await openSession(server);
    fake.openai.enqueue({ type: 'stream', steps: ['data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n', 'data: [DONE]\n\n'] });
    await s.send('hello');
    await s.events.untilComplete();
    const request = await fake.nextRequest();
    expect(request.body).toMatchObject({ model: 'llama3.2', max_tokens: 99 });
    // No key configured: no authorization header at all (Ollama, llama.cpp).
    expect(request.headers.authorization).toBeUndefined();
  });

  it("is the provider's default list when MODELS is unset", async () => {
    const agent = await createAgentFromConfig({
      agent: 'anthropic',
      models: null,
      anthropicApiKey: API_KEY,
      anthropicBaseUrl: 'http://127.0.0.1:9',
      openaiApiKey: null,
      openaiBaseUrl: 'https://api.openai.com/v1',
      agentMaxTokens: 99,
      agentMaxSteps: 3,
      agentSystemPrompt: null,
    });
    const server = await startTestServer({ agent });
    const result = await server.request(ConfigQuery, {});
    expect(result.data?.config.models).toEqual([...DEFAULT_MODELS.anthropic]);
  });
});
