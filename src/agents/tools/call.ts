import { WorkspaceError } from '../tools.js';
import type { AgentTurn } from '../types.js';
import type { Tool } from './types.js';

/** How one tool call ended: its result text, whether it is an error, and whether a human said no. */
export interface ToolOutcome {
  result: string;
  isError: boolean;
  /** True when the call was gated and permission was refused: nothing ran. */
  denied: boolean;
}

/**
 * Runs one checked tool call the same way for every agent: a gated tool first asks (its
 * `ask` may refuse at once), then runs; a `WorkspaceError` becomes an isError result.
 * Throws the signal's reason once the turn is aborted, and anything else a tool throws.
 */
export async function callTool<Input>(
  tool: Tool<Input>,
  input: Input,
  call: { toolUseId: string } & Pick<AgentTurn, 'workspace' | 'signal' | 'requestPermission'>,
): Promise<ToolOutcome> {
  const { signal, workspace } = call;
  const context = { workspace, signal };
  const toolName = tool.spec.name;
  try {
    signal.throwIfAborted();
    if (tool.ask) {
      const ask = await tool.ask(input, context);
      const allowed = await call.requestPermission({ toolName, toolUseId: call.toolUseId, ...ask });
      signal.throwIfAborted();
      if (!allowed) return { result: `Permission denied: ${toolName}`, isError: true, denied: true };
    }
    const result = await tool.run(input, context);
    signal.throwIfAborted();
    return { result, isError: false, denied: false };
  } catch (error) {
    if (error instanceof WorkspaceError && !signal.aborted) return { result: error.message, isError: true, denied: false };
    throw error;
  }
}
