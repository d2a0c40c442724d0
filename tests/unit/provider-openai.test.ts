/**
 * The OpenAI-compatible provider against the fake provider over real HTTP on loopback: the
 * request it sends, and the parts it makes of what OpenAI, vLLM, Ollama and others stream.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider } from '../../src/agents/providers/openai.js';
import { ProviderError, type ModelProvider } from '../../src/agents/providers/types.js';
import { collect, drain, modelRequest, textOf } from '../fake-provider/drive.js';
import { replay, type FixtureName } from '../fake-provider/fixtures/index.js';
import { startFakeProvider, type FakeProvider } from '../fake-provider/server.js';
import { chunk, openaiErrorBody, openaiFrame, openaiStream, openaiText, splitBytes, usageChunk } from '../fake-provider/wire.js';

const API_KEY = 'sk-proj-test-key-0123456789abcdef';

let fake: FakeProvider;
let provider: ModelProvider;
beforeEach(async () => {
  fake = await startFakeProvider();
  provider = createOpenAIProvider({ apiKey: API_KEY, baseUrl: fake.openaiBaseUrl });
});
afterEach(() => fake.close());

async function partsOf(name: FixtureName, pieces?: (text: string) => Array<string | Uint8Array>) {
  fake.openai.enqueue(replay(name, pieces));
  return collect(provider.stream(modelRequest()));
}

async function run(chunks: Parameters<typeof openaiStream>[0], options?: Parameters<typeof openaiStream>[1]) {
  fake.openai.enqueue(openaiStream(chunks, options));
  return drain(provider.stream(modelRequest()));
}

describe('OpenAI-compatible provider: recorded streams', () => {
  it('text from api.openai.com, then the choices: [] usage chunk (AI SDK openai-text)', async () => {
    const parts = await partsOf('openai-text');
    expect(textOf(parts)).toBe('**Holiday Name:** Harmony Day\n\n');
    expect(parts.slice(-3)).toEqual([
      { type: 'text_end' },
      { type: 'usage', inputTokens: 16, outputTokens: 300 },
      { type: 'finish', reason: 'end_turn' },
    ]);
  });

  it('parallel tool calls keyed by index, the id only on the first fragment (OpenAI guide shape)', async () => {
    expect(await partsOf('openai-parallel-tool-calls')).toEqual([
      { type: 'tool_call', id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'read_file', input: { path: 'a.txt' } },
      { type: 'tool_call', id: 'call_ABCDEFGHIJKLMNOPQRSTUVWX', name: 'write_file', input: { path: 'b.txt', text: 'héllo' } },
      { type: 'usage', inputTokens: 82, outputTokens: 36 },
      { type: 'finish', reason: 'tool_use' },
    ]);
  });

  it('reasoning_content kept out of text, a whole tool call in one fragment (AI SDK xai-tool-call)', async () => {
    expect(await partsOf('openai-xai-tool-call')).toEqual([
      { type: 'tool_call', id: 'call_79382389', name: 'weather', input: { location: 'San Francisco' } },
      { type: 'usage', inputTokens: 307, outputTokens: 26 },
      { type: 'finish', reason: 'tool_use' },
    ]);
  });

  it('a first tool call at index 1 and a last line with one newline (AI SDK anthropic-fallback-tool-call)', async () => {
    expect(await partsOf('openai-compat-index-one')).toEqual([
      { type: 'text_delta', text: 'Reading' },
      { type: 'text_delta', text: ' it.' },
      { type: 'text_end' },
      { type: 'tool_call', id: 'toolu_sanitized', name: 'read_file', input: { path: 'a.txt' } },
      { type: 'finish', reason: 'tool_use' },
    ]);
  });

  it('Ollama: tool calls without index, then finish_reason "stop", means tool_use', async () => {
    expect(await partsOf('ollama-tool-calls-no-index')).toEqual([
      { type: 'tool_call', id: 'call_b1k2x9', name: 'read_file', input: { path: 'notes.txt' } },
      { type: 'tool_call', id: 'call_q8z3mm', name: 'list_files', input: {} },
      { type: 'finish', reason: 'tool_use' },
    ]);
  });

  it('Ollama: two calls with distinct ids at the same index stay two calls', async () => {
    expect(await partsOf('ollama-parallel-same-index')).toEqual([
      { type: 'text_delta', text: 'Checking both.' },
      { type: 'text_end' },
      { type: 'tool_call', id: 'call_4rt1', name: 'read_file', input: { path: 'a.txt' } },
      { type: 'tool_call', id: 'call_9px2', name: 'read_file', input: { path: 'b.txt' } },
      { type: 'usage', inputTokens: 187, outputTokens: 41 },
      { type: 'finish', reason: 'tool_use' },
    ]);
  });

  it('vLLM: the id repeated on every fragment, arguments cut mid-token, choices: null usage', async () => {
    expect(await partsOf('vllm-repeated-id-null-choices')).toEqual([
      { type: 'text_delta', text: 'Let me ' },
      { type: 'text_delta', text: 'look.' },
      { type: 'text_end' },
      { type: 'tool_call', id: 'chatcmpl-tool-040af537f3e14bd6986646facde02ce3', name: 'read_file', input: { path: 'report.md' } },
      { type: 'usage', inputTokens: 230, outputTokens: 32 },
      { type: 'finish', reason: 'tool_use' },
    ]);
  });

  it.each([
    'openai-text',
    'openai-parallel-tool-calls',
    'openai-xai-tool-call',
    'openai-compat-index-one',
    'ollama-tool-calls-no-index',
    'ollama-parallel-same-index',
    'vllm-repeated-id-null-choices',
  ] as const)('%s gives the same parts cut into 1-byte, 7-byte and random writes', async (name) => {
    const whole = await partsOf(name);
    for (const cut of [(t: string) => splitBytes(t, 1), (t: string) => splitBytes(t, 7), (t: string) => splitBytes(t, { seed: 11 })]) {
      expect(await partsOf(name, cut)).toEqual(whole);
    }
  });
});

describe('OpenAI-compatible provider: the request', () => {
  it('POSTs {baseUrl}/chat/completions with the bearer key, streaming with usage', async () => {
    fake.openai.enqueue(openaiStream(openaiText(['ok'])));
    await collect(provider.stream(modelRequest({ model: 'llama3.2', maxTokens: 777, system: 'Be brief.' })));
    const request = await fake.nextRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.body).toEqual({
      model: 'llama3.2',
      max_tokens: 777,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'read_file',
            description: 'Reads a file of the workspace.',
            parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
          },
        },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('sends no authorization header without a key, and leaves out an empty system prompt and tool list', async () => {
    const local = createOpenAIProvider({ baseUrl: `${fake.openaiBaseUrl}/` });
    fake.openai.enqueue(openaiStream(openaiText(['ok'])));
    await collect(local.stream(modelRequest({ system: '', tools: [] })));
    const request = await fake.nextRequest();
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).not.toHaveProperty('tools');
    expect((request.body as { messages: unknown }).messages).toEqual([{ role: 'user', content: 'Hello' }]);
  });

  it('bounds the output with max_completion_tokens on api.openai.com, which refuses max_tokens for reasoning models', async () => {
    // The real fetch, with OpenAI's host pointed at the fake one.
    const openai = createOpenAIProvider({
      apiKey: API_KEY,
      fetch: (url, init) => fetch(String(url).replace('https://api.openai.com', fake.origin), init),
    });
    fake.openai.enqueue(openaiStream(openaiText(['ok'])));
    await collect(openai.stream(modelRequest({ maxTokens: 99 })));
    const { body, path } = await fake.nextRequest();
    expect(path).toBe('/v1/chat/completions');
    expect(body).toMatchObject({ max_completion_tokens: 99 });
    expect(body).not.toHaveProperty('max_tokens');
  });

  it('maps the conversation: tool_calls with JSON arguments, content null, role "tool" results, no reasoning', async () => {
    fake.openai.enqueue(openaiStream(openaiText(['ok'])));
    await collect(
      provider.stream(
        modelRequest({
          system: 'S',
          messages: [
            { role: 'user', text: 'Read a and b' },
            {
              role: 'assistant',
              content: [
                { type: 'reasoning', provider: 'anthropic', block: { type: 'thinking', thinking: 't', signature: 's' } },
                { type: 'tool_call', id: 'call_1', name: 'read_file', input: { path: 'a' } },
                // Arguments that never parsed go back exactly as the model sent them.
                { type: 'tool_call', id: 'call_2', name: 'read_file', input: '{"path": "b' },
              ],
            },
            {
              role: 'tool_results',
              results: [
                { toolUseId: 'call_1', toolName: 'read_file', content: 'A', isError: false },
                { toolUseId: 'call_2', toolName: 'read_file', content: 'invalid JSON arguments', isError: true },
              ],
            },
            {
              role: 'assistant',
              content: [
                { type: 'text', text: 'One more.' },
                { type: 'tool_call', id: 'call_3', name: 'list_files', input: {} },
              ],
            },
            { role: 'tool_results', results: [{ toolUseId: 'call_3', toolName: 'list_files', content: 'a\nb', isError: false }] },
            { role: 'assistant', content: [{ type: 'text', text: 'Done.' }] },
            { role: 'user', text: 'Thanks' },
          ],
        }),
      ),
    );
    const { body } = await fake.nextRequest();
    expect((body as { messages: unknown }).messages).toEqual([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'Read a and b' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } },
          { id: 'call_2', type: 'function', function: { name: 'read_file', arguments: '{"path": "b' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'A' },
      { role: 'tool', tool_call_id: 'call_2', content: 'invalid JSON arguments' },
      {
        role: 'assistant',
        content: 'One more.',
        tool_calls: [{ id: 'call_3', type: 'function', function: { name: 'list_files', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_3', content: 'a\nb' },
      { role: 'assistant', content: 'Done.' },
      { role: 'user', content: 'Thanks' },
    ]);
  });
});

describe('OpenAI-compatible provider: chunks', () => {
  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['content_filter', 'other'],
    ['tool_calls', 'end_turn'],
    ['something_new', 'end_turn'],
  ])('maps finish_reason %s without tool calls to %s', async (finish, reason) => {
    const { parts } = await run([chunk({ content: 'x' }), chunk({}, finish)]);
    expect(parts.slice(-2)).toEqual([{ type: 'text_end' }, { type: 'finish', reason }]);
  });

  it('ends the text block before the tool calls, and emits each call only with its arguments complete', async () => {
    const { parts } = await run([
      chunk({ role: 'assistant', content: 'Let me ' }),
      chunk({ content: 'see.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'read_file', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"path"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ': "x"}' } }] }),
      chunk({}, 'tool_calls'),
      usageChunk(5, 6),
    ]);
    expect(parts).toEqual([
      { type: 'text_delta', text: 'Let me ' },
      { type: 'text_delta', text: 'see.' },
      { type: 'text_end' },
      { type: 'tool_call', id: 'call_a', name: 'read_file', input: { path: 'x' } },
      { type: 'usage', inputTokens: 5, outputTokens: 6 },
      { type: 'finish', reason: 'tool_use' },
    ]);
  });

  it('arguments that do not parse come as raw text; empty arguments as {}; a call without id gets one', async () => {
    const { parts } = await run([
      chunk({ tool_calls: [{ index: 0, type: 'function', function: { name: 'read_file', arguments: '{"path": ' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'list_files', arguments: '' } }] }),
      chunk({}, 'length'),
    ]);
    const calls = parts.filter((p) => p.type === 'tool_call');
    expect(calls).toEqual([
      { type: 'tool_call', id: expect.stringMatching(/^call_./), name: 'read_file', input: '{"path": ' },
      { type: 'tool_call', id: 'call_b', name: 'list_files', input: {} },
    ]);
    expect(parts.at(-1)).toEqual({ type: 'finish', reason: 'max_tokens' });
  });

  it('keeps reasoning and reasoning_content out of the text, and takes a refusal as text', async () => {
    const { parts } = await run([
      chunk({ role: 'assistant', reasoning_content: 'hmm ' }),
      chunk({ reasoning: 'thinking...' }),
      chunk({ content: 'Answer' }),
      chunk({ refusal: ' (partly refused)' }),
      chunk({}, 'stop'),
    ]);
    expect(textOf(parts)).toBe('Answer (partly refused)');
  });

  it('takes Ollama\'s finish_reason "" as no finish yet', async () => {
    const { parts } = await run([chunk({ content: 'a' }, ''), chunk({ content: 'b' }, ''), chunk({}, 'stop')]);
    expect(textOf(parts)).toBe('ab');
    expect(parts.at(-1)).toEqual({ type: 'finish', reason: 'end_turn' });
  });

  it('takes usage from a chunk with choices: null', async () => {
    const { parts } = await run([chunk({ content: 'a' }), chunk({}, 'stop'), usageChunk(3, 4, null)]);
    expect(parts.slice(-2)).toEqual([
      { type: 'usage', inputTokens: 3, outputTokens: 4 },
      { type: 'finish', reason: 'end_turn' },
    ]);
  });

  it('tolerates data: [DONE] missing at the end of a clean stream once a finish_reason came', async () => {
    const { parts, error } = await run([chunk({ content: 'a' }), chunk({}, 'stop'), usageChunk(1, 1)], { done: false });
    expect(error).toBeUndefined();
    expect(parts.at(-1)).toEqual({ type: 'finish', reason: 'end_turn' });
  });

  it('a stream that ends without a finish_reason or [DONE] is an error, streamed', async () => {
    const { parts, error } = await run([chunk({ content: 'a' })], { done: false });
    expect(parts).toEqual([{ type: 'text_delta', text: 'a' }]);
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'error', details: { streamed: true } });
    expect((error as Error).message).toMatch(/before a finish_reason/);
  });

  it('an error object in a data line mid-stream is a ProviderError, streamed', async () => {
    const { parts, error } = await run([chunk({ content: 'a' }), openaiErrorBody('The server had an error', 'server_error')], { done: false });
    expect(parts).toEqual([{ type: 'text_delta', text: 'a' }]);
    expect(error).toBeInstanceOf(ProviderError);
    // The contract: an error in a stream is PROVIDER_ERROR, whatever its type.
    expect(error).toMatchObject({ kind: 'error', details: { streamed: true } });
    expect((error as Error).message).toContain('server_error: The server had an error');
  });

  it('an error before any part is not streamed; an `event: error` frame counts too', async () => {
    fake.openai.enqueue({
      type: 'stream',
      steps: [`event: error\ndata: ${JSON.stringify({ message: 'model overloaded', type: 'invalid_request_error' })}\n\n`],
    });
    const { parts, error } = await drain(provider.stream(modelRequest()));
    expect(parts).toEqual([]);
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'error', details: { streamed: false } });
    expect((error as Error).message).toContain('model overloaded');
  });

  it('malformed JSON mid-stream is an error', async () => {
    fake.openai.enqueue({ type: 'stream', steps: [openaiFrame(chunk({ content: 'a' })), 'data: {"id":"x","choi\n\n'] });
    const { error } = await drain(provider.stream(modelRequest()));
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'error', details: { streamed: true } });
  });
});
