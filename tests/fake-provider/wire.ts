/**
 * Builders for what the fake provider sends, in each API's exact framing and field names
 * (checked against the recorded transcripts in fixtures/): Anthropic names every event
 * (`event: <type>\ndata: <json>\n\n`), OpenAI-compatible servers send `data: <json>\n\n`
 * and end with `data: [DONE]\n\n`.
 */
import type { Script, Step } from './server.js';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------- Anthropic Messages

/**
 * One Anthropic SSE frame; the event name is the payload's `type`. A bare ping goes out as
 * the API writes it, with a space after the colon.
 */
export const anthropicFrame = (event: Json) =>
  `event: ${String(event.type)}\ndata: ${isBarePing(event) ? '{"type": "ping"}' : JSON.stringify(event)}\n\n`;
const isBarePing = (event: Json) => event.type === 'ping' && Object.keys(event).length === 1;

/** A 200 event stream of these events, one write each; gates and pauses pass through. */
export function anthropicStream(events: Array<Json | Step>, options: { end?: 'close' | 'reset' | 'hang' } = {}): Script {
  return { type: 'stream', steps: events.map((e) => (isEvent(e) ? anthropicFrame(e) : e)), end: options.end };
}

export function messageStart(usage: Json = { input_tokens: 10, output_tokens: 1 }, id = 'msg_fake01'): Json {
  return {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model: 'claude-fake-1',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  };
}
export const blockStart = (index: number, block: Json): Json => ({ type: 'content_block_start', index, content_block: block });
export const textStart = (index: number) => blockStart(index, { type: 'text', text: '' });
export const textDelta = (index: number, text: string): Json => ({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
export const toolUseStart = (index: number, id: string, name: string) => blockStart(index, { type: 'tool_use', id, name, input: {} });
export const inputJsonDelta = (index: number, partial_json: string): Json => ({
  type: 'content_block_delta',
  index,
  delta: { type: 'input_json_delta', partial_json },
});
export const blockStop = (index: number): Json => ({ type: 'content_block_stop', index });
export const messageDelta = (stop_reason: string, output_tokens: number, extraUsage: Json = {}): Json => ({
  type: 'message_delta',
  delta: { stop_reason, stop_sequence: null },
  usage: { output_tokens, ...extraUsage },
});
export const messageStop = (): Json => ({ type: 'message_stop' });
export const ping = (): Json => ({ type: 'ping' });

/** A whole plain answer: the text in the given pieces, then end_turn. */
export function anthropicText(pieces: string[], usage = { input: 10, output: 5 }): Json[] {
  return [
    messageStart({ input_tokens: usage.input, output_tokens: 1 }),
    textStart(0),
    ...pieces.map((p) => textDelta(0, p)),
    blockStop(0),
    messageDelta('end_turn', usage.output),
    messageStop(),
  ];
}

/** `{type: 'error', error: {type, message}}`, the body of every Anthropic error (HTTP or event). */
export const anthropicErrorBody = (type: string, message: string): Json => ({
  type: 'error',
  error: { type, message },
  request_id: 'req_fakeerror',
});

export function anthropicError(status: number, type: string, message: string, headers?: Record<string, string>): Script {
  return { type: 'error', status, body: anthropicErrorBody(type, message), headers };
}

// ---------------------------------------------------------------- OpenAI Chat Completions

/** One OpenAI-compatible SSE frame. */
export const openaiFrame = (chunk: Json | '[DONE]') => `data: ${chunk === '[DONE]' ? chunk : JSON.stringify(chunk)}\n\n`;

/** A 200 event stream of these chunks, one write each, then `data: [DONE]` unless `done: false`. */
export function openaiStream(chunks: Array<Json | Step>, options: { done?: boolean; end?: 'close' | 'reset' | 'hang' } = {}): Script {
  const steps = chunks.map((c) => (isEvent(c) ? openaiFrame(c) : c));
  if (options.done !== false) steps.push(openaiFrame('[DONE]'));
  return { type: 'stream', steps, end: options.end };
}

/** A `chat.completion.chunk` with one choice. */
export function chunk(delta: Json, finish_reason: string | null = null, extra: Json = {}): Json {
  return {
    id: 'chatcmpl-fake01',
    object: 'chat.completion.chunk',
    created: 1_770_000_000,
    model: 'fake-model',
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, delta, logprobs: null, finish_reason }],
    ...extra,
  };
}

/** The `stream_options.include_usage` chunk: no choices (OpenAI `[]`, vLLM `null`). */
export function usageChunk(prompt_tokens: number, completion_tokens: number, choices: [] | null = []): Json {
  return {
    id: 'chatcmpl-fake01',
    object: 'chat.completion.chunk',
    created: 1_770_000_000,
    model: 'fake-model',
    choices,
    usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
  };
}

/** A whole plain answer: the text in the given pieces, stop, usage. */
export function openaiText(pieces: string[], usage = { input: 10, output: 5 }): Json[] {
  return [
    chunk({ role: 'assistant', content: '' }),
    ...pieces.map((p) => chunk({ content: p })),
    chunk({}, 'stop'),
    usageChunk(usage.input, usage.output),
  ];
}

/** `{error: {message, type, param, code}}`, the body of every OpenAI error. */
export const openaiErrorBody = (message: string, type: string, code: string | null = null): Json => ({
  error: { message, type, param: null, code },
});

export function openaiError(status: number, message: string, type: string, code: string | null = null, headers?: Record<string, string>): Script {
  return { type: 'error', status, body: openaiErrorBody(message, type, code), headers };
}

// ---------------------------------------------------------------- splitting

/**
 * The same bytes cut into pieces of `size` bytes, or of random sizes (1..16) from `seed`:
 * a client must read the same events whatever the cut, even inside a UTF-8 character.
 */
export function splitBytes(text: string, size: number | { seed: number }): Uint8Array[] {
  const bytes = Buffer.from(text, 'utf8');
  const pieces: Uint8Array[] = [];
  let random = typeof size === 'number' ? 0 : size.seed;
  const next = () => {
    if (typeof size === 'number') return size;
    random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (random % 16);
  };
  for (let i = 0; i < bytes.length; ) {
    const n = next();
    pieces.push(new Uint8Array(bytes.subarray(i, i + n)));
    i += n;
  }
  return pieces;
}

function isEvent(value: Json | Step): value is Json {
  return (
    typeof value === 'object' &&
    !(value instanceof Uint8Array) &&
    !('delayMs' in value) &&
    !('atMs' in value) &&
    (value as { kind?: unknown }).kind !== 'gate'
  );
}
