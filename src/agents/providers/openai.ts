/**
 * Any server that speaks OpenAI Chat Completions, streaming (OpenAI, vLLM, Ollama,
 * llama.cpp's server, LM Studio, OpenRouter, LiteLLM): the conversation into one
 * `POST /chat/completions`, its chunks into `ModelPart`s, with the quirks real servers send.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../clock.js';
import { DEFAULT_IDLE_TIMEOUT_MS, isObject, streamParts, WireFault, type WireTranslator } from './http.js';
import type { SseEvent } from './sse.js';
import { fetchTransport, nodeTransport } from './transport.js';
import type { FinishReason, ModelMessage, ModelPart, ModelProvider, ModelRequest, ToolCallPart } from './types.js';

/** The request field that bounds the output. */
export type MaxTokensField = 'max_tokens' | 'max_completion_tokens';

export interface OpenAIProviderOptions {
  /** Sent as `authorization: Bearer …` when set (local servers want none); cut out of every error message. */
  apiKey?: string;
  /**
   * The server's API root, `/v1` included (`http://127.0.0.1:11434/v1` for Ollama).
   * @default 'https://api.openai.com/v1'
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
   * @default 300000 (5 min: a local server on a CPU may read a long prompt for minutes before its first chunk)
   */
  idleTimeoutMs?: number;
  /**
   * Times `idleTimeoutMs`; tests pass a manual clock.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Which field carries `maxTokens`. `max_tokens` is the one every compatible server honours
   * (vLLM, Ollama, llama.cpp, LM Studio, OpenRouter, LiteLLM); Ollama and older llama.cpp
   * builds silently ignore `max_completion_tokens`, so with it a turn's output would be
   * unbounded. OpenAI itself deprecated `max_tokens` and refuses it for its reasoning models
   * (o-series, gpt-5) while accepting `max_completion_tokens` for every chat model, so that
   * is what goes to OpenAI's own host.
   * @default 'max_completion_tokens' when `baseUrl` is on api.openai.com, else 'max_tokens'
   */
  maxTokensField?: MaxTokensField;
}

export function createOpenAIProvider(options: OpenAIProviderOptions = {}): ModelProvider {
  const { apiKey } = options;
  const baseUrl = (options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const url = `${baseUrl}/chat/completions`;
  const transport = options.fetch ? fetchTransport(options.fetch) : nodeTransport;
  const { idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS, clock = systemClock } = options;
  if (!(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be > 0');
  const maxTokensField = options.maxTokensField ?? defaultMaxTokensField(baseUrl);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  return {
    name: 'openai',
    stream(request: ModelRequest) {
      return streamParts(
        {
          transport,
          url,
          headers,
          body: openaiRequestBody(request, maxTokensField),
          signal: request.signal,
          label: 'OpenAI-compatible server',
          secrets: apiKey ? [apiKey] : [],
          idleTimeoutMs,
          clock,
        },
        new OpenAITranslator(),
      );
    },
  };
}

function defaultMaxTokensField(baseUrl: string): MaxTokensField {
  try {
    return new URL(baseUrl).hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens';
  } catch {
    return 'max_tokens';
  }
}

/** The JSON body of one streaming Chat Completions request. */
export function openaiRequestBody(request: Omit<ModelRequest, 'signal'>, maxTokensField: MaxTokensField = 'max_tokens') {
  return {
    model: request.model,
    [maxTokensField]: request.maxTokens,
    messages: [...(request.system ? [{ role: 'system', content: request.system }] : []), ...openaiMessages(request.messages)],
    // An empty `tools` array is refused by OpenAI; no tools means no field.
    ...(request.tools.length > 0
      ? {
          tools: request.tools.map((t) => ({
            type: 'function',
            function: { name: t.name, description: t.description, parameters: t.inputSchema },
          })),
        }
      : {}),
    stream: true,
    stream_options: { include_usage: true },
  };
}

/**
 * The conversation in Chat Completions form: tool calls on the assistant message, each
 * result a `role: "tool"` message after it. Reasoning parts are not sent back: no
 * compatible server needs them, and some refuse them.
 */
export function openaiMessages(messages: readonly ModelMessage[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const message of messages) {
    if (message.role === 'user') out.push({ role: 'user', content: message.text });
    else if (message.role === 'tool_results') {
      for (const r of message.results) out.push({ role: 'tool', tool_call_id: r.toolUseId, content: r.content });
    } else {
      const text = message.content
        .filter((p) => p.type === 'text')
        .map((p) => p.text)
        .filter((t) => t !== '')
        .join('\n\n');
      const calls = message.content.filter((p): p is ToolCallPart => p.type === 'tool_call');
      if (calls.length === 0) {
        if (text) out.push({ role: 'assistant', content: text });
        continue;
      }
      out.push({
        role: 'assistant',
        content: text || null,
        tool_calls: calls.map((c) => ({
          id: c.id,
          type: 'function',
          // Arguments that never parsed were kept as their raw text: they go back as they came.
          function: { name: c.name, arguments: typeof c.input === 'string' ? c.input : JSON.stringify(c.input ?? {}) },
        })),
      });
    }
  }
  return out;
}

interface PendingCall {
  id: string;
  name: string;
  args: string;
}

/**
 * One response's chunks into parts. Tool-call fragments are joined by id first, then by
 * index, then to the latest call, which takes in every shape servers send: OpenAI's (id
 * on the first fragment, index on all), Ollama's (no index, or index 0 for every call
 * with distinct ids), and servers that repeat the id on every fragment.
 */
export class OpenAITranslator implements WireTranslator {
  finished = false;
  #textOpen = false;
  #calls: PendingCall[] = [];
  #byId = new Map<string, PendingCall>();
  #byIndex = new Map<number, PendingCall>();
  #latest: PendingCall | undefined;
  #finishReason: string | undefined;
  #callsEmitted = false;
  #usage: { inputTokens: number; outputTokens: number } | undefined;

  event({ event, data }: SseEvent): ModelPart[] {
    if (data.trim() === '[DONE]') return this.#finish();
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw new WireFault('malformed JSON in a stream chunk');
    }
    if (!isObject(chunk)) throw new WireFault('malformed stream chunk');
    if (event === 'error' || chunk.error !== undefined) throw streamError(chunk);

    const parts: ModelPart[] = [];
    // Usage rides on its own chunk (`choices: []`, vLLM: `choices: null`) or, on some servers, on every chunk.
    if (isObject(chunk.usage)) {
      const { prompt_tokens, completion_tokens } = chunk.usage;
      this.#usage = {
        inputTokens: typeof prompt_tokens === 'number' ? prompt_tokens : 0,
        outputTokens: typeof completion_tokens === 'number' ? completion_tokens : 0,
      };
    }
    const choices = Array.isArray(chunk.choices) ? chunk.choices.filter(isObject) : [];
    const choice = choices.find((c) => (c.index ?? 0) === 0) ?? choices[0];
    if (!choice) return parts;
    const delta = isObject(choice.delta) ? choice.delta : {};
    // reasoning_content (DeepSeek, vLLM, llama.cpp) and reasoning (OpenRouter, Ollama) are not text.
    for (const text of [delta.content, delta.refusal]) {
      if (typeof text === 'string' && text !== '') {
        this.#textOpen = true;
        parts.push({ type: 'text_delta', text });
      }
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const fragment of delta.tool_calls) {
        if (!isObject(fragment)) continue;
        this.#closeText(parts);
        this.#track(fragment);
      }
    }
    if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') {
      this.#finishReason = choice.finish_reason;
      this.#closeText(parts);
      this.#emitCalls(parts);
    }
    return parts;
  }

  end(): ModelPart[] {
    // `data: [DONE]` missing at the end of a clean stream: tolerated once a finish_reason came.
    if (this.#finishReason === undefined) throw new WireFault('the stream ended before a finish_reason');
    return this.#finish();
  }

  #finish(): ModelPart[] {
    const parts: ModelPart[] = [];
    this.#closeText(parts);
    this.#emitCalls(parts);
    if (this.#usage) parts.push({ type: 'usage', ...this.#usage });
    parts.push({ type: 'finish', reason: this.#reason() });
    this.finished = true;
    return parts;
  }

  #reason(): FinishReason {
    if (this.#finishReason === 'length') return 'max_tokens';
    if (this.#finishReason === 'content_filter') return 'other';
    // `stop` after tool calls (Ollama, llama.cpp) means the same as `tool_calls`; `tool_calls`
    // without any call means the model had nothing to run.
    return this.#calls.length > 0 ? 'tool_use' : 'end_turn';
  }

  #closeText(parts: ModelPart[]) {
    if (!this.#textOpen) return;
    this.#textOpen = false;
    parts.push({ type: 'text_end' });
  }

  #emitCalls(parts: ModelPart[]) {
    if (this.#callsEmitted) return;
    this.#callsEmitted = true;
    for (const call of this.#calls) parts.push({ type: 'tool_call', id: call.id, name: call.name, input: parseArguments(call.args) });
  }

  #track(fragment: Record<string, unknown>) {
    const id = typeof fragment.id === 'string' && fragment.id !== '' ? fragment.id : undefined;
    const index = typeof fragment.index === 'number' ? fragment.index : undefined;
    const fn = isObject(fragment.function) ? fragment.function : {};
    let call = id !== undefined ? this.#byId.get(id) : index !== undefined ? this.#byIndex.get(index) : this.#latest;
    if (!call) {
      call = { id: id ?? `call_${randomUUID()}`, name: '', args: '' };
      this.#calls.push(call);
      this.#byId.set(call.id, call);
    }
    if (!call.name && typeof fn.name === 'string') call.name = fn.name;
    // Arguments are a string split anywhere; a few servers send an object in one piece.
    if (typeof fn.arguments === 'string') call.args += fn.arguments;
    else if (isObject(fn.arguments)) call.args += JSON.stringify(fn.arguments);
    if (index !== undefined) this.#byIndex.set(index, call);
    this.#latest = call;
  }
}

/** A tool call's arguments: parsed, `{}` when empty, the raw text when they do not parse. */
function parseArguments(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

/** An `error` object sent in place of a chunk, after HTTP 200. */
function streamError(chunk: Record<string, unknown>): WireFault {
  const error = isObject(chunk.error) ? chunk.error : chunk;
  const message =
    typeof chunk.error === 'string' ? chunk.error : typeof error.message === 'string' ? error.message : 'no message';
  const type = [error.type, error.code].find((v): v is string => typeof v === 'string');
  // Whatever its type, an error after HTTP 200 is the contract's PROVIDER_ERROR, never retried.
  return new WireFault(`error in the stream: ${type ? `${type}: ` : ''}${message}`);
}
