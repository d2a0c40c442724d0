import { lstat, mkdir, readdir, readFile, readlink, realpath, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep, win32 } from 'node:path';

/**
 * A workspace tool failed in a way the user may see. Its message names the path only as the
 * user wrote it, never the server's absolute path; the underlying fs error is the `cause`.
 */
export class WorkspaceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkspaceError';
  }
}

/** Symlink hops followed while checking a path, as the kernel's own ELOOP limit does. */
const MAX_LINK_HOPS = 40;

/**
 * Resolves `path` inside `workspace` and returns the real absolute path to use, or throws a
 * `WorkspaceError` when it would escape: an empty path, a NUL byte, an absolute path, `..`
 * that climbs out, or a symlink (even a dangling one) that points outside. The workspace and
 * the path's parents need not exist yet.
 *
 * The check and the later file operation are not atomic: this guards against what a user
 * writes in a message, not against another process swapping folders for symlinks meanwhile.
 *
 * @example
 * await resolveInWorkspace('/data/ws/s1', 'notes/today.txt'); // '/data/ws/s1/notes/today.txt'
 * await resolveInWorkspace('/data/ws/s1', '../s2/x');         // throws: path escapes the workspace: ../s2/x
 */
export async function resolveInWorkspace(workspace: string, path: string): Promise<string> {
  if (path === '') throw new WorkspaceError('path is empty');
  if (path.includes('\0')) throw new WorkspaceError('path contains a NUL byte');
  // win32.isAbsolute also catches `C:\x` and `\\server\x`, which a user may type on any server.
  if (isAbsolute(path) || win32.isAbsolute(path)) throw escapes(path);

  const root = resolve(workspace);
  const lexical = resolve(root, path);
  if (!isInside(root, lexical)) throw escapes(path);
  if (lexical === root) throw new WorkspaceError(`not a file path: ${path}`);

  // Compare real paths so that a workspace reached through a symlink (macOS /tmp) still matches.
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpathOfNearest(root);
    real = await realpathOfNearest(lexical);
  } catch (error) {
    throw error instanceof WorkspaceError ? error : fsError(error, path);
  }
  if (!isInside(realRoot, real)) throw escapes(path);
  if (real === realRoot) throw new WorkspaceError(`not a file path: ${path}`);
  return real;
}

/**
 * Writes `text` as UTF-8 to `path` inside the workspace, creating the workspace and any
 * parent folders that are missing, and returns the number of bytes written.
 */
export async function writeWorkspaceFile(workspace: string, path: string, text: string): Promise<number> {
  const target = await resolveInWorkspace(workspace, path);
  try {
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text, 'utf8');
  } catch (error) {
    throw fsError(error, path);
  }
  return Buffer.byteLength(text, 'utf8');
}

/** Reads the UTF-8 text of `path` inside the workspace. */
export async function readWorkspaceFile(workspace: string, path: string): Promise<string> {
  const target = await resolveInWorkspace(workspace, path);
  try {
    return await readFile(target, 'utf8');
  } catch (error) {
    throw fsError(error, path);
  }
}

/** Most entries one listing returns, so a huge workspace cannot flood the model's context. */
export const MAX_LISTED_ENTRIES = 1000;

/**
 * Lists the folder `path` inside the workspace (the workspace itself when `path` is absent,
 * empty or `.`), recursively, depth first in name order: one path a line, relative to the
 * workspace (so each can be passed to the other tools as is), folders ending in `/`. A
 * workspace that does not exist yet is empty. Symbolic links are listed but never followed,
 * so a link cannot lead the listing outside. Past `maxEntries` the listing stops with a last
 * line saying so.
 */
export async function listWorkspaceFiles(
  workspace: string,
  path?: string,
  maxEntries = MAX_LISTED_ENTRIES,
): Promise<string> {
  const root = resolve(workspace);
  const atRoot = path === undefined || path === '' || path === '.' || path === './';
  const start = atRoot ? root : await resolveInWorkspace(workspace, path);
  const prefix = atRoot ? '' : relative(await realpathOfNearest(root), start).split(sep).join('/') + '/';

  const lines: string[] = [];
  let truncated = false;
  const walk = async (folder: string, rel: string, top: boolean): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (top && atRoot && code === 'ENOENT') return;
      if (!top) return; // A folder that vanished or cannot be read mid-walk: skip it.
      if (code === 'ENOENT') throw new WorkspaceError(`no such folder: ${path}`, { cause: error });
      if (code === 'ENOTDIR') throw new WorkspaceError(`not a folder: ${path}`, { cause: error });
      throw fsError(error, path ?? '.');
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (lines.length >= maxEntries) {
        truncated = true;
        return;
      }
      const isFolder = entry.isDirectory();
      const name = `${rel}${entry.name}${isFolder ? '/' : ''}`;
      lines.push(name);
      if (isFolder) await walk(join(folder, entry.name), name, false);
    }
  };
  await walk(start, prefix, true);
  if (truncated) lines.push(`… (stopped after ${maxEntries} entries: list a folder to see more)`);
  return lines.join('\n');
}

function escapes(path: string): WorkspaceError {
  return new WorkspaceError(`path escapes the workspace: ${path}`);
}

function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The real path of `path`, where only some leading part of it needs to exist: the nearest
 * existing ancestor is resolved by the OS and the missing rest appended. A dangling symlink
 * on the way is followed by hand, because writing through it would create its target.
 */
async function realpathOfNearest(path: string, hops = 0): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  if (await isSymlink(path)) {
    if (hops >= MAX_LINK_HOPS) throw new WorkspaceError('path has too many symbolic links');
    const target = resolve(dirname(path), await readlink(path));
    return realpathOfNearest(target, hops + 1);
  }
  const parent = dirname(path);
  // The filesystem root always exists, so this only guards against a broken realpath.
  if (parent === path) return path;
  return join(await realpathOfNearest(parent, hops), relative(parent, path));
}

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Maps an fs failure to a message that names the user's path, not the server's. */
function fsError(error: unknown, path: string): WorkspaceError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const message =
    code === 'ENOENT'
      ? `no such file: ${path}`
      : code === 'EISDIR'
        ? `is a folder: ${path}`
        : code === 'ENOTDIR' || code === 'EEXIST'
          ? `a file is in the way of: ${path}`
          : code === 'EACCES' || code === 'EPERM'
            ? `not allowed by the file system: ${path}`
            : `could not access ${path}${code ? ` (${code})` : ''}`;
  return new WorkspaceError(message, { cause: error });
}
