import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createModelAgent, DEFAULT_SYSTEM_PROMPT, type ModelAgentOptions } from '../../src/agents/loop.js';
import { UNFINISHED_TOOL_RESULT } from '../../src/agents/conversation.js';
import type { ModelPart } from '../../src/agents/providers/types.js';
import { AgentError, type AgentEvent, type AgentTurn, type ConversationMessage, type PermissionAsk } from '../../src/agents/types.js';
import { createManualClock, settle, type ManualClock } from '../utils/manual-clock.js';
import { answer, createScriptedProvider, providerError, type ScriptedProvider } from '../utils/scripted-provider.js';

let workspace: string;
let clock: ManualClock;
let provider: ScriptedProvider;

beforeEach(async () => {
  workspace = join(await mkdtemp(join(tmpdir(), 'loop-test-')), 'ws');
  clock = createManualClock(0);
  provider = createScriptedProvider();
});
afterEach(async () => {
  await rm(join(workspace, '..'), { recursive: true, force: true });
});

const SECRET = 'sk-ant-api03-very-secret-key';

function agent(options: Partial<ModelAgentOptions> = {}) {
  return createModelAgent({ provider, models: ['model-a', 'model-b'], clock, random: () => 0.5, secrets: [SECRET], ...options });
}

interface Run {
  events: AgentEvent[];
  asks: PermissionAsk[];
  /** Resolves when the turn ends; rejects with what it threw. */
  done: Promise<void>;
  controller: AbortController;
}

/** Runs one turn in the background, answering every permission request with `allow`. */
function start(
  text: string,
  { history = [], allow = true, options = {} }: { history?: ConversationMessage[]; allow?: boolean; options?: Partial<ModelAgentOptions> } = {},
): Run {
  const controller = new AbortController();
  const events: AgentEvent[] = [];
  const asks: PermissionAsk[] = [];
  const turn: AgentTurn = {
    sessionId: 's1',
    turnId: 't1',
    model: 'model-b',
    text,
    attachments: [],
    history,
    workspace,
    signal: controller.signal,
    requestPermission: async (ask) => {
      asks.push(ask);
      return allow;
    },
  };
  const done = (async () => {
    for await (const event of agent(options).chat(turn)) events.push(event);
  })();
  done.catch(() => {});
  return { events, asks, done, controller };
}

/** The turn's AgentError (fails if it ends otherwise). */
async function failure(run: Run): Promise<AgentError> {
  const error = await run.done.then(
    () => {
      throw new Error('the turn ended without an error');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentError);
  return error as AgentError;
}

const kinds = (events: AgentEvent[]) => events.map((e) => e.type);
const call = (id: string, name: string, input: unknown): ModelPart => ({ type: 'tool_call', id, name, input });
const usage = (inputTokens: number, outputTokens: number): ModelPart => ({ type: 'usage', inputTokens, outputTokens });
const finish = (reason: 'end_turn' | 'tool_use' | 'max_tokens' | 'other'): ModelPart => ({ type: 'finish', reason });

describe('a plain answer', () => {
  it('streams the text, completes it as final, reports usage, and sends one request with everything', async () => {
    provider.script(answer(['Hel', 'lo', '!'], { inputTokens: 12, outputTokens: 3 }));
    const run = start('hi', { options: { systemPrompt: 'Be brief.', maxTokens: 1000 } });
    await run.done;

    expect(run.events).toEqual([
      { type: 'text', delta: 'Hel' },
      { type: 'text', delta: 'lo' },
      { type: 'text', delta: '!' },
      { type: 'usage', inputTokens: 12, outputTokens: 3 },
      // Held until the response ends: only then is it known that no tool call follows.
      { type: 'text_end', isIntermediate: false },
    ]);
    expect(provider.requests).toHaveLength(1);
    const [request] = provider.requests;
    expect(request).toMatchObject({ model: 'model-b', system: 'Be brief.', maxTokens: 1000, messages: [{ role: 'user', text: 'hi' }] });
    expect(request!.tools.map((t) => t.name)).toEqual(['list_files', 'read_file', 'write_file']);
    expect(request!.tools[2]!.inputSchema).toMatchObject({ required: ['path', 'text'] });
  });

  it('sends the defaults: the built-in system prompt, 8192 tokens', async () => {
    provider.script(answer(['ok']));
    await start('hi').done;
    expect(provider.requests[0]).toMatchObject({ system: DEFAULT_SYSTEM_PROMPT, maxTokens: 8192 });
  });

  it('completes a text block as intermediate when more text follows it in the same response', async () => {
    provider.script([
      { type: 'text_delta', text: 'one' },
      { type: 'text_end' },
      { type: 'text_delta', text: 'two' },
      { type: 'text_end' },
      finish('end_turn'),
    ]);
    const run = start('hi');
    await run.done;
    expect(run.events).toEqual([
      { type: 'text', delta: 'one' },
      { type: 'text_end', isIntermediate: true },
      { type: 'text', delta: 'two' },
      { type: 'text_end', isIntermediate: false },
    ]);
  });

  it('completes the last text when the stream ends without ending it', async () => {
    provider.script([{ type: 'text_delta', text: 'loose' }, finish('end_turn')]);
    const run = start('hi');
    await run.done;
    expect(kinds(run.events)).toEqual(['text', 'text_end']);
    expect(run.events[1]).toEqual({ type: 'text_end', isIntermediate: false });
  });
});

describe('the tool loop', () => {
  const writeStep = (): ModelPart[] => [
    { type: 'text_delta', text: 'Writing it.' },
    { type: 'text_end' },
    call('toolu_1', 'write_file', { path: 'notes/a.txt', text: 'héllo' }),
    usage(100, 20),
    finish('tool_use'),
  ];

  it('allowed: asks, writes, sends the result back, and ends with the final text; usage summed', async () => {
    provider.script(writeStep(), answer(['Done.'], { inputTokens: 130, outputTokens: 4 }));
    const run = start('write it', { allow: true });
    await run.done;

    expect(run.events).toEqual([
      { type: 'text', delta: 'Writing it.' },
      { type: 'text_end', isIntermediate: true },
      { type: 'usage', inputTokens: 100, outputTokens: 20 },
      {
        type: 'tool_start',
        toolUseId: 'toolu_1',
        toolName: 'write_file',
        input: { path: 'notes/a.txt', text: 'héllo' },
        intent: 'Write notes/a.txt',
        displayName: 'Write file',
      },
      { type: 'tool_result', toolUseId: 'toolu_1', toolName: 'write_file', result: 'wrote 6 bytes to notes/a.txt', isError: false },
      { type: 'text', delta: 'Done.' },
      { type: 'usage', inputTokens: 230, outputTokens: 24 },
      { type: 'text_end', isIntermediate: false },
    ]);
    expect(run.asks).toEqual([
      {
        toolName: 'write_file',
        toolUseId: 'toolu_1',
        command: 'write notes/a.txt',
        description: "Write 6 bytes to notes/a.txt in the session's workspace",
      },
    ]);
    expect(await readFile(join(workspace, 'notes/a.txt'), 'utf8')).toBe('héllo');
    expect(provider.requests).toHaveLength(2);
    expect(provider.requests[1]!.messages).toEqual([
      { role: 'user', text: 'write it' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Writing it.' },
          { type: 'tool_call', id: 'toolu_1', name: 'write_file', input: { path: 'notes/a.txt', text: 'héllo' } },
        ],
      },
      {
        role: 'tool_results',
        results: [{ toolUseId: 'toolu_1', toolName: 'write_file', content: 'wrote 6 bytes to notes/a.txt', isError: false }],
      },
    ]);
  });

  it('denied: writes nothing and tells the model, which goes on', async () => {
    provider.script(writeStep(), answer(['Understood.']));
    const run = start('write it', { allow: false });
    await run.done;

    expect(run.events.find((e) => e.type === 'tool_result')).toEqual({
      type: 'tool_result',
      toolUseId: 'toolu_1',
      toolName: 'write_file',
      result: 'Permission denied: write_file',
      isError: true,
    });
    await expect(readFile(join(workspace, 'notes/a.txt'), 'utf8')).rejects.toThrow();
    expect(provider.requests[1]!.messages.at(-1)).toEqual({
      role: 'tool_results',
      results: [{ toolUseId: 'toolu_1', toolName: 'write_file', content: 'Permission denied: write_file', isError: true }],
    });
    expect(run.events.at(-1)).toEqual({ type: 'text_end', isIntermediate: false });
  });

  it('refuses a write that escapes the workspace without asking anyone', async () => {
    provider.script([call('toolu_1', 'write_file', { path: '../outside.txt', text: 'x' }), finish('tool_use')], answer(['ok']));
    const run = start('escape');
    await run.done;
    expect(run.asks).toEqual([]);
    expect(run.events.find((e) => e.type === 'tool_result')).toMatchObject({ result: 'path escapes the workspace: ../outside.txt', isError: true });
  });

  it('runs several calls of one response in order, and returns their results in that order', async () => {
    await mkdir(workspace, { recursive: true });
    await writeFile(join(workspace, 'a.txt'), 'A');
    await writeFile(join(workspace, 'b.txt'), 'B');
    provider.script(
      [
        call('c1', 'read_file', { path: 'b.txt' }),
        call('c2', 'list_files', {}),
        call('c3', 'read_file', { path: 'a.txt' }),
        finish('tool_use'),
      ],
      answer(['Both read.']),
    );
    const run = start('read both');
    await run.done;

    const tools = run.events.filter((e) => e.type === 'tool_start' || e.type === 'tool_result');
    expect(tools.map((e) => `${e.type}:${'toolUseId' in e ? e.toolUseId : ''}`)).toEqual([
      'tool_start:c1',
      'tool_result:c1',
      'tool_start:c2',
      'tool_result:c2',
      'tool_start:c3',
      'tool_result:c3',
    ]);
    expect(provider.requests[1]!.messages.at(-1)).toEqual({
      role: 'tool_results',
      results: [
        { toolUseId: 'c1', toolName: 'read_file', content: 'B', isError: false },
        { toolUseId: 'c2', toolName: 'list_files', content: 'a.txt\nb.txt', isError: false },
        { toolUseId: 'c3', toolName: 'read_file', content: 'A', isError: false },
      ],
    });
  });

  it('answers an unknown tool, arguments that are not JSON, and input the tool refuses, and the turn goes on', async () => {
    provider.script(
      [
        call('c1', 'delete_everything', { really: true }),
        call('c2', 'read_file', '{"path": "a.t'),
        call('c3', 'read_file', { file: 'a.txt' }),
        call('c4', 'write_file', { path: 'a.txt' }),
        call('c5', 'list_files', ''),
        finish('tool_use'),
      ],
      answer(['Sorry.']),
    );
    const run = start('go');
    await run.done;

    const results = provider.requests[1]!.messages.at(-1);
    expect(results).toEqual({
      role: 'tool_results',
      results: [
        {
          toolUseId: 'c1',
          toolName: 'delete_everything',
          content: 'Unknown tool "delete_everything". The tools are: list_files, read_file, write_file.',
          isError: true,
        },
        { toolUseId: 'c2', toolName: 'read_file', content: 'Invalid input for read_file: the arguments are not valid JSON: {"path": "a.t', isError: true },
        { toolUseId: 'c3', toolName: 'read_file', content: 'Invalid input for read_file: unknown property "file" (expected "path").', isError: true },
        { toolUseId: 'c4', toolName: 'write_file', content: 'Invalid input for write_file: "text" is required (a string).', isError: true },
        // "" is how some servers send a call without arguments: it means {}.
        { toolUseId: 'c5', toolName: 'list_files', content: '', isError: false },
      ],
    });
    expect(run.events.find((e) => e.type === 'tool_start' && e.toolUseId === 'c2')).toMatchObject({ input: '{"path": "a.t' });
    expect(run.asks).toEqual([]);
    expect(run.events.at(-1)).toEqual({ type: 'text_end', isIntermediate: false });
  });

  it('keeps reasoning blocks in the conversation for the rest of the turn, never as text', async () => {
    const thinking = { type: 'reasoning', provider: 'scripted', block: { type: 'thinking', thinking: 'hmm', signature: 'sig' } } as const;
    provider.script([thinking, call('c1', 'list_files', {}), finish('tool_use')], answer(['Empty.']));
    const run = start('what is there?');
    await run.done;

    expect(run.events.filter((e) => e.type === 'text').map((e) => (e as { delta: string }).delta)).toEqual(['Empty.']);
    expect(provider.requests[1]!.messages[1]).toEqual({
      role: 'assistant',
      content: [thinking, { type: 'tool_call', id: 'c1', name: 'list_files', input: {} }],
    });
  });

  it('ends with MAX_STEPS when the model still calls tools after maxSteps requests', async () => {
    const step = (i: number): ModelPart[] => [call(`c${i}`, 'list_files', {}), usage(10, 1), finish('tool_use')];
    provider.script(step(1), step(2), step(3));
    const run = start('loop forever', { options: { maxSteps: 2 } });
    const error = await failure(run);

    expect(error.code).toBe('MAX_STEPS');
    expect(error.message).toMatch(/limit of 2 model requests/);
    expect(provider.requests).toHaveLength(2);
    // The second step's call ran and has its result, so the stored conversation stays whole.
    expect(run.events.filter((e) => e.type === 'tool_result').map((e) => (e as { toolUseId: string }).toolUseId)).toEqual(['c1', 'c2']);
    expect(run.events.filter((e) => e.type === 'usage').at(-1)).toEqual({ type: 'usage', inputTokens: 20, outputTokens: 2 });
  });

  it('ends with MAX_TOKENS at the output limit, completing the text so far first', async () => {
    provider.script([{ type: 'text_delta', text: 'A long ans' }, usage(10, 50), finish('max_tokens')]);
    const run = start('tell me everything', { options: { maxTokens: 50 } });
    const error = await failure(run);

    expect(error.code).toBe('MAX_TOKENS');
    expect(error.message).toMatch(/output limit of 50 tokens/);
    expect(run.events).toEqual([
      { type: 'text', delta: 'A long ans' },
      { type: 'usage', inputTokens: 10, outputTokens: 50 },
      { type: 'text_end', isIntermediate: false },
    ]);
  });

  it('gives a call without an id one of its own, the same in the event and in the conversation', async () => {
    provider.script([call('', 'list_files', {}), finish('tool_use')], answer(['ok']));
    const run = start('go');
    await run.done;
    const startEvent = run.events.find((e) => e.type === 'tool_start') as { toolUseId: string };
    expect(startEvent.toolUseId).toMatch(/^call_/);
    expect(provider.requests[1]!.messages.at(-1)).toMatchObject({ results: [{ toolUseId: startEvent.toolUseId }] });
  });
});

describe('failures and retries', () => {
  it('honours retry-after on a 429, then goes on without repeating anything', async () => {
    provider.script({ fail: providerError('rate_limited', 'slow down', { status: 429, retryAfterMs: 5000 }) }, answer(['fine']));
    const run = start('hi');
    await provider.requested(1);
    await settle();

    await clock.advanceAsync(4999);
    expect(provider.requests).toHaveLength(1);
    await clock.advanceAsync(1);
    await run.done;
    expect(provider.requests).toHaveLength(2);
    expect(run.events).toEqual([
      { type: 'text', delta: 'fine' },
      { type: 'usage', inputTokens: 10, outputTokens: 5 },
      { type: 'text_end', isIntermediate: false },
    ]);
  });

  it('retries a 503 three times with growing, jittered backoff, then ends with PROVIDER_UNAVAILABLE', async () => {
    const unavailable = () => ({ fail: providerError('unavailable', 'overloaded', { status: 503 }) });
    provider.script(unavailable(), unavailable(), unavailable(), unavailable());
    // random 0.5 draws three quarters of each ceiling: 1000, 2000, 4000 ms.
    const run = start('hi', { options: { retryBaseDelayMs: 1000 } });
    for (const [n, wait] of [
      [1, 750],
      [2, 1500],
      [3, 3000],
    ] as const) {
      await provider.requested(n);
      await settle();
      await clock.advanceAsync(wait - 1);
      expect(provider.requests).toHaveLength(n);
      await clock.advanceAsync(1);
    }
    const error = await failure(run);
    expect(provider.requests).toHaveLength(4);
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toBe('The model provider is unavailable (HTTP 503) after 4 attempts: overloaded');
    expect(clock.pending()).toBe(0);
  });

  it('ends with PROVIDER_RATE_LIMITED after the retries', async () => {
    const limited = () => ({ fail: providerError('rate_limited', 'too many', { status: 429, retryAfterMs: 10 }) });
    provider.script(limited(), limited(), limited(), limited());
    const run = start('hi');
    for (let n = 1; n <= 3; n++) {
      await provider.requested(n);
      await settle();
      await clock.advanceAsync(10);
    }
    const error = await failure(run);
    expect(error.code).toBe('PROVIDER_RATE_LIMITED');
    expect(provider.requests).toHaveLength(4);
  });

  it('does not wait for a retry-after longer than the turn can afford', async () => {
    provider.script({ fail: providerError('rate_limited', 'come back tomorrow', { status: 429, retryAfterMs: 86_400_000 }) });
    const error = await failure(start('hi', { options: { maxRetryAfterMs: 60_000 } }));
    expect(error.code).toBe('PROVIDER_RATE_LIMITED');
    expect(provider.requests).toHaveLength(1);
  });

  it('never retries once part of the response streamed, and completes the text block that had ended', async () => {
    provider.script({
      parts: [{ type: 'text_delta', text: 'Half' }, { type: 'text_end' }, { type: 'text_delta', text: ' and' }],
      fail: providerError('unavailable', 'connection reset', { streamed: true }),
    });
    const run = start('hi');
    const error = await failure(run);
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(provider.requests).toHaveLength(1);
    expect(clock.pending()).toBe(0);
    expect(run.events).toEqual([
      { type: 'text', delta: 'Half' },
      { type: 'text_end', isIntermediate: true },
      { type: 'text', delta: ' and' },
    ]);
  });

  it('completes a text block the provider ended before a failure, as the final text', async () => {
    provider.script({
      parts: [{ type: 'text_delta', text: 'All I had' }, { type: 'text_end' }],
      fail: providerError('error', 'malformed event', { streamed: true }),
    });
    const run = start('hi');
    expect((await failure(run)).code).toBe('PROVIDER_ERROR');
    expect(run.events).toEqual([
      { type: 'text', delta: 'All I had' },
      { type: 'text_end', isIntermediate: false },
    ]);
  });

  it('does not retry a part received even when the provider claims nothing streamed', async () => {
    provider.script({ parts: [{ type: 'text_delta', text: 'x' }], fail: providerError('unavailable', 'gone', { streamed: false }) });
    const run = start('hi');
    expect((await failure(run)).code).toBe('PROVIDER_UNAVAILABLE');
    expect(provider.requests).toHaveLength(1);
  });

  it('ends with PROVIDER_AUTH on a 401 without retrying, saying to check the key and never showing it', async () => {
    provider.script({ fail: providerError('auth', `invalid x-api-key ${SECRET}`, { status: 401 }) });
    const error = await failure(start('hi'));
    expect(error.code).toBe('PROVIDER_AUTH');
    expect(error.message).toBe('The model provider refused the credentials (HTTP 401): check the API key.');
    expect(provider.requests).toHaveLength(1);
  });

  it('ends with PROVIDER_ERROR on any other failure without retrying, the key redacted from the provider message', async () => {
    provider.script({ fail: providerError('error', `bad request (key ${SECRET})`, { status: 400 }) });
    const error = await failure(start('hi'));
    expect(error.code).toBe('PROVIDER_ERROR');
    expect(error.message).toBe('The model provider failed (HTTP 400): bad request (key [redacted])');
    expect(error.message).not.toContain(SECRET);
    expect(provider.requests).toHaveLength(1);
  });

  it('ends with PROVIDER_ERROR when a stream ends without a finish', async () => {
    provider.script([{ type: 'text_delta', text: 'cut' }]);
    expect((await failure(start('hi'))).code).toBe('PROVIDER_ERROR');
    expect(provider.requests).toHaveLength(1);
  });

  it('sums the usage of a request that failed mid-stream into the last usage event', async () => {
    provider.script([call('c1', 'list_files', {}), usage(10, 2), finish('tool_use')], {
      parts: [usage(30, 1)],
      fail: providerError('error', 'malformed event', { streamed: true }),
    });
    const run = start('hi');
    expect((await failure(run)).code).toBe('PROVIDER_ERROR');
    expect(run.events.filter((e) => e.type === 'usage').at(-1)).toEqual({ type: 'usage', inputTokens: 40, outputTokens: 3 });
  });
});

describe('aborting', () => {
  it('aborts a request in flight at once, with the turn signal', async () => {
    provider.script({ hang: true });
    const run = start('hi');
    await provider.requested(1);
    const reason = new Error('cancelled');
    run.controller.abort(reason);
    await expect(run.done).rejects.toBe(reason);
    expect(provider.requests[0]!.signal.aborted).toBe(true);
  });

  it('aborts a backoff wait at once, and sends no further request', async () => {
    provider.script({ fail: providerError('unavailable', 'overloaded', { status: 529 }) }, answer(['never']));
    const run = start('hi');
    await provider.requested(1);
    await settle();
    expect(clock.pending()).toBe(1);
    const reason = new Error('interrupted');
    run.controller.abort(reason);
    await expect(run.done).rejects.toBe(reason);
    expect(clock.pending()).toBe(0);
    await clock.advanceAsync(60_000);
    expect(provider.requests).toHaveLength(1);
  });
});

describe('the conversation', () => {
  const at = '2024-01-01T00:00:00.000Z';
  const message = (m: Partial<ConversationMessage> & Pick<ConversationMessage, 'role' | 'text'>): ConversationMessage => ({
    id: `m${Math.random()}`,
    turnId: 't0',
    createdAt: at,
    toolCalls: [],
    ...m,
  });

  it('is rebuilt from the history, tool calls and results in order, then this turn’s message', async () => {
    const history: ConversationMessage[] = [
      message({ role: 'USER', text: 'look around' }),
      message({
        role: 'ASSISTANT',
        text: 'Let me look.',
        toolCalls: [
          { toolUseId: 'a1', toolName: 'list_files', input: {}, result: 'x.txt', isError: false },
          { toolUseId: 'a2', toolName: 'read_file', input: { path: 'y.txt' }, result: 'no such file: y.txt', isError: true },
        ],
      }),
      message({ role: 'ASSISTANT', text: '', toolCalls: [{ toolUseId: 'a3', toolName: 'read_file', input: { path: 'x.txt' }, result: 'X', isError: false }] }),
      message({ role: 'ASSISTANT', text: 'x.txt holds X.' }),
      message({ role: 'USER', text: 'write z' }),
      // A turn stopped while its tool waited for permission: the call has no result.
      message({ role: 'ASSISTANT', text: '', toolCalls: [{ toolUseId: 'a4', toolName: 'write_file', input: { path: 'z', text: 'z' }, result: null, isError: false }] }),
      message({ role: 'ASSISTANT', text: '' }),
    ];
    provider.script(answer(['ok']));
    await start('and now?', { history }).done;

    expect(provider.requests[0]!.messages).toEqual([
      { role: 'user', text: 'look around' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_call', id: 'a1', name: 'list_files', input: {} },
          { type: 'tool_call', id: 'a2', name: 'read_file', input: { path: 'y.txt' } },
        ],
      },
      {
        role: 'tool_results',
        results: [
          { toolUseId: 'a1', toolName: 'list_files', content: 'x.txt', isError: false },
          { toolUseId: 'a2', toolName: 'read_file', content: 'no such file: y.txt', isError: true },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_call', id: 'a3', name: 'read_file', input: { path: 'x.txt' } }] },
      { role: 'tool_results', results: [{ toolUseId: 'a3', toolName: 'read_file', content: 'X', isError: false }] },
      { role: 'assistant', content: [{ type: 'text', text: 'x.txt holds X.' }] },
      { role: 'user', text: 'write z' },
      { role: 'assistant', content: [{ type: 'tool_call', id: 'a4', name: 'write_file', input: { path: 'z', text: 'z' } }] },
      { role: 'tool_results', results: [{ toolUseId: 'a4', toolName: 'write_file', content: UNFINISHED_TOOL_RESULT, isError: true }] },
      { role: 'user', text: 'and now?' },
    ]);
  });
});

describe('createModelAgent', () => {
  it('serves its models, the first the default', () => {
    expect(agent().models).toEqual(['model-a', 'model-b']);
  });

  it('refuses settings that cannot work', () => {
    expect(() => agent({ models: [] })).toThrow(RangeError);
    expect(() => agent({ maxSteps: 0 })).toThrow(RangeError);
    expect(() => agent({ maxTokens: 1.5 })).toThrow(RangeError);
  });
});
