/**
 * The seam between the tool loop (agents/loop.ts) and a model provider. A provider is a
 * translator and nothing else: one provider-neutral request in, one HTTP request out; one
 * HTTP response stream in, `ModelPart`s out. Retries, tool dispatch, permissions and step
 * limits live once, in the loop.
 */

/** A tool as offered to the model. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the tool's input object. */
  inputSchema: Record<string, unknown>;
}

/** One tool call the model made, as it will be sent back in the conversation. */
export interface ToolCallPart {
  type: 'tool_call';
  /** The provider's call id (`toolu_…`, `call_…`). */
  id: string;
  name: string;
  /** The parsed arguments; the raw text when they were not valid JSON. */
  input: unknown;
}

/**
 * A reasoning ("thinking") block, kept as the provider sent it so that it can be sent back
 * where the provider requires it (Anthropic: earlier in the same turn's tool loop). Never
 * shown as text.
 */
export interface ReasoningPart {
  type: 'reasoning';
  provider: string;
  /** The block in the provider's own form (e.g. `{ type: 'thinking', thinking, signature }`). */
  block: unknown;
}

export type AssistantContent = { type: 'text'; text: string } | ToolCallPart | ReasoningPart;

/** The conversation, provider-neutral; providers map it to their own message shapes. */
export type ModelMessage =
  | { role: 'user'; text: string }
  | { role: 'assistant'; content: AssistantContent[] }
  /** The results of the previous assistant message's tool calls, in call order. */
  | { role: 'tool_results'; results: Array<{ toolUseId: string; toolName: string; content: string; isError: boolean }> };

export interface ModelRequest {
  model: string;
  system: string;
  maxTokens: number;
  tools: readonly ToolSpec[];
  messages: readonly ModelMessage[];
  /** Aborts the HTTP request at once (cancel, interrupt, delete, server stop). */
  signal: AbortSignal;
}

/** Why one model response ended. */
export type FinishReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'other';

/** What a provider yields for one response, in wire order. */
export type ModelPart =
  | { type: 'text_delta'; text: string }
  /** The current text block ended (Anthropic `content_block_stop` of a text block; OpenAI: before tool calls or the finish). */
  | { type: 'text_end' }
  /** A tool call whose arguments are complete. */
  | ToolCallPart
  | ReasoningPart
  /** Token counts of this response so far (the last one counts); input includes cached input. */
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  /** The response's end; nothing follows. */
  | { type: 'finish'; reason: FinishReason };

/**
 * How a request failed: `auth` (401/403), `rate_limited` (429), `unavailable` (5xx, 529, a
 * refused or reset connection) or `error` (anything else). The loop retries `rate_limited`
 * and `unavailable` only while `streamed` is false, so a retry never repeats a delta.
 */
export type ProviderFailureKind = 'auth' | 'rate_limited' | 'unavailable' | 'error';

export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    message: string,
    readonly kind: ProviderFailureKind,
    readonly details: {
      /** HTTP status, when the failure is one. */
      status?: number;
      /** `retry-after` (or `retry-after-ms`) in ms, when the provider sent one. */
      retryAfterMs?: number;
      /** True once any part of the response was yielded: then no retry. */
      streamed: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { cause: details.cause });
  }
}

export interface ModelProvider {
  /** `anthropic` or `openai`: names what the provider's reasoning parts belong to. */
  readonly name: string;
  /**
   * Sends one streaming request and yields its parts. Throws `ProviderError` for every
   * failure (HTTP status, connection refused or reset, an `error` event or malformed data
   * mid-stream), with a message that never contains the API key. Ends after `finish`, or
   * throws; a stream that ends without a finish is a `ProviderError` of kind `error`, except
   * where the contract tolerates it (OpenAI-compatible `[DONE]` missing after a finish_reason).
   * When `request.signal` aborts, the connection is closed at once and the stream throws the
   * signal's reason as it is (not a `ProviderError`: a cancel is not a provider failure).
   * Stopping the iteration early (`break`, `return()`) closes the connection too.
   */
  stream(request: ModelRequest): AsyncIterable<ModelPart>;
}
