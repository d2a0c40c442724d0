/**
 * A real Switchboard whose agent is the tool loop over a real HTTP provider pointed at the
 * fake provider server, with a graphql-ws client and a session to drive: what the
 * `agents-*` integration tests share. Per provider, `wire` scripts the same answers in that
 * provider's own wire format, so one test body runs for both.
 */
import { join } from 'node:path';
import { createModelAgent, type ModelAgentOptions } from '../../src/agents/loop.js';
import { createAnthropicProvider } from '../../src/agents/providers/anthropic.js';
import { createOpenAIProvider } from '../../src/agents/providers/openai.js';
import type { AppOptions } from '../../src/app.js';
import { startFakeProvider, type Endpoint, type FakeProvider, type RecordedRequest, type Script, type Step } from '../fake-provider/server.js';
import {
  anthropicError,
  anthropicErrorBody,
  anthropicStream,
  anthropicText,
  blockStop,
  chunk,
  inputJsonDelta,
  messageDelta,
  messageStart,
  messageStop,
  openaiError,
  openaiErrorBody,
  openaiStream,
  openaiText,
  textDelta,
  textStart,
  toolUseStart,
  usageChunk,
} from '../fake-provider/wire.js';
import { subscribeEvents, wsClient, type EventStream } from './clients.js';
import {
  CancelTurnMutation,
  CreateSessionMutation,
  DeleteSessionMutation,
  RespondToPermissionMutation,
  SendMessageMutation,
} from './operations.js';
import { onCleanup, startTestServer, type TestServer } from './server.js';

export type ProviderName = 'anthropic' | 'openai';
export const PROVIDER_NAMES: readonly ProviderName[] = ['anthropic', 'openai'];

/** A key distinctive enough that finding it anywhere is a leak. */
export const API_KEY = 'sk-LEAKCHECK-5e1f0c4b9a7d2e83';

/** One tool call as a test scripts it. */
export interface Call {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

/** The same answers in each provider's wire format. */
export interface Wire {
  endpoint: Endpoint;
  /** A plain answer: the text in these pieces, then the end of the turn. */
  text(pieces: string[], usage?: { input: number; output: number }): Script;
  /** Optional text, then these tool calls (arguments split over two fragments), then the tool-use finish. */
  tools(calls: Call[], options?: { text?: string; usage?: { input: number; output: number } }): Script;
  /** Text cut off at the output limit. */
  maxTokens(pieces: string[]): Script;
  /** Some text, then the given steps (gates, pauses) and `end` (default: hang). */
  textThen(text: string, steps: Step[], end?: 'close' | 'reset' | 'hang'): Script;
  /** Some text, then an error event of the provider's own kind in the stream. */
  errorEventAfter(text: string, message: string): Script;
  /** Some text, then data that is not JSON. */
  malformedAfter(text: string): Script;
  httpError(status: number, message: string, headers?: Record<string, string>): Script;
}

const argsOf = (input: Record<string, unknown>) => {
  const json = JSON.stringify(input);
  const cut = Math.max(1, Math.floor(json.length / 2));
  return [json.slice(0, cut), json.slice(cut)];
};

const stepsOf = (script: Script): Step[] => (script.type === 'stream' ? script.steps : []);

export const WIRES: Record<ProviderName, Wire> = {
  anthropic: {
    endpoint: 'anthropic',
    text: (pieces, usage) => anthropicStream(anthropicText(pieces, usage)),
    tools(calls, { text, usage = { input: 50, output: 10 } } = {}) {
      const events: Array<Record<string, unknown>> = [messageStart({ input_tokens: usage.input, output_tokens: 1 })];
      let index = 0;
      if (text !== undefined) events.push(textStart(index), textDelta(index, text), blockStop(index++));
      for (const call of calls) {
        events.push(toolUseStart(index, call.id, call.name), inputJsonDelta(index, ''));
        for (const piece of argsOf(call.input)) events.push(inputJsonDelta(index, piece));
        events.push(blockStop(index++));
      }
      events.push(messageDelta('tool_use', usage.output), messageStop());
      return anthropicStream(events);
    },
    maxTokens: (pieces) =>
      anthropicStream([messageStart(), textStart(0), ...pieces.map((p) => textDelta(0, p)), blockStop(0), messageDelta('max_tokens', 8), messageStop()]),
    textThen: (text, steps, end = 'hang') => anthropicStream([messageStart(), textStart(0), textDelta(0, text), ...steps], { end }),
    errorEventAfter: (text, message) =>
      anthropicStream([messageStart(), textStart(0), textDelta(0, text), anthropicErrorBody('overloaded_error', message)]),
    malformedAfter: (text) => ({
      type: 'stream',
      steps: [
        ...stepsOf(anthropicStream([messageStart(), textStart(0), textDelta(0, text)])),
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"te\n\n',
      ],
    }),
    httpError: (status, message, headers) =>
      anthropicError(
        status,
        status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : status >= 500 ? 'api_error' : 'invalid_request_error',
        message,
        headers,
      ),
  },
  openai: {
    endpoint: 'openai',
    text: (pieces, usage) => openaiStream(openaiText(pieces, usage)),
    tools(calls, { text, usage = { input: 50, output: 10 } } = {}) {
      const chunks: Array<Record<string, unknown>> = [chunk({ role: 'assistant', content: text ?? null })];
      calls.forEach((call, index) => {
        const [first, rest] = argsOf(call.input);
        chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: first } }] }));
        chunks.push(chunk({ tool_calls: [{ index, function: { arguments: rest } }] }));
      });
      chunks.push(chunk({}, 'tool_calls'), usageChunk(usage.input, usage.output));
      return openaiStream(chunks);
    },
    maxTokens: (pieces) => openaiStream([chunk({ role: 'assistant', content: '' }), ...pieces.map((p) => chunk({ content: p })), chunk({}, 'length'), usageChunk(10, 8)]),
    textThen: (text, steps, end = 'hang') => openaiStream([chunk({ role: 'assistant', content: text }), ...steps], { done: false, end }),
    errorEventAfter: (text, message) =>
      openaiStream([chunk({ role: 'assistant', content: text }), openaiErrorBody(message, 'server_error')], { done: false }),
    malformedAfter: (text) => ({
      type: 'stream',
      steps: [...stepsOf(openaiStream([chunk({ role: 'assistant', content: text })], { done: false })), 'data: {"id":"x","choi\n\n'],
    }),
    httpError: (status, message, headers) =>
      openaiError(status, message, status === 401 ? 'invalid_request_error' : status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error', status === 401 ? 'invalid_api_key' : null, headers),
  },
};

export interface AgentServerOptions {
  provider: ProviderName;
  /** A fake provider already running (a restart keeps the same one). */
  fake?: FakeProvider;
  /** Passed to createModelAgent; retries are fast unless the test says otherwise. */
  agent?: Partial<Omit<ModelAgentOptions, 'provider'>>;
  /** Passed to the provider. */
  idleTimeoutMs?: number;
  /** Where the provider sends its requests instead of the fake server (a closed port). */
  baseUrl?: string;
  app?: AppOptions;
}

export interface AgentServer {
  server: TestServer;
  fake: FakeProvider;
  wire: Wire;
  /** Every error the app reported through `onError`, as text. */
  logged: string[];
}

/** Starts the fake provider (unless given) and a Switchboard whose agent talks to it over HTTP. */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  let fake = options.fake;
  if (!fake) {
    const started = await startFakeProvider();
    onCleanup(() => started.close());
    fake = started;
  }
  const idle = options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs };
  const provider =
    options.provider === 'anthropic'
      ? createAnthropicProvider({ apiKey: API_KEY, baseUrl: options.baseUrl ?? fake.anthropicBaseUrl, ...idle })
      : createOpenAIProvider({ apiKey: API_KEY, baseUrl: options.baseUrl ?? fake.openaiBaseUrl, ...idle });
  const agent = createModelAgent({
    provider,
    models: ['model-a', 'model-b'],
    secrets: [API_KEY],
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...options.agent,
  });
  const logged: string[] = [];
  const server = await startTestServer({
    agent,
    onError: (error: unknown) => void logged.push(error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error)),
    ...options.app,
  });
  return { server, fake, wire: WIRES[options.provider], logged };
}

export interface SessionDriver {
  id: string;
  events: EventStream;
  send(text: string, strategy?: 'ENQUEUE' | 'REJECT' | 'INTERRUPT'): Promise<unknown>;
  respond(requestId: string, allowed: boolean, alwaysAllow?: boolean): Promise<unknown>;
  cancel(): Promise<unknown>;
  remove(): Promise<unknown>;
  workspaceFile(path: string): string;
}

/** Creates a session (permission mode ASK unless given) and subscribes to its events over graphql-ws. */
export async function openSession(
  server: TestServer,
  options: { id?: string; permissionMode?: 'ASK' | 'ALLOW_ALL' | 'DENY_ALL'; model?: string; after?: number } = {},
): Promise<SessionDriver> {
  const id = options.id ?? 's';
  await server.gql(CreateSessionMutation, {
    input: { id, permissionMode: options.permissionMode ?? 'ASK', ...(options.model ? { model: options.model } : {}) },
  });
  const events = subscribeEvents(wsClient(server), id, options.after ?? 0);
  return sessionDriver(server, id, events);
}

/** A driver for an existing session, with its own subscription from `after`. */
export function sessionDriver(server: TestServer, id: string, events: EventStream = subscribeEvents(wsClient(server), id, 0)): SessionDriver {
  return {
    id,
    events,
    send: (text, strategy) => server.gql(SendMessageMutation, { input: { sessionId: id, text, ...(strategy ? { strategy } : {}) } }),
    respond: (requestId, allowed, alwaysAllow = false) =>
      server.gql(RespondToPermissionMutation, { input: { sessionId: id, requestId, allowed, alwaysAllow } }),
    cancel: () => server.gql(CancelTurnMutation, { sessionId: id }),
    remove: () => server.gql(DeleteSessionMutation, { id }),
    workspaceFile: (path) => join(server.dataDir, 'workspaces', id, path),
  };
}

/** The messages of a recorded request body, without OpenAI's leading system message. */
export function conversationSent(request: RecordedRequest): unknown[] {
  const messages = (request.body as { messages: Array<{ role: string }> }).messages;
  return messages.filter((m) => m.role !== 'system');
}
