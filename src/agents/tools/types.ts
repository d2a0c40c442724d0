import type { ToolSpec } from '../providers/types.js';
import type { PermissionAsk } from '../types.js';

/** What a tool may touch while it runs: the session's folder, and the turn's signal. */
export interface ToolContext {
  /** Absolute path of the session's workspace; every path a tool takes is relative to it. */
  workspace: string;
  /** Aborted when the turn ends early; a long tool stops at it. */
  signal: AbortSignal;
}

/** The model's input after checking: the typed input, or what is wrong with it (told to the model). */
export type ParsedInput<Input> = { ok: true; input: Input } | { ok: false; error: string };

/**
 * One tool the agents can call: its spec as offered to the model, how to check the model's
 * input, what a human is asked when it is gated, and how it runs. A tool's failure that the
 * user may see is a `WorkspaceError` (its message becomes an isError result); anything else
 * thrown is a bug and fails the turn.
 */
export interface Tool<Input = unknown> {
  readonly spec: ToolSpec;
  /** A short human name for ToolStartEvent.toolDisplayName (e.g. `Write file`). */
  readonly displayName: string;
  /** What this call is about, for ToolStartEvent.toolIntent (e.g. `Write notes.txt`). */
  intent(input: Input): string;
  parse(input: unknown): ParsedInput<Input>;
  /**
   * Present on gated tools: what the human is asked before the tool runs. Throws a
   * `WorkspaceError` to refuse the call before anyone is asked (a path that escapes the
   * workspace: there is nothing to allow).
   */
  ask?(input: Input, context: ToolContext): Promise<Pick<PermissionAsk, 'command' | 'description'>>;
  /** Runs the call and returns its result text. */
  run(input: Input, context: ToolContext): Promise<string>;
}
