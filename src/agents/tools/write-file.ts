import { resolveInWorkspace, writeWorkspaceFile } from '../tools.js';
import { parseObject } from './input.js';
import type { Tool } from './types.js';

export interface WriteFileInput {
  path: string;
  text: string;
}

/** `write_file`: creates or replaces a file. Gated: a human (or the session's mode) allows each write. */
export const writeFileTool: Tool<WriteFileInput> = {
  spec: {
    name: 'write_file',
    description:
      "Writes text to a file in the session's workspace, creating it and any missing folders, or replacing what it held. The user is asked to allow each write.",
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'The file, relative to the workspace.' },
        text: { type: 'string', description: 'The whole new content of the file.' },
      },
      required: ['path', 'text'],
      additionalProperties: false,
    },
  },
  displayName: 'Write file',
  intent: ({ path }) => `Write ${path}`,
  parse: (input) =>
    parseObject<WriteFileInput>('write_file', input, {
      path: { type: 'string', required: true },
      text: { type: 'string', required: true },
    }),
  async ask({ path, text }, { workspace }) {
    // A path that escapes is refused before anyone is asked: there is nothing to allow.
    await resolveInWorkspace(workspace, path);
    const bytes = Buffer.byteLength(text, 'utf8');
    return { command: `write ${path}`, description: `Write ${bytes} bytes to ${path} in the session's workspace` };
  },
  // Resolved again inside: the path may have changed while a human was deciding.
  run: async ({ path, text }, { workspace }) => `wrote ${await writeWorkspaceFile(workspace, path, text)} bytes to ${path}`,
};
