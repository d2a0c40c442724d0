import { readWorkspaceFile } from '../tools.js';
import { parseObject } from './input.js';
import type { Tool } from './types.js';

export interface ReadFileInput {
  path: string;
}

/** `read_file`: one file's text. Not gated: reading the session's own folder changes nothing. */
export const readFileTool: Tool<ReadFileInput> = {
  spec: {
    name: 'read_file',
    description: "Reads a UTF-8 text file from the session's workspace and returns its text.",
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'The file, relative to the workspace.' },
      },
      required: ['path'],
      additionalProperties: false,
    },
  },
  displayName: 'Read file',
  intent: ({ path }) => `Read ${path}`,
  parse: (input) => parseObject<ReadFileInput>('read_file', input, { path: { type: 'string', required: true } }),
  run: ({ path }, { workspace }) => readWorkspaceFile(workspace, path),
};
