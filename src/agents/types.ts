/** What an agent yields while it runs a turn. The session manager maps these to SessionEvents. */
export type AgentEvent =
  /** A piece of the current text block. */
  | { type: 'text'; delta: string }
  /** The current text block is complete (its text is the concatenation of its deltas). */
  | { type: 'text_end'; isIntermediate?: boolean }
  | {
      type: 'tool_start';
      toolUseId: string;
      toolName: string;
      input: unknown;
      intent?: string;
      displayName?: string;
    }
  | { type: 'tool_result'; toolUseId: string; toolName: string; result: string; isError: boolean }
  /** Token usage of the turn so far; the last one reported goes into CompleteEvent. */
  | { type: 'usage'; inputTokens: number; outputTokens: number };

/** A gated tool call that needs a human (or a rule, or the session's mode) to allow it. */
export interface PermissionAsk {
  toolName: string;
  toolUseId: string;
  /** What will run, shown to the human (e.g. the path and text of a write). */
  command?: string;
  description?: string;
}

/**
 * One message of the conversation before a turn (AgentTurn.history). An assistant message
 * holds the text of one text block and the tool calls that followed it, with their results.
 * The store's messages have this shape: the session manager hands them over as they are.
 */
export interface ConversationMessage {
  id: string;
  role: 'USER' | 'ASSISTANT';
  text: string;
  /** The turn the message belongs to. */
  turnId: string;
  /** When it was stored, ISO 8601. */
  createdAt: string;
  /** Empty for a user's message. */
  toolCalls: ConversationToolCall[];
}

/** A tool call of an earlier assistant message, with what it gave back. */
export interface ConversationToolCall {
  toolUseId: string;
  toolName: string;
  /** What the model asked the tool to do. */
  input: unknown;
  /** The tool's result; null when the call never finished (its turn was stopped while it ran). */
  result: string | null;
  /** The result is an error (the call failed or was denied). */
  isError: boolean;
}

/** A file the user sent with the message. */
export interface Attachment {
  name: string;
  /** e.g. `image/png`. */
  mediaType: string;
  /** The file's bytes, base64. */
  dataBase64: string;
}

/** Everything an agent gets for one turn. */
export interface AgentTurn {
  sessionId: string;
  turnId: string;
  model: string;
  text: string;
  attachments: Attachment[];
  /** The conversation before this turn, oldest first. */
  history: ConversationMessage[];
  /** Absolute path of the session's own folder; tools must stay inside it. */
  workspace: string;
  /** Aborted when the turn is cancelled, interrupted or the server stops: stop promptly. */
  signal: AbortSignal;
  /**
   * Asks whether a gated tool may run. Resolves true or false; depending on the session's
   * permission mode it may wait for a human, apply a rule, or answer at once. Rejects with
   * the signal's reason when the turn is aborted while waiting.
   */
  requestPermission(ask: PermissionAsk): Promise<boolean>;
  /** Called as each model request ends: `ok`, or its failure code (after retries); for metrics. */
  onModelRequest?: ((outcome: string) => void) | undefined;
}

export interface Agent {
  /** Models this agent serves; the first is the default. */
  readonly models: readonly string[];
  /**
   * Runs one turn. Throw an `AgentError` to end it with an ErrorEvent whose message the
   * client sees; any other error is reported as a generic failure (its message may hold
   * internals), and is logged.
   */
  chat(turn: AgentTurn): AsyncIterable<AgentEvent>;
}

/** An error whose message is meant for the user: it becomes `ErrorEvent.error` as is. */
export class AgentError extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AgentError';
  }
}
