import { listFilesTool } from './list-files.js';
import { readFileTool } from './read-file.js';
import type { Tool } from './types.js';
import { writeFileTool } from './write-file.js';

export { callTool, type ToolOutcome } from './call.js';
export type { Tool, ToolContext, ParsedInput } from './types.js';
export { listFilesTool, readFileTool, writeFileTool };

/**
 * The tools offered to models, in the order they are offered. Adding a tool is a file in
 * this folder and one line here.
 */
export const workspaceTools: readonly Tool[] = [listFilesTool, readFileTool, writeFileTool];
