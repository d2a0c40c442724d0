/**
 * The Anthropic Messages provider against the fake provider over real HTTP on loopback:
 * the request it sends, and the parts it makes of each kind of event stream.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../src/agents/providers/anthropic.js';
import { ProviderError, type ModelProvider } from '../../src/agents/providers/types.js';
import { collect, drain, modelRequest, textOf } from '../fake-provider/drive.js';
import { replay, type FixtureName } from '../fake-provider/fixtures/index.js';
import { startFakeProvider, type FakeProvider } from '../fake-provider/server.js';
import {
  anthropicErrorBody,
  anthropicStream,
  anthropicText,
  blockStart,
  blockStop,
  inputJsonDelta,
  messageDelta,
  messageStart,
  messageStop,
  ping,
  splitBytes,
  textDelta,
  textStart,
  toolUseStart,
} from '../fake-provider/wire.js';

const API_KEY = 'sk-ant-api03-test-key-0123456789';

let fake: FakeProvider;
let provider: ModelProvider;
beforeEach(async () => {
  fake = await startFakeProvider();
  provider = createAnthropicProvider({ apiKey: API_KEY, baseUrl: fake.anthropicBaseUrl });
});
afterEach(() => fake.close());

async function partsOf(name: FixtureName, pieces?: (text: string) => Array<string | Uint8Array>) {
  fake.anthropic.enqueue(replay(name, pieces));
  return collect(provider.stream(modelRequest()));
}

describe('Anthropic provider: recorded streams', () => {
  it('text with a ping inside the block (anthropic-sdk-typescript basic_response)', async () => {
    expect(await partsOf('anthropic-text')).toEqual([
      { type: 'text_delta', text: 'Hello' },
      { type: 'text_delta', text: ' there' },
      { type: 'text_delta', text: '!' },
      { type: 'text_end' },
      { type: 'usage', inputTokens: 11, outputTokens: 6 },
      { type: 'finish', reason: 'end_turn' },
    ]);
  });

  it('a tool call whose input JSON arrives over five input_json_deltas (tool_use_response)', async () => {
    const parts = await partsOf('anthropic-tool-use');
    expect(textOf(parts)).toBe("I'll check the current weather in Paris for you.");
    expect(parts.slice(-4)).toEqual([
      { type: 'text_end' },
      { type: 'tool_call', id: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', name: 'get_weather', input: { location: 'Paris' } },
      { type: 'usage', inputTokens: 377, outputTokens: 65 },
      { type: 'finish', reason: 'tool_use' },
    ]);
  });

  it('a tool call without arguments gets {} (AI SDK anthropic-tool-no-args)', async () => {
    const parts = await partsOf('anthropic-tool-no-args');
    expect(parts.slice(-3)).toEqual([
      { type: 'tool_call', id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', name: 'updateIssueList', input: {} },
      { type: 'usage', inputTokens: 565, outputTokens: 48 },
      { type: 'finish', reason: 'tool_use' },
    ]);
  });

  it('a thinking block becomes one reasoning part with its whole text and signature, never text (stream-a-refusal)', async () => {
    const parts = await partsOf('anthropic-thinking-refusal');
    expect(parts[0]).toEqual({
      type: 'reasoning',
      provider: 'anthropic',
      block: {
        type: 'thinking',
        thinking:
          'Simple educational question about what a solar eclipse is. This is benign general knowledge — definitions are fine. Also the user called me "claudius" — I\'m Claude. Minor correction or just roll with it politely.',
        signature: 'c3ludGhldGljLXNpZ25hdHVyZS1maXh0dXJlLWEtbm90LWEtcmVhbC1zaWduYXR1cmU=',
      },
    });
    expect(textOf(parts)).toBe('Hi');
    expect(parts.slice(-3)).toEqual([
      { type: 'text_end' },
      { type: 'usage', inputTokens: 28, outputTokens: 106 },
      // refusal: the response ended without an answer to act on.
      { type: 'finish', reason: 'other' },
    ]);
  });

  it.each(['anthropic-text', 'anthropic-tool-use', 'anthropic-tool-no-args', 'anthropic-thinking-refusal'] as const)(
    '%s gives the same parts cut into 1-byte, 7-byte and random writes',
    async (name) => {
      const whole = await partsOf(name);
      for (const cut of [(t: string) => splitBytes(t, 1), (t: string) => splitBytes(t, 7), (t: string) => splitBytes(t, { seed: 3 })]) {
        expect(await partsOf(name, cut)).toEqual(whole);
      }
    },
  );
});

describe('Anthropic provider: the request', () => {
  it('POSTs /v1/messages with the key, version and JSON headers, streaming', async () => {
    fake.anthropic.enqueue(anthropicStream(anthropicText(['ok'])));
    await collect(provider.stream(modelRequest({ model: 'claude-test', maxTokens: 1234, system: 'Be brief.' })));
    const request = await fake.nextRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1/messages');
    expect(request.headers['x-api-key']).toBe(API_KEY);
    expect(request.headers['anthropic-version']).toBe('2023-06-01');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toEqual({
      model: 'claude-test',
      max_tokens: 1234,
      system: 'Be brief.',
      tools: [
        {
          name: 'read_file',
          description: 'Reads a file of the workspace.',
          input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
        },
      ],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
      stream: true,
    });
  });

  it('maps the conversation: tool_use with thinking sent back as it came, tool_result blocks, same roles merged', async () => {
    const thinking = { type: 'thinking', thinking: 'Look first.', signature: 'sig==' };
    const redacted = { type: 'redacted_thinking', data: 'opaque' };
    fake.anthropic.enqueue(anthropicStream(anthropicText(['ok'])));
    await collect(
      provider.stream(
        modelRequest({
          messages: [
            { role: 'user', text: 'Read a.txt and b.txt' },
            {
              role: 'assistant',
              content: [
                { type: 'reasoning', provider: 'anthropic', block: thinking },
                { type: 'reasoning', provider: 'anthropic', block: redacted },
                // Another provider's reasoning is never sent to this one.
                { type: 'reasoning', provider: 'openai', block: { reasoning: 'x' } },
                { type: 'text', text: 'Reading both.' },
                { type: 'tool_call', id: 'toolu_1', name: 'read_file', input: { path: 'a.txt' } },
                { type: 'tool_call', id: 'toolu_2', name: 'read_file', input: '{"path": "b.t' },
              ],
            },
            {
              role: 'tool_results',
              results: [
                { toolUseId: 'toolu_1', toolName: 'read_file', content: 'A', isError: false },
                { toolUseId: 'toolu_2', toolName: 'read_file', content: 'invalid JSON arguments', isError: true },
              ],
            },
            { role: 'assistant', content: [{ type: 'text', text: 'A, and b failed.' }] },
            { role: 'user', text: 'Thanks' },
            { role: 'user', text: 'And now?' },
          ],
        }),
      ),
    );
    const { body } = await fake.nextRequest();
    expect((body as { messages: unknown }).messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Read a.txt and b.txt' }] },
      {
        role: 'assistant',
        content: [
          thinking,
          redacted,
          { type: 'text', text: 'Reading both.' },
          { type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'a.txt' } },
          // Arguments that never parsed go back as an empty object, which the API accepts.
          { type: 'tool_use', id: 'toolu_2', name: 'read_file', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'A', is_error: false },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'invalid JSON arguments', is_error: true },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'A, and b failed.' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Thanks' },
          { type: 'text', text: 'And now?' },
        ],
      },
    ]);
  });

  it('tool results followed by the next user message make one user message, results first', async () => {
    fake.anthropic.enqueue(anthropicStream(anthropicText(['ok'])));
    await collect(
      provider.stream(
        modelRequest({
          messages: [
            { role: 'user', text: 'Go' },
            { role: 'assistant', content: [{ type: 'tool_call', id: 'toolu_1', name: 'read_file', input: { path: 'a' } }] },
            { role: 'tool_results', results: [{ toolUseId: 'toolu_1', toolName: 'read_file', content: 'A', isError: false }] },
            { role: 'user', text: 'Next turn' },
          ],
        }),
      ),
    );
    const { body } = await fake.nextRequest();
    expect((body as { messages: unknown[] }).messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: 'A', is_error: false },
        { type: 'text', text: 'Next turn' },
      ],
    });
  });

  it('leaves out an empty system prompt and an empty tool list', async () => {
    fake.anthropic.enqueue(anthropicStream(anthropicText(['ok'])));
    await collect(provider.stream(modelRequest({ system: '', tools: [] })));
    const { body } = await fake.nextRequest();
    expect(body).not.toHaveProperty('system');
    expect(body).not.toHaveProperty('tools');
  });

  it('honours baseUrl with a path and a trailing slash, and another anthropic-version', async () => {
    const proxied = createAnthropicProvider({ apiKey: API_KEY, baseUrl: `${fake.origin}/`, anthropicVersion: '2099-01-01' });
    fake.anthropic.enqueue(anthropicStream(anthropicText(['ok'])));
    await collect(proxied.stream(modelRequest()));
    const request = await fake.nextRequest();
    expect(request.path).toBe('/v1/messages');
    expect(request.headers['anthropic-version']).toBe('2099-01-01');
  });
});

describe('Anthropic provider: events', () => {
  async function run(events: Array<Record<string, unknown>>) {
    fake.anthropic.enqueue(anthropicStream(events));
    return drain(provider.stream(modelRequest()));
  }

  it('counts cached input in inputTokens, takes the last cumulative output_tokens', async () => {
    const { parts } = await run([
      messageStart({ input_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000, output_tokens: 1 }),
      textStart(0),
      textDelta(0, 'x'),
      blockStop(0),
      messageDelta('end_turn', 3),
      messageDelta('end_turn', 9),
      messageStop(),
    ]);
    expect(parts.filter((p) => p.type === 'usage')).toEqual([{ type: 'usage', inputTokens: 1105, outputTokens: 9 }]);
  });

  it('keeps tool input split anywhere, per block index, with two tool blocks interleaved', async () => {
    const { parts } = await run([
      messageStart(),
      toolUseStart(0, 'toolu_a', 'read_file'),
      toolUseStart(1, 'toolu_b', 'write_file'),
      inputJsonDelta(0, '{"pa'),
      inputJsonDelta(1, '{"path":"b","te'),
      inputJsonDelta(0, 'th": "é\\u00e9"'),
      inputJsonDelta(1, 'xt":"hi"}'),
      inputJsonDelta(0, '}'),
      blockStop(1),
      blockStop(0),
      messageDelta('tool_use', 20),
      messageStop(),
    ]);
    expect(parts.filter((p) => p.type === 'tool_call')).toEqual([
      { type: 'tool_call', id: 'toolu_b', name: 'write_file', input: { path: 'b', text: 'hi' } },
      { type: 'tool_call', id: 'toolu_a', name: 'read_file', input: { path: 'éé' } },
    ]);
  });

  it('gives the raw text of tool input that does not parse', async () => {
    const { parts } = await run([
      messageStart(),
      toolUseStart(0, 'toolu_a', 'read_file'),
      inputJsonDelta(0, '{"path": "a.txt"'),
      blockStop(0),
      messageDelta('max_tokens', 20),
      messageStop(),
    ]);
    expect(parts).toContainEqual({ type: 'tool_call', id: 'toolu_a', name: 'read_file', input: '{"path": "a.txt"' });
    expect(parts.at(-1)).toEqual({ type: 'finish', reason: 'max_tokens' });
  });

  it.each([
    ['end_turn', 'end_turn'],
    ['stop_sequence', 'end_turn'],
    ['tool_use', 'tool_use'],
    ['max_tokens', 'max_tokens'],
    ['pause_turn', 'other'],
    ['refusal', 'other'],
    ['something_new', 'other'],
  ])('maps stop_reason %s to %s', async (stopReason, reason) => {
    const { parts } = await run([messageStart(), textStart(0), textDelta(0, 'x'), blockStop(0), messageDelta(stopReason, 2), messageStop()]);
    expect(parts.at(-1)).toEqual({ type: 'finish', reason });
  });

  it('ignores ping, unknown event types, unknown block types and their deltas', async () => {
    const { parts, error } = await run([
      ping(),
      messageStart(),
      { type: 'brand_new_event', foo: 1 },
      blockStart(0, { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }),
      inputJsonDelta(0, '{"query":"x"}'),
      blockStop(0),
      textStart(1),
      { type: 'content_block_delta', index: 1, delta: { type: 'citations_delta', citation: {} } },
      textDelta(1, 'found'),
      ping(),
      blockStop(1),
      messageDelta('end_turn', 4),
      messageStop(),
    ]);
    expect(error).toBeUndefined();
    expect(parts).toEqual([
      { type: 'text_delta', text: 'found' },
      { type: 'text_end' },
      { type: 'usage', inputTokens: 10, outputTokens: 4 },
      { type: 'finish', reason: 'end_turn' },
    ]);
  });

  it('passes a redacted_thinking block on as it came', async () => {
    const block = { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP' };
    const { parts } = await run([messageStart(), blockStart(0, block), blockStop(0), messageDelta('end_turn', 1), messageStop()]);
    expect(parts[0]).toEqual({ type: 'reasoning', provider: 'anthropic', block });
  });

  it('stops reading at message_stop', async () => {
    fake.anthropic.enqueue(anthropicStream([...anthropicText(['a']), textDelta(0, 'after the end')], { end: 'hang' }));
    const parts = await collect(provider.stream(modelRequest()));
    expect(parts.at(-1)).toEqual({ type: 'finish', reason: 'end_turn' });
    expect(textOf(parts)).toBe('a');
    // The server never ended that response: the provider let go of the connection itself.
    expect(await (await fake.nextRequest()).closed).toBe(true);
  });
});

describe('Anthropic provider: errors in the stream', () => {
  it.each([
    // The contract: an error event in a stream is PROVIDER_ERROR, whatever its type.
    ['overloaded_error', 'error'],
    ['rate_limit_error', 'error'],
    ['authentication_error', 'error'],
    ['permission_error', 'error'],
    ['api_error', 'error'],
    ['invalid_request_error', 'error'],
  ])('an error event of type %s before any part is a ProviderError of kind %s, not streamed', async (type, kind) => {
    fake.anthropic.enqueue(anthropicStream([messageStart(), anthropicErrorBody(type, 'Overloaded')]));
    const { parts, error } = await drain(provider.stream(modelRequest()));
    expect(parts).toEqual([]);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind, details: { streamed: false } });
    expect((error as Error).message).toContain(`${type}: Overloaded`);
  });

  it('an error event after text is streamed: true', async () => {
    fake.anthropic.enqueue(
      anthropicStream([messageStart(), textStart(0), textDelta(0, 'Hel'), anthropicErrorBody('overloaded_error', 'Overloaded')]),
    );
    const { parts, error } = await drain(provider.stream(modelRequest()));
    expect(parts).toEqual([{ type: 'text_delta', text: 'Hel' }]);
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'error', details: { streamed: true } });
  });

  it('malformed JSON in the middle of a stream is an error, streamed', async () => {
    fake.anthropic.enqueue({
      type: 'stream',
      steps: [
        'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":1}}}\n\n',
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}\n\n',
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"te\n\n',
      ],
    });
    const { parts, error } = await drain(provider.stream(modelRequest()));
    expect(parts).toHaveLength(1);
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'error', details: { streamed: true } });
    expect((error as Error).message).toMatch(/malformed JSON/);
  });

  it('a stream that ends cleanly before message_stop is an error', async () => {
    fake.anthropic.enqueue(anthropicStream([messageStart(), textStart(0), textDelta(0, 'x'), blockStop(0)]));
    const { error } = await drain(provider.stream(modelRequest()));
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'error', details: { streamed: true } });
    expect((error as Error).message).toMatch(/before message_stop/);
  });

  it('a delta for a block that never started is an error', async () => {
    fake.anthropic.enqueue(anthropicStream([messageStart(), textDelta(3, 'x')]));
    const { error } = await drain(provider.stream(modelRequest()));
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'error', details: { streamed: false } });
  });
});

