/**
 * What real providers send, through a real server: each recorded transcript of
 * tests/fake-provider/fixtures replayed byte for byte (some cut at odd offsets), each quirk
 * the contract tolerates, and what the next request sends back. A graphql-ws client sees
 * the session events.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../fake-provider/fixtures/index.js';
import type { Script } from '../fake-provider/server.js';
import {
  anthropicStream,
  blockStart,
  blockStop,
  chunk,
  messageDelta,
  messageStart,
  messageStop,
  openaiStream,
  openaiText,
  ping,
  splitBytes,
  textDelta,
  textStart,
  toolUseStart,
  usageChunk,
} from '../fake-provider/wire.js';
import { deltaText, type Event } from '../utils/clients.js';
import { ofType } from '../utils/events-of.js';
import { conversationSent, openSession, startAgentServer, type ProviderName, type SessionDriver } from '../utils/agent-server.js';

/** Runs one turn in an ALLOW_ALL session: these scripts in order, then a closing answer. */
async function turn(provider: ProviderName, scripts: Script[], files: Record<string, string> = {}) {
  const { server, fake, wire } = await startAgentServer({ provider });
  const s: SessionDriver = await openSession(server, { permissionMode: 'ALLOW_ALL' });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(s.workspaceFile(path)), { recursive: true });
    await writeFile(s.workspaceFile(path), text);
  }
  fake[wire.endpoint].enqueue(...scripts, wire.text(['All done.']));
  await s.send('go');
  const events = await s.events.untilComplete();
  return { events, requests: fake.requests, s };
}

const starts = (events: readonly Event[]) => ofType(events, 'ToolStartEvent').map((e) => ({ id: e.toolUseId, name: e.toolName, input: e.toolInput }));
const results = (events: readonly Event[]) => ofType(events, 'ToolResultEvent').map((e) => [e.toolUseId, e.result, e.isError]);

describe('Anthropic quirks through the server', () => {
  it('a ping inside a text block, the stream cut into random pieces: the text once, the usage', async () => {
    const { events, requests } = await turn('anthropic', [replay('anthropic-text', (t) => splitBytes(t, { seed: 5 }))]);
    expect(deltaText(events)).toBe('Hello there!');
    expect(ofType(events, 'TextCompleteEvent')).toMatchObject([{ text: 'Hello there!', isIntermediate: false }]);
    expect(events.at(-1)).toMatchObject({ reason: 'END_TURN', usage: { inputTokens: 11, outputTokens: 6 } });
    expect(requests).toHaveLength(1);
  });

  it('tool input over five input_json_deltas; an unknown tool is answered to the model as an error and the turn goes on', async () => {
    const { events, requests } = await turn('anthropic', [replay('anthropic-tool-use')]);
    expect(ofType(events, 'TextCompleteEvent').map((e) => [e.text, e.isIntermediate])).toEqual([
      ["I'll check the current weather in Paris for you.", true],
      ['All done.', false],
    ]);
    expect(starts(events)).toEqual([{ id: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', name: 'get_weather', input: { location: 'Paris' } }]);
    const [[, result, isError]] = results(events) as [[string, string, boolean]];
    expect(isError).toBe(true);
    expect(result).toMatch(/^Unknown tool "get_weather"\. The tools are: list_files, read_file, write_file\.$/);
    expect(events.at(-1)).toMatchObject({ reason: 'END_TURN' });
    expect(conversationSent(requests[1]!).at(-1)).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', content: result, is_error: true }],
    });
  });

  it('a tool call without arguments is input {} on the event and in the next request', async () => {
    const { events, requests } = await turn('anthropic', [replay('anthropic-tool-no-args')]);
    expect(starts(events)).toEqual([{ id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', name: 'updateIssueList', input: {} }]);
    const assistant = conversationSent(requests[1]!).at(-2) as { content: Array<Record<string, unknown>> };
    expect(assistant.content.at(-1)).toEqual({ type: 'tool_use', id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', name: 'updateIssueList', input: {} });
  });

  it('thinking is never streamed as text, and goes back untouched within the turn', async () => {
    const thinking = { type: 'thinking', thinking: 'The user wants a listing.', signature: 'c2lnbmF0dXJl' };
    const { events, requests } = await turn('anthropic', [
      anthropicStream([
        messageStart(),
        blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
        { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'The user wants ' } },
        ping(),
        { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'a listing.' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'c2lnbmF0dXJl' } },
        blockStop(0),
        toolUseStart(1, 'toolu_ls', 'list_files'),
        blockStop(1),
        messageDelta('tool_use', 20),
        messageStop(),
      ]),
    ]);
    expect(deltaText(events)).toBe('All done.');
    expect(starts(events)).toEqual([{ id: 'toolu_ls', name: 'list_files', input: {} }]);
    expect(conversationSent(requests[1]!)[1]).toEqual({
      role: 'assistant',
      content: [thinking, { type: 'tool_use', id: 'toolu_ls', name: 'list_files', input: {} }],
    });
  });

  it('a recorded thinking block and refusal: only the text is streamed', async () => {
    const { events } = await turn('anthropic', [replay('anthropic-thinking-refusal')]);
    expect(deltaText(events)).toBe('Hi');
    expect(events.at(-1)).toMatchObject({ reason: 'END_TURN', usage: { inputTokens: 28, outputTokens: 106 } });
  });

  it('unknown event types and pings anywhere are ignored', async () => {
    const { events } = await turn('anthropic', [
      anthropicStream([
        ping(),
        messageStart(),
        { type: 'content_block_future_thing', index: 0, payload: { a: 1 } },
        textStart(0),
        ping(),
        textDelta(0, 'Still '),
        { type: 'brand_new_event' },
        textDelta(0, 'fine.'),
        blockStop(0),
        blockStart(1, { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }),
        blockStop(1),
        messageDelta('end_turn', 3),
        ping(),
        messageStop(),
      ]),
    ]);
    expect(deltaText(events)).toBe('Still fine.');
    expect(ofType(events, 'ToolStartEvent')).toEqual([]);
    expect(events.at(-1)).toMatchObject({ reason: 'END_TURN' });
  });
});

describe('OpenAI-compatible quirks through the server', () => {
  it('api.openai.com text, obfuscation fields and the choices: [] usage chunk', async () => {
    const { events } = await turn('openai', [replay('openai-text', (t) => splitBytes(t, 7))]);
    expect(deltaText(events)).toBe('**Holiday Name:** Harmony Day\n\n');
    expect(events.at(-1)).toMatchObject({ reason: 'END_TURN', usage: { inputTokens: 16, outputTokens: 300 } });
  });

  it('parallel calls keyed by index run in order; the results go back as tool messages', async () => {
    const { events, requests, s } = await turn('openai', [replay('openai-parallel-tool-calls')], { 'a.txt': 'A!' });
    expect(starts(events)).toEqual([
      { id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'read_file', input: { path: 'a.txt' } },
      { id: 'call_ABCDEFGHIJKLMNOPQRSTUVWX', name: 'write_file', input: { path: 'b.txt', text: 'héllo' } },
    ]);
    expect(results(events)).toEqual([
      ['call_DdmO9pD3xa9XTPNJ32zg2hcA', 'A!', false],
      ['call_ABCDEFGHIJKLMNOPQRSTUVWX', 'wrote 6 bytes to b.txt', false],
    ]);
    expect(await readFile(s.workspaceFile('b.txt'), 'utf8')).toBe('héllo');
    expect(conversationSent(requests[1]!).slice(-2)).toEqual([
      { role: 'tool', tool_call_id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', content: 'A!' },
      { role: 'tool', tool_call_id: 'call_ABCDEFGHIJKLMNOPQRSTUVWX', content: 'wrote 6 bytes to b.txt' },
    ]);
  });

  it('xAI: reasoning_content is not text; a whole call in one fragment', async () => {
    const { events, requests } = await turn('openai', [replay('openai-xai-tool-call')]);
    expect(deltaText(events)).toBe('All done.');
    expect(starts(events)).toEqual([{ id: 'call_79382389', name: 'weather', input: { location: 'San Francisco' } }]);
    expect(results(events)[0]![2]).toBe(true);
    expect(conversationSent(requests[1]!).at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_79382389' });
  });

  it('a first call at index 1, and [DONE] with a single newline', async () => {
    const { events } = await turn('openai', [replay('openai-compat-index-one')], { 'a.txt': 'alpha' });
    expect(ofType(events, 'TextCompleteEvent').map((e) => [e.text, e.isIntermediate])).toEqual([
      ['Reading it.', true],
      ['All done.', false],
    ]);
    expect(results(events)).toEqual([['toolu_sanitized', 'alpha', false]]);
  });

  it('Ollama: calls without index and finish_reason "stop" after them still run the tools and go on', async () => {
    const { events, requests } = await turn('openai', [replay('ollama-tool-calls-no-index')], { 'notes.txt': 'n' });
    expect(starts(events).map((c) => [c.id, c.name])).toEqual([
      ['call_b1k2x9', 'read_file'],
      ['call_q8z3mm', 'list_files'],
    ]);
    expect(results(events)).toEqual([
      ['call_b1k2x9', 'n', false],
      ['call_q8z3mm', 'notes.txt', false],
    ]);
    expect(requests).toHaveLength(2);
  });

  it('Ollama: two ids at one index stay two calls', async () => {
    const { events } = await turn('openai', [replay('ollama-parallel-same-index')], { 'a.txt': '1', 'b.txt': '2' });
    expect(results(events)).toEqual([
      ['call_4rt1', '1', false],
      ['call_9px2', '2', false],
    ]);
  });

  it('vLLM: the id on every fragment, arguments cut mid-token, choices: null usage', async () => {
    const { events } = await turn('openai', [replay('vllm-repeated-id-null-choices', (t) => splitBytes(t, 3))], { 'report.md': '# R' });
    expect(starts(events)).toEqual([{ id: 'chatcmpl-tool-040af537f3e14bd6986646facde02ce3', name: 'read_file', input: { path: 'report.md' } }]);
    expect(results(events)).toEqual([['chatcmpl-tool-040af537f3e14bd6986646facde02ce3', '# R', false]]);
    expect(events.at(-1)).toMatchObject({ reason: 'END_TURN', usage: { inputTokens: 230 + 10, outputTokens: 32 + 5 } });
  });

  it('data: [DONE] missing at the end of a clean stream', async () => {
    const { events } = await turn('openai', [openaiStream(openaiText(['No done line.']), { done: false })]);
    expect(ofType(events, 'TextCompleteEvent').map((e) => e.text)).toEqual(['No done line.']);
    expect(events.at(-1)).toMatchObject({ reason: 'END_TURN' });
  });

  it('arguments that are not JSON are answered to the model, which corrects itself', async () => {
    const { events, requests } = await turn('openai', [
      openaiStream([
        chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_bad', type: 'function', function: { name: 'read_file', arguments: '{"path": "a.txt"' } }] }),
        chunk({}, 'tool_calls'),
        usageChunk(5, 5),
      ]),
    ]);
    expect(starts(events)).toEqual([{ id: 'call_bad', name: 'read_file', input: '{"path": "a.txt"' }]);
    expect(results(events)[0]).toEqual(['call_bad', expect.stringMatching(/not valid JSON/), true]);
    // The raw arguments go back as they came.
    expect(conversationSent(requests[1]!).at(-2)).toMatchObject({
      tool_calls: [{ id: 'call_bad', function: { name: 'read_file', arguments: '{"path": "a.txt"' } }],
    });
  });
});
