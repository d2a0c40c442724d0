import { randomUUID } from 'node:crypto';
import { sleep, systemClock, type Clock } from '../clock.js';
import { conversationOf } from './conversation.js';
import {
  ProviderError,
  type AssistantContent,
  type FinishReason,
  type ModelMessage,
  type ModelPart,
  type ModelProvider,
  type ToolCallPart,
} from './providers/types.js';
import { callTool, workspaceTools, type Tool } from './tools/index.js';
import { AgentError, type Agent, type AgentEvent, type AgentTurn } from './types.js';

/** The system prompt when none is configured (`AGENT_SYSTEM_PROMPT`). */
export const DEFAULT_SYSTEM_PROMPT =
  "You are a helpful assistant in a chat session. You can list, read and write files in the session's workspace with the tools you are given; paths are relative to the workspace. Answer concisely.";

export interface ModelAgentOptions {
  /** Sends one request to the model and translates its stream (providers/anthropic.ts, providers/openai.ts, or your own). */
  provider: ModelProvider;
  /** Models this agent serves; the first is the default. */
  models: readonly string[];
  /**
   * The tools offered to the model, by name.
   * @default workspaceTools (list_files, read_file, write_file)
   */
  tools?: readonly Tool[];
  /** @default DEFAULT_SYSTEM_PROMPT */
  systemPrompt?: string;
  /**
   * Output token bound of one model request (`AGENT_MAX_TOKENS`).
   * @default 8192
   */
  maxTokens?: number;
  /**
   * Most model requests in one turn (`AGENT_MAX_STEPS`); retries do not count. The turn ends
   * with MAX_STEPS when the model still calls tools after that many.
   * @default 25
   */
  maxSteps?: number;
  /**
   * Times the backoff between retries; tests pass a manual clock.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Retries of a request that failed as rate limited or unavailable before any of its
   * response streamed.
   * @default 3
   */
  maxRetries?: number;
  /**
   * The first retry's backoff before jitter; each next one doubles, up to `retryMaxDelayMs`.
   * The wait is drawn uniformly from the upper half of it ("equal jitter"), so clients that
   * failed together do not retry together.
   * @default 1000
   */
  retryBaseDelayMs?: number;
  /** @default 30000 */
  retryMaxDelayMs?: number;
  /**
   * The longest `retry-after` waited for; a provider asking for longer fails the request at
   * once rather than holding the turn (and the user) for minutes.
   * @default 60000
   */
  maxRetryAfterMs?: number;
  /**
   * Jitter's random source, in [0, 1).
   * @default Math.random
   */
  random?: () => number;
  /**
   * Strings that must never reach an event or an error (the API key): replaced by
   * `[redacted]` in every provider message passed on. Providers already leave the key out;
   * this also catches a gateway that echoes it back in an error body.
   * @default []
   */
  secrets?: readonly string[];
}

interface Settings {
  provider: ModelProvider;
  tools: ReadonlyMap<string, Tool>;
  specs: Tool['spec'][];
  systemPrompt: string;
  maxTokens: number;
  maxSteps: number;
  clock: Clock;
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  maxRetryAfterMs: number;
  random: () => number;
  secrets: readonly string[];
}

/**
 * An agent that runs turns on a real model: the tool loop shared by every provider. Each
 * turn sends the conversation (rebuilt from the session's history, then this turn's
 * message), streams the response's text, runs the tools it calls (gated ones through the
 * turn's permission flow), sends the results back, and repeats until a response calls no
 * tool. Failures end the turn with an `AgentError` whose code is one of the contract's
 * (PROVIDER_AUTH, PROVIDER_RATE_LIMITED, PROVIDER_UNAVAILABLE, PROVIDER_ERROR, MAX_TOKENS,
 * MAX_STEPS).
 *
 * @example
 * const agent = createModelAgent({
 *   provider: createAnthropicProvider({ apiKey }),
 *   models: ['claude-sonnet-5'],
 * });
 * createApp({ agent });
 */
export function createModelAgent(options: ModelAgentOptions): Agent {
  const tools = options.tools ?? workspaceTools;
  const settings: Settings = {
    provider: options.provider,
    tools: new Map(tools.map((tool) => [tool.spec.name, tool])),
    specs: tools.map((tool) => tool.spec),
    systemPrompt: options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
    maxTokens: options.maxTokens ?? 8192,
    maxSteps: options.maxSteps ?? 25,
    clock: options.clock ?? systemClock,
    maxRetries: options.maxRetries ?? 3,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 1000,
    retryMaxDelayMs: options.retryMaxDelayMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    random: options.random ?? Math.random,
    secrets: (options.secrets ?? []).filter((secret) => secret !== ''),
  };
  if (options.models.length === 0) throw new RangeError('models must name at least one model');
  if (settings.tools.size !== tools.length) throw new RangeError('two tools have the same name');
  for (const name of ['maxTokens', 'maxSteps'] as const) {
    if (!Number.isInteger(settings[name]) || settings[name] < 1) throw new RangeError(`${name} must be a whole number >= 1`);
  }
  if (!Number.isInteger(settings.maxRetries) || settings.maxRetries < 0) throw new RangeError('maxRetries must be a whole number >= 0');
  return {
    models: Object.freeze([...options.models]),
    chat: (turn) => chat(settings, turn),
  };
}

type Emit = AsyncGenerator<AgentEvent, void, undefined>;

interface Usage {
  inputTokens: number;
  outputTokens: number;
}

async function* chat(settings: Settings, turn: AgentTurn): Emit {
  const { signal } = turn;
  signal.throwIfAborted();
  const messages: ModelMessage[] = [...conversationOf(turn.history), { role: 'user', text: turn.text }];
  const total: Usage = { inputTokens: 0, outputTokens: 0 };
  for (let step = 1; ; step++) {
    // One step: one model request (retried while nothing of it has streamed), its text
    // streamed as it comes, its tool calls collected. Streamed here, in the turn's own
    // generator rather than one it delegates to: every level of `yield*` costs each token
    // more promises.
    const response = new StepResponse(total);
    for (let attempt = 0; ; attempt++) {
      let received = false;
      try {
        const parts = settings.provider.stream({
          model: turn.model,
          system: settings.systemPrompt,
          maxTokens: settings.maxTokens,
          tools: settings.specs,
          messages,
          signal,
        });
        for await (const part of parts) {
          received = true;
          const end = response.endBefore(part);
          if (end) yield end;
          const event = response.take(part);
          if (event) yield event;
        }
        if (response.finish === null) {
          throw new ProviderError('the response ended without finishing', 'error', { streamed: received });
        }
        break;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!(error instanceof ProviderError)) throw error;
        const streamed = received || error.details.streamed;
        const wait = streamed || attempt >= settings.maxRetries ? null : retryDelay(settings, error, attempt);
        if (wait !== null) {
          await sleep(settings.clock, wait, signal);
          continue;
        }
        const failed = failure(settings, error, attempt + 1);
        turn.onModelRequest?.(failed.code ?? 'PROVIDER_ERROR');
        // A text block the provider ended is complete, whatever failed after it.
        const end = response.failed();
        if (end) yield end;
        throw failed;
      }
    }
    turn.onModelRequest?.('ok');
    const end = response.finished();
    if (end) yield end;

    if (response.finish === 'max_tokens') {
      throw new AgentError(
        `The model stopped at the output limit of ${settings.maxTokens} tokens (AGENT_MAX_TOKENS) before finishing its answer.`,
        'MAX_TOKENS',
      );
    }
    if (response.calls.length === 0) return;

    const results: Extract<ModelMessage, { role: 'tool_results' }>['results'] = [];
    for (const call of response.calls) results.push(yield* runCall(settings, turn, call));
    messages.push({ role: 'assistant', content: response.content }, { role: 'tool_results', results });
    if (step >= settings.maxSteps) {
      throw new AgentError(
        `The turn reached its limit of ${settings.maxSteps} model requests (AGENT_MAX_STEPS) while the model was still calling tools.`,
        'MAX_STEPS',
      );
    }
  }
}

/**
 * One step's response as its parts arrive: what goes back into the conversation, the tool
 * calls, the finish, and the events each part makes. A retried request starts on the same
 * one: a retry happens only while nothing of the failed attempt was received.
 *
 * A text block's end is held until what follows it is known: a tool call (or more text)
 * makes it intermediate; the response's end makes it final unless the response called tools.
 * Deltas are never held.
 */
class StepResponse {
  /** What the model said, in wire order, as it goes back into the conversation. */
  readonly content: AssistantContent[] = [];
  readonly calls: ToolCallPart[] = [];
  finish: FinishReason | null = null;
  #total: Usage;
  #usage: Usage = { inputTokens: 0, outputTokens: 0 };
  #text = '';
  #inText = false;
  #endPending = false;

  /** `total`: the turn's usage before this step; this step's is added when it ends. */
  constructor(total: Usage) {
    this.#total = total;
  }

  /** The held text end, when `part` shows that the text block before it was intermediate. */
  endBefore(part: ModelPart): AgentEvent | undefined {
    if (part.type === 'tool_call') this.#closeText();
    else if (part.type !== 'text_delta' || part.text === '') return undefined;
    return this.#endPending ? this.#textEnd(true) : undefined;
  }

  /** Takes one part; returns the event it makes, if any. */
  take(part: ModelPart): AgentEvent | undefined {
    switch (part.type) {
      case 'text_delta':
        if (part.text === '') return undefined;
        this.#text += part.text;
        this.#inText = true;
        return { type: 'text', delta: part.text };
      case 'text_end':
        this.#closeText();
        return undefined;
      case 'tool_call': {
        // An id is what ties a result to its call; a server that sends none gets one of ours.
        const call: ToolCallPart = part.id ? part : { ...part, id: `call_${randomUUID()}` };
        this.calls.push(call);
        this.content.push(call);
        return undefined;
      }
      case 'reasoning':
        this.content.push(part);
        return undefined;
      case 'usage': {
        this.#usage = { inputTokens: part.inputTokens, outputTokens: part.outputTokens };
        const total = this.#total;
        return { type: 'usage', inputTokens: total.inputTokens + part.inputTokens, outputTokens: total.outputTokens + part.outputTokens };
      }
      case 'finish':
        this.finish = part.reason;
        return undefined;
    }
  }

  /** The response ended well: its usage counted; the held text end, final unless tools were called. */
  finished(): AgentEvent | undefined {
    this.#count();
    // A stream may end (at its limit, or a lax server) without ending its last text block.
    this.#closeText();
    return this.#endPending ? this.#textEnd(this.calls.length > 0 && this.finish !== 'max_tokens') : undefined;
  }

  /** The request failed for good: its usage counted; a text block the provider ended is complete. */
  failed(): AgentEvent | undefined {
    this.#count();
    return this.#endPending ? this.#textEnd(false) : undefined;
  }

  #count() {
    this.#total.inputTokens += this.#usage.inputTokens;
    this.#total.outputTokens += this.#usage.outputTokens;
  }

  /** Closes the text block being streamed: kept for the conversation, its end held. */
  #closeText() {
    if (!this.#inText) return;
    this.content.push({ type: 'text', text: this.#text });
    this.#text = '';
    this.#inText = false;
    this.#endPending = true;
  }

  #textEnd(isIntermediate: boolean): AgentEvent {
    this.#endPending = false;
    return { type: 'text_end', isIntermediate };
  }
}

/**
 * Runs one tool call and yields its ToolStart and ToolResult. An unknown tool, arguments
 * that are not JSON, or input the tool refuses are answered to the model as an error
 * result, so it can correct itself; the turn goes on.
 */
async function* runCall(
  settings: Settings,
  turn: AgentTurn,
  call: ToolCallPart,
): AsyncGenerator<AgentEvent, { toolUseId: string; toolName: string; content: string; isError: boolean }, undefined> {
  const { id: toolUseId, name: toolName } = call;
  const answer = function* (result: string, isError: boolean) {
    yield { type: 'tool_result', toolUseId, toolName, result, isError } satisfies AgentEvent;
    return { toolUseId, toolName, content: result, isError };
  };
  const tool = settings.tools.get(toolName);
  // Some servers send "" for a call without arguments.
  const input = typeof call.input === 'string' && call.input.trim() === '' ? {} : call.input;
  if (!tool) {
    yield { type: 'tool_start', toolUseId, toolName, input };
    const names = [...settings.tools.keys()].join(', ');
    return yield* answer(`Unknown tool ${JSON.stringify(toolName)}. The tools are: ${names || 'none'}.`, true);
  }
  if (typeof input === 'string') {
    yield { type: 'tool_start', toolUseId, toolName, input };
    return yield* answer(`Invalid input for ${toolName}: the arguments are not valid JSON: ${excerpt(input)}`, true);
  }
  const parsed = tool.parse(input);
  if (!parsed.ok) {
    yield { type: 'tool_start', toolUseId, toolName, input };
    return yield* answer(parsed.error, true);
  }
  yield { type: 'tool_start', toolUseId, toolName, input, intent: tool.intent(parsed.input), displayName: tool.displayName };
  const outcome = await callTool(tool, parsed.input, { ...turn, toolUseId });
  return yield* answer(outcome.result, outcome.isError);
}

const EXCERPT_CHARS = 200;

function excerpt(text: string): string {
  return text.length <= EXCERPT_CHARS ? text : `${text.slice(0, EXCERPT_CHARS)}…`;
}

/**
 * How long to wait before retry number `attempt + 1`, or null when the failure is not worth
 * retrying: only rate limits and unavailability are, and only for a `retry-after` the turn
 * can afford.
 */
function retryDelay(settings: Settings, error: ProviderError, attempt: number): number | null {
  if (error.kind !== 'rate_limited' && error.kind !== 'unavailable') return null;
  const { retryAfterMs } = error.details;
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return retryAfterMs <= settings.maxRetryAfterMs ? retryAfterMs : null;
  }
  const ceiling = Math.min(settings.retryMaxDelayMs, settings.retryBaseDelayMs * 2 ** attempt);
  return ceiling / 2 + settings.random() * (ceiling / 2);
}

/** The turn's error for a request that failed for good; the provider's words, never the key. */
function failure(settings: Settings, error: ProviderError, attempts: number): AgentError {
  const status = error.details.status === undefined ? '' : ` (HTTP ${error.details.status})`;
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  const detail = redact(settings, error.message);
  const options = { cause: error };
  switch (error.kind) {
    case 'auth':
      // The provider's own words are left out: some echo part of the key they refused.
      return new AgentError(`The model provider refused the credentials${status}: check the API key.`, 'PROVIDER_AUTH', options);
    case 'rate_limited':
      return new AgentError(`The model provider is rate limiting requests${status}${tries}: ${detail}`, 'PROVIDER_RATE_LIMITED', options);
    case 'unavailable':
      return new AgentError(`The model provider is unavailable${status}${tries}: ${detail}`, 'PROVIDER_UNAVAILABLE', options);
    case 'error':
      return new AgentError(`The model provider failed${status}: ${detail}`, 'PROVIDER_ERROR', options);
  }
}

function redact(settings: Settings, message: string): string {
  let out = message;
  for (const secret of settings.secrets) out = out.split(secret).join('[redacted]');
  return out;
}
