import { listWorkspaceFiles } from '../tools.js';
import { parseObject } from './input.js';
import type { Tool } from './types.js';

export interface ListFilesInput {
  path?: string;
}

/** `list_files`: what is in the workspace (or one folder of it). Not gated: it only reads names. */
export const listFilesTool: Tool<ListFilesInput> = {
  spec: {
    name: 'list_files',
    description:
      "Lists the files and folders in the session's workspace, recursively: one path a line, relative to the workspace, folders ending in `/`. Give `path` to list only that folder.",
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'A folder relative to the workspace. Default: the whole workspace.' },
      },
      additionalProperties: false,
    },
  },
  displayName: 'List files',
  intent: ({ path }) => (path ? `List ${path}` : 'List the workspace'),
  parse: (input) => parseObject<ListFilesInput>('list_files', input, { path: { type: 'string', required: false } }),
  run: ({ path }, { workspace }) => listWorkspaceFiles(workspace, path),
};
