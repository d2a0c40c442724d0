/**
 * Claude over the Anthropic Messages API, streaming: the conversation into one
 * `POST /v1/messages`, its event stream into `ModelPart`s. Nothing else (retries, tools,
 * limits) happens here; see types.ts.
 */
import { systemClock, type Clock } from '../../clock.js';
import { DEFAULT_IDLE_TIMEOUT_MS, isObject, streamParts, WireFault, type WireTranslator } from './http.js';
import type { SseEvent } from './sse.js';
import { fetchTransport, nodeTransport } from './transport.js';
import type { FinishReason, ModelMessage, ModelPart, ModelProvider, ModelRequest } from './types.js';

export interface AnthropicProviderOptions {
  /** Sent as `x-api-key`; cut out of every error message. */
  apiKey: string;
  /**
   * Where the API is: a proxy or gateway that speaks the same protocol, or a test server.
   * @default 'https://api.anthropic.com'
   */
  baseUrl?: string;
  /**
   * An HTTP client to send through instead of node:http / node:https (a proxying client, a
   * test's rewrite of the host). Redirects are never followed, whichever client sends.
   * @default undefined: node:http / node:https directly (see providers/transport.ts)
   */
  fetch?: typeof globalThis.fetch;
  /**
   * Longest silence (waiting for the response, or between two pieces of it) before the
   * request fails as unavailable: a server that stops sending mid-stream must not hold the
   * turn until someone cancels it. Retried like any unavailability while nothing streamed.
   * @default 300000 (5 min: a long thinking block still sends pings)
   */
  idleTimeoutMs?: number;
  /**
   * Times `idleTimeoutMs`; tests pass a manual clock.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * The `anthropic-version` header: the wire format this module speaks.
   * @default '2023-06-01'
   */
  anthropicVersion?: string;
}

export function createAnthropicProvider(options: AnthropicProviderOptions): ModelProvider {
  const { apiKey, anthropicVersion = '2023-06-01' } = options;
  const url = `${(options.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '')}/v1/messages`;
  const transport = options.fetch ? fetchTransport(options.fetch) : nodeTransport;
  const { idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS, clock = systemClock } = options;
  if (!(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be > 0');
  return {
    name: 'anthropic',
    stream(request: ModelRequest) {
      return streamParts(
        {
          transport,
          url,
          headers: { 'x-api-key': apiKey, 'anthropic-version': anthropicVersion, 'content-type': 'application/json' },
          body: anthropicRequestBody(request),
          signal: request.signal,
          label: 'Anthropic API',
          secrets: [apiKey],
          idleTimeoutMs,
          clock,
        },
        new AnthropicTranslator(),
      );
    },
  };
}

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** The JSON body of one streaming Messages request. */
export function anthropicRequestBody(request: Omit<ModelRequest, 'signal'>) {
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    // An empty system prompt is left out rather than sent as an empty block.
    ...(request.system ? { system: request.system } : {}),
    ...(request.tools.length > 0
      ? { tools: request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema })) }
      : {}),
    messages: anthropicMessages(request.messages),
    stream: true,
  };
}

/**
 * The conversation in the Messages API's form. Roles must alternate, so consecutive
 * messages of one role (tool results followed by the next user message) become one
 * message; empty text blocks, which the API refuses, are left out.
 */
export function anthropicMessages(messages: readonly ModelMessage[]): AnthropicMessage[] {
  const out: AnthropicMessage[] = [];
  const add = (role: AnthropicMessage['role'], content: Block[]) => {
    if (content.length === 0) return;
    const last = out[out.length - 1];
    if (last?.role === role) last.content.push(...content);
    else out.push({ role, content });
  };
  for (const message of messages) {
    if (message.role === 'user') add('user', message.text ? [{ type: 'text', text: message.text }] : []);
    else if (message.role === 'tool_results') {
      add(
        'user',
        message.results.map((r) => ({ type: 'tool_result', tool_use_id: r.toolUseId, content: r.content, is_error: r.isError })),
      );
    } else {
      const content: Block[] = [];
      for (const part of message.content) {
        if (part.type === 'text') {
          if (part.text) content.push({ type: 'text', text: part.text });
        } else if (part.type === 'tool_call') {
          // The API wants an object; arguments that never parsed (kept as raw text) go back as {}.
          content.push({ type: 'tool_use', id: part.id, name: part.name, input: isObject(part.input) ? part.input : {} });
        } else if (part.provider === 'anthropic' && isObject(part.block)) {
          // Thinking blocks go back untouched: the API checks their signatures.
          content.push(part.block);
        }
      }
      add('assistant', content);
    }
  }
  return out;
}

type OpenBlock =
  | { type: 'text'; streamed: boolean }
  | { type: 'tool_use'; id: string; name: string; json: string; input: unknown }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; block: Block }
  | { type: 'other' };

const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: 'end_turn',
  stop_sequence: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  model_context_window_exceeded: 'max_tokens',
  // pause_turn (a server tool paused the turn) and refusal end the response without an answer to act on.
};

const TEXT_DELTA_HEAD = '{"type":"content_block_delta","index":';
const TEXT_DELTA_MIDDLE = ',"delta":{"type":"text_delta","text":';
const NO_PARTS: ModelPart[] = [];

/** One response's event stream into parts; block state is keyed by content block index. */
export class AnthropicTranslator implements WireTranslator {
  finished = false;
  #blocks = new Map<number, OpenBlock>();
  #stopReason: string | undefined;
  #tokens = { input: 0, cacheCreation: 0, cacheRead: 0, output: 0 };

  event({ event, data }: SseEvent): ModelPart[] {
    const quick = this.#quickTextDelta(data);
    if (quick !== undefined) return quick;
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      throw new WireFault(`malformed JSON in the ${event ?? 'unnamed'} event`);
    }
    if (!isObject(payload)) throw new WireFault(`malformed ${event ?? 'unnamed'} event`);
    const type = typeof payload.type === 'string' ? payload.type : event;
    switch (type) {
      case 'message_start':
        this.#usage(isObject(payload.message) ? payload.message.usage : undefined);
        return [];
      case 'content_block_start':
        return this.#start(payload);
      case 'content_block_delta':
        return this.#delta(payload);
      case 'content_block_stop':
        return this.#stop(payload);
      case 'message_delta':
        if (isObject(payload.delta) && typeof payload.delta.stop_reason === 'string') this.#stopReason = payload.delta.stop_reason;
        this.#usage(payload.usage);
        return [];
      case 'message_stop': {
        this.finished = true;
        const t = this.#tokens;
        return [
          { type: 'usage', inputTokens: t.input + t.cacheCreation + t.cacheRead, outputTokens: t.output },
          { type: 'finish', reason: STOP_REASONS[this.#stopReason ?? ''] ?? 'other' },
        ];
      }
      case 'error': {
        const error = isObject(payload.error) ? payload.error : {};
        const errorType = typeof error.type === 'string' ? error.type : 'error';
        const message = typeof error.message === 'string' ? error.message : 'no message';
        // Whatever its type (overloaded_error included), an error event after HTTP 200 is the
        // contract's PROVIDER_ERROR, never retried: the response has begun, and its type
        // stays in the message for the user.
        throw new WireFault(`error event: ${errorType}: ${message}`);
      }
      default:
        // ping, and event types added after this was written.
        return [];
    }
  }

  end(): ModelPart[] {
    throw new WireFault('the stream ended before message_stop');
  }

  /**
   * The hot path, one event per token: a text delta written as the API writes every one
   * (`{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}`),
   * read without building its three objects: the index's digits, then the text's JSON string
   * parsed alone. The parts are the general path's. Anything else, or the same written any
   * other way (spaces, another key order, another key), is undefined: the general path reads it.
   */
  #quickTextDelta(data: string): ModelPart[] | undefined {
    if (!data.startsWith(TEXT_DELTA_HEAD) || !data.endsWith('}}')) return undefined;
    let i = TEXT_DELTA_HEAD.length;
    const digits = i;
    let index = 0;
    for (let c = data.charCodeAt(i); c >= 48 && c <= 57 && i - digits < 9; c = data.charCodeAt(++i)) index = index * 10 + (c - 48);
    // No digits, a leading zero (not JSON), or too many: the general path decides.
    if (i === digits || (i - digits > 1 && data.charCodeAt(digits) === 48) || !data.startsWith(TEXT_DELTA_MIDDLE, i)) return undefined;
    let text: unknown;
    try {
      text = JSON.parse(data.slice(i + TEXT_DELTA_MIDDLE.length, -2));
    } catch {
      return undefined;
    }
    const block = this.#blocks.get(index);
    // Not one JSON string (more keys followed it), or a block that never started: the general path.
    if (typeof text !== 'string' || !block) return undefined;
    if (block.type !== 'text' || !text) return NO_PARTS;
    block.streamed = true;
    return [{ type: 'text_delta', text }];
  }

  #usage(usage: unknown) {
    if (!isObject(usage)) return;
    const t = this.#tokens;
    // message_delta repeats input counts on newer API versions; output_tokens is cumulative.
    if (typeof usage.input_tokens === 'number') t.input = usage.input_tokens;
    if (typeof usage.cache_creation_input_tokens === 'number') t.cacheCreation = usage.cache_creation_input_tokens;
    if (typeof usage.cache_read_input_tokens === 'number') t.cacheRead = usage.cache_read_input_tokens;
    if (typeof usage.output_tokens === 'number') t.output = usage.output_tokens;
  }

  #start(payload: Record<string, unknown>): ModelPart[] {
    const index = blockIndex(payload);
    const block = isObject(payload.content_block) ? payload.content_block : {};
    switch (block.type) {
      case 'text': {
        const text = typeof block.text === 'string' ? block.text : '';
        this.#blocks.set(index, { type: 'text', streamed: text !== '' });
        return text ? [{ type: 'text_delta', text }] : [];
      }
      case 'tool_use':
        this.#blocks.set(index, {
          type: 'tool_use',
          id: String(block.id ?? ''),
          name: String(block.name ?? ''),
          json: '',
          input: block.input,
        });
        return [];
      case 'thinking':
        this.#blocks.set(index, {
          type: 'thinking',
          thinking: typeof block.thinking === 'string' ? block.thinking : '',
          signature: typeof block.signature === 'string' ? block.signature : '',
        });
        return [];
      case 'redacted_thinking':
        this.#blocks.set(index, { type: 'redacted_thinking', block });
        return [];
      default:
        // Server tool blocks and future types: not ours to act on.
        this.#blocks.set(index, { type: 'other' });
        return [];
    }
  }

  #delta(payload: Record<string, unknown>): ModelPart[] {
    const index = blockIndex(payload);
    const block = this.#blocks.get(index);
    if (!block) throw new WireFault(`content_block_delta for block ${index}, which never started`);
    const delta = isObject(payload.delta) ? payload.delta : {};
    const piece = (key: string) => (typeof delta[key] === 'string' ? (delta[key] as string) : '');
    switch (delta.type) {
      case 'text_delta':
        if (block.type !== 'text' || !piece('text')) return [];
        block.streamed = true;
        return [{ type: 'text_delta', text: piece('text') }];
      case 'input_json_delta':
        if (block.type === 'tool_use') block.json += piece('partial_json');
        return [];
      case 'thinking_delta':
        if (block.type === 'thinking') block.thinking += piece('thinking');
        return [];
      case 'signature_delta':
        if (block.type === 'thinking') block.signature += piece('signature');
        return [];
      default:
        return [];
    }
  }

  #stop(payload: Record<string, unknown>): ModelPart[] {
    const index = blockIndex(payload);
    const block = this.#blocks.get(index);
    this.#blocks.delete(index);
    switch (block?.type) {
      case 'text':
        return block.streamed ? [{ type: 'text_end' }] : [];
      case 'tool_use':
        return [{ type: 'tool_call', id: block.id, name: block.name, input: toolInput(block.json, block.input) }];
      case 'thinking':
        return [
          { type: 'reasoning', provider: 'anthropic', block: { type: 'thinking', thinking: block.thinking, signature: block.signature } },
        ];
      case 'redacted_thinking':
        return [{ type: 'reasoning', provider: 'anthropic', block: block.block }];
      default:
        return [];
    }
  }
}

function blockIndex(payload: Record<string, unknown>): number {
  if (typeof payload.index !== 'number') throw new WireFault(`${String(payload.type)} without a block index`);
  return payload.index;
}

/**
 * A tool_use block's input: its streamed JSON parsed, or the raw text when that does not
 * parse. No deltas (or only empty ones) mean no arguments: the input the block started with,
 * or `{}`.
 */
function toolInput(json: string, started: unknown): unknown {
  if (json.trim() === '') return isObject(started) ? started : {};
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}
