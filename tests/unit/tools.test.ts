import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listWorkspaceFiles } from '../../src/agents/tools.js';
import { callTool, listFilesTool, readFileTool, workspaceTools, writeFileTool, type Tool } from '../../src/agents/tools/index.js';
import type { PermissionAsk } from '../../src/agents/types.js';

let dir: string;
let workspace: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tools-test-'));
  workspace = join(dir, 'ws');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(tree: Record<string, string>) {
  for (const [path, text] of Object.entries(tree)) {
    await mkdir(join(workspace, path, '..'), { recursive: true });
    await writeFile(join(workspace, path), text);
  }
}

/** Checks the input as the loop does, then calls the tool, every permission answered `allow`. */
async function call(tool: Tool, input: unknown, allow = true) {
  const asks: PermissionAsk[] = [];
  const parsed = tool.parse(input);
  if (!parsed.ok) return { result: parsed.error, isError: true, denied: false, asks };
  const outcome = await callTool(tool, parsed.input, {
    toolUseId: 'tu1',
    workspace,
    signal: new AbortController().signal,
    requestPermission: async (ask) => {
      asks.push(ask);
      return allow;
    },
  });
  return { ...outcome, asks };
}

describe('the registry', () => {
  it('offers list_files, read_file and write_file with JSON schemas', () => {
    expect(workspaceTools.map((t) => t.spec.name)).toEqual(['list_files', 'read_file', 'write_file']);
    for (const tool of workspaceTools) {
      expect(tool.spec.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
      expect(tool.spec.description.length).toBeGreaterThan(20);
    }
    expect(workspaceTools.filter((t) => t.ask).map((t) => t.spec.name)).toEqual(['write_file']);
  });
});

describe('list_files', () => {
  it('lists the whole workspace recursively, in name order, folders ending in /', async () => {
    await files({ 'b.txt': 'b', 'a/z.txt': 'z', 'a/deep/x.md': 'x', 'c/.keep': '' });
    expect(await call(listFilesTool, {})).toMatchObject({
      result: ['a/', 'a/deep/', 'a/deep/x.md', 'a/z.txt', 'b.txt', 'c/', 'c/.keep'].join('\n'),
      isError: false,
      asks: [],
    });
  });

  it('lists one folder, with paths still relative to the workspace', async () => {
    await files({ 'a/z.txt': 'z', 'a/deep/x.md': 'x', 'b.txt': 'b' });
    expect((await call(listFilesTool, { path: 'a' })).result).toBe('a/deep/\na/deep/x.md\na/z.txt');
    expect((await call(listFilesTool, { path: './a/deep/' })).result).toBe('a/deep/x.md');
  });

  it('finds a workspace that does not exist yet empty', async () => {
    expect(await call(listFilesTool, {})).toMatchObject({ result: '', isError: false });
  });

  it('says so for a missing folder or a file', async () => {
    await files({ 'b.txt': 'b' });
    expect(await call(listFilesTool, { path: 'nope' })).toMatchObject({ result: 'no such folder: nope', isError: true });
    expect(await call(listFilesTool, { path: 'b.txt' })).toMatchObject({ result: 'not a folder: b.txt', isError: true });
  });

  it.each(['..', '../', '/etc', 'a/../../x'])('refuses %j, which escapes the workspace', async (path) => {
    await files({ 'a/x': 'x' });
    expect(await call(listFilesTool, { path })).toMatchObject({ result: `path escapes the workspace: ${path}`, isError: true });
  });

  it('lists a symlink but never follows it out of the workspace', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'x');
    await files({ 'a.txt': 'a' });
    await symlink(outside, join(workspace, 'link'));
    expect((await call(listFilesTool, {})).result).toBe('a.txt\nlink');
    expect(await call(listFilesTool, { path: 'link' })).toMatchObject({ result: 'path escapes the workspace: link', isError: true });
  });

  it('stops after the most entries, saying so', async () => {
    await files({ 'a.txt': '', 'b.txt': '', 'c.txt': '' });
    expect(await listWorkspaceFiles(workspace, undefined, 2)).toBe('a.txt\nb.txt\n… (stopped after 2 entries: list a folder to see more)');
  });

  it('refuses input that is not its own', async () => {
    expect((await call(listFilesTool, { path: 3 })).result).toBe('Invalid input for list_files: "path" must be a string, got number.');
    expect((await call(listFilesTool, { dir: 'a' })).result).toBe('Invalid input for list_files: unknown property "dir" (expected "path").');
    expect((await call(listFilesTool, ['a'])).result).toBe('Invalid input for list_files: expected a JSON object, got array.');
  });
});

describe('read_file', () => {
  it("returns the file's text, without asking", async () => {
    await files({ 'docs/a.md': '# Hi\n' });
    expect(await call(readFileTool, { path: 'docs/a.md' })).toMatchObject({ result: '# Hi\n', isError: false, asks: [] });
  });

  it('says so for a missing file, an escaping path and missing input', async () => {
    await files({ 'x': '' });
    expect(await call(readFileTool, { path: 'nope.txt' })).toMatchObject({ result: 'no such file: nope.txt', isError: true });
    expect(await call(readFileTool, { path: '../x' })).toMatchObject({ result: 'path escapes the workspace: ../x', isError: true });
    expect(await call(readFileTool, {})).toMatchObject({ result: 'Invalid input for read_file: "path" is required (a string).', isError: true });
    expect(await call(readFileTool, null)).toMatchObject({ result: 'Invalid input for read_file: expected a JSON object, got null.', isError: true });
  });
});

describe('write_file', () => {
  it('asks with `write <path>`, then writes and says how many bytes', async () => {
    const outcome = await call(writeFileTool, { path: 'notes/today.txt', text: 'héllo' });
    expect(outcome).toMatchObject({ result: 'wrote 6 bytes to notes/today.txt', isError: false, denied: false });
    expect(outcome.asks).toEqual([
      {
        toolName: 'write_file',
        toolUseId: 'tu1',
        command: 'write notes/today.txt',
        description: "Write 6 bytes to notes/today.txt in the session's workspace",
      },
    ]);
    expect(await readFile(join(workspace, 'notes/today.txt'), 'utf8')).toBe('héllo');
  });

  it('writes nothing when denied', async () => {
    expect(await call(writeFileTool, { path: 'a.txt', text: 'x' }, false)).toMatchObject({
      result: 'Permission denied: write_file',
      isError: true,
      denied: true,
    });
    await expect(readFile(join(workspace, 'a.txt'), 'utf8')).rejects.toThrow();
  });

  it('refuses an escaping path before asking anyone', async () => {
    const outcome = await call(writeFileTool, { path: '../evil.txt', text: 'x' });
    expect(outcome).toMatchObject({ result: 'path escapes the workspace: ../evil.txt', isError: true, denied: false, asks: [] });
    await expect(readFile(join(dir, 'evil.txt'), 'utf8')).rejects.toThrow();
  });

  it('refuses input without text', async () => {
    expect(await call(writeFileTool, { path: 'a.txt', text: 5 })).toMatchObject({
      result: 'Invalid input for write_file: "text" must be a string, got number.',
      isError: true,
      asks: [],
    });
  });

  it('stops at an aborted turn, whatever the answer', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const parsed = writeFileTool.parse({ path: 'a.txt', text: 'x' });
    if (!parsed.ok) throw new Error('unreachable');
    const outcome = callTool(writeFileTool, parsed.input, {
      toolUseId: 'tu1',
      workspace,
      signal: controller.signal,
      requestPermission: async () => {
        controller.abort(reason);
        return true;
      },
    });
    await expect(outcome).rejects.toBe(reason);
    await expect(readFile(join(workspace, 'a.txt'), 'utf8')).rejects.toThrow();
  });
});
