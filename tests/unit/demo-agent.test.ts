import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDemoAgent } from '../../src/agents/demo.js';
import { readWorkspaceFile, resolveInWorkspace, writeWorkspaceFile } from '../../src/agents/tools.js';
import { AgentError, type AgentEvent, type AgentTurn, type PermissionAsk } from '../../src/agents/types.js';
import { createManualClock, settle, type ManualClock } from '../utils/manual-clock.js';

let dir: string;
let workspace: string;
let outside: string;
let clock: ManualClock;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchboard-demo-'));
  // The workspace does not exist yet: the first write must create it.
  workspace = join(dir, 'workspace');
  outside = join(dir, 'outside');
  await mkdir(outside);
  clock = createManualClock(1_000_000);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  events: AgentEvent[];
  /** Settles when the agent's stream ends; rejects with what it threw. */
  done: Promise<void>;
  controller: AbortController;
  requestPermission: ReturnType<typeof vi.fn<(ask: PermissionAsk) => Promise<boolean>>>;
  text(): string;
}

/** Starts a turn and pulls its events into `events` as fast as the agent yields them. */
function start(text: string, { allow = true, wordsPerSecond = 40 } = {}): Run {
  const agent = createDemoAgent({ clock, wordsPerSecond });
  const controller = new AbortController();
  const requestPermission = vi.fn(async (_ask: PermissionAsk) => allow);
  const turn: AgentTurn = {
    sessionId: 's1',
    turnId: 't1',
    model: agent.models[0]!,
    text,
    attachments: [],
    history: [],
    workspace,
    signal: controller.signal,
    requestPermission,
  };
  const events: AgentEvent[] = [];
  const done = (async () => {
    for await (const event of agent.chat(turn)) events.push(event);
  })();
  done.catch(() => {});
  return { events, done, controller, requestPermission, text: () => textOf(events) };
}

function textOf(events: AgentEvent[]): string {
  return events.map((e) => (e.type === 'text' ? e.delta : '')).join('');
}

const deltas = (events: AgentEvent[]) => events.filter((e) => e.type === 'text');
const kinds = (events: AgentEvent[]) => events.map((e) => e.type);

describe('echo', () => {
  it('streams "You said: <text>" exactly, keeping the whitespace', async () => {
    const text = '  hello\n\nworld \t again  ';
    const run = start(text, { wordsPerSecond: Infinity });
    await run.done;
    expect(run.text()).toBe(`You said: ${text}`);
    expect(kinds(run.events).slice(-2)).toEqual(['text_end', 'usage']);
    expect(run.events.at(-1)).toEqual({ type: 'usage', inputTokens: 3, outputTokens: deltas(run.events).length });
  });

  it('releases one word per 25 ms at 40 words/s, the first at once', async () => {
    const run = start('hello big world');
    await settle();
    expect(run.text()).toBe('You ');
    await clock.advanceAsync(24);
    expect(run.text()).toBe('You ');
    await clock.advanceAsync(1);
    expect(run.text()).toBe('You said: ');
    await clock.advanceAsync(50);
    expect(run.text()).toBe('You said: hello big ');
    expect(kinds(run.events)).not.toContain('text_end');
    await clock.advanceAsync(25);
    await run.done;
    expect(run.text()).toBe('You said: hello big world');
    expect(kinds(run.events).slice(-2)).toEqual(['text_end', 'usage']);
    expect(clock.pending()).toBe(0);
  });

  it('treats an unknown command as plain text', async () => {
    const run = start('/dance now', { wordsPerSecond: Infinity });
    await run.done;
    expect(run.text()).toBe('You said: /dance now');
  });
});

describe('/stream', () => {
  const expected = (n: number) => Array.from({ length: n }, (_, i) => `t${i + 1} `).join('');

  it('streams N tokens "t<i> " as fast as it can, then text_end', async () => {
    const run = start('/stream 1000');
    await run.done;
    expect(deltas(run.events)).toHaveLength(1000);
    expect(run.text()).toBe(expected(1000));
    expect(kinds(run.events).slice(-2)).toEqual(['text_end', 'usage']);
    expect(run.events.at(-1)).toMatchObject({ outputTokens: 1000 });
    expect(clock.pending()).toBe(0);
  });

  it('lets the event loop run during a long fast stream', async () => {
    const run = start('/stream 100000');
    const seenAtFirstMacrotask = await new Promise<number>((resolve) => setImmediate(() => resolve(run.events.length)));
    expect(seenAtFirstMacrotask).toBeGreaterThan(0);
    expect(seenAtFirstMacrotask).toBeLessThan(100_000);
    await run.done;
    expect(deltas(run.events)).toHaveLength(100_000);
  });

  it('paces R tokens per second on the clock', async () => {
    const run = start('/stream 10 5');
    await settle();
    expect(run.text()).toBe('t1 ');
    await clock.advanceAsync(199);
    expect(run.text()).toBe('t1 ');
    await clock.advanceAsync(1);
    expect(run.text()).toBe('t1 t2 ');
    await clock.advanceAsync(1000);
    expect(run.text()).toBe(expected(7));
    await clock.advanceAsync(600);
    await run.done;
    expect(run.text()).toBe(expected(10));
  });

  it('keeps to an absolute schedule: a late wake releases every token due', async () => {
    const run = start('/stream 10 5');
    await settle();
    // One timer fires (late, as a busy loop would fire it); the rest must catch up at once.
    clock.advance(1000);
    await settle();
    expect(run.text()).toBe(expected(6));
    expect(clock.pending()).toBe(1);
    run.controller.abort();
    await expect(run.done).rejects.toThrow();
  });

  it.each([
    '/stream',
    '/stream 0',
    '/stream -3',
    '/stream 1.5',
    '/stream abc',
    '/stream 1000001',
    '/stream 5 0',
    '/stream 5 -1',
    '/stream 5 fast',
    '/stream 5 Infinity',
    '/stream 5 2 extra',
  ])('refuses %j with a usage message', async (text) => {
    const run = start(text);
    await expect(run.done).rejects.toBeInstanceOf(AgentError);
    await expect(run.done).rejects.toThrow(/Usage: \/stream N \[R\]/);
    expect(run.events).toEqual([]);
  });
});

describe('/write', () => {
  it('asks, then writes the text into the workspace', async () => {
    const run = start('/write notes/today.txt héllo\nworld');
    await run.done;
    const [toolStart, toolResult] = run.events;
    expect(toolStart).toMatchObject({
      type: 'tool_start',
      toolName: 'write_file',
      input: { path: 'notes/today.txt', text: 'héllo\nworld' },
      intent: 'Write notes/today.txt',
      displayName: 'Write file',
    });
    const toolUseId = (toolStart as { toolUseId: string }).toolUseId;
    expect(run.requestPermission).toHaveBeenCalledOnce();
    expect(run.requestPermission.mock.calls[0]![0]).toMatchObject({
      toolName: 'write_file',
      toolUseId,
      command: 'write notes/today.txt',
    });
    expect(toolResult).toEqual({
      type: 'tool_result',
      toolUseId,
      toolName: 'write_file',
      result: 'wrote 12 bytes to notes/today.txt',
      isError: false,
    });
    expect(await readFile(join(workspace, 'notes/today.txt'), 'utf8')).toBe('héllo\nworld');
    expect(kinds(run.events)).toEqual(['tool_start', 'tool_result', 'usage']);
  });

  it('gives a fresh toolUseId to every call', async () => {
    const a = start('/write a.txt 1');
    const b = start('/write b.txt 2');
    await Promise.all([a.done, b.done]);
    expect(a.events[0]).toHaveProperty('toolUseId');
    expect((a.events[0] as { toolUseId: string }).toolUseId).not.toBe((b.events[0] as { toolUseId: string }).toolUseId);
  });

  it('when denied, writes nothing and says so', async () => {
    const run = start('/write a.txt secret', { allow: false });
    await run.done;
    expect(run.events[1]).toMatchObject({ type: 'tool_result', result: 'Permission denied: write_file', isError: true });
    expect(kinds(run.events)).toEqual(['tool_start', 'tool_result', 'text', 'text_end', 'usage']);
    expect(run.text()).toBe('Permission denied.');
    await expect(readFile(join(workspace, 'a.txt'), 'utf8')).rejects.toThrow();
  });

  it.each([
    ['../x', 'path escapes the workspace: ../x'],
    ['a/../../x', 'path escapes the workspace: a/../../x'],
    ['/etc/passwd', 'path escapes the workspace: /etc/passwd'],
    ['.', 'not a file path: .'],
  ])('refuses %j at once, without asking', async (path, message) => {
    const run = start(`/write ${path} pwned`);
    await run.done;
    expect(run.requestPermission).not.toHaveBeenCalled();
    expect(run.events[1]).toMatchObject({ type: 'tool_result', result: message, isError: true });
    expect(kinds(run.events)).toEqual(['tool_start', 'tool_result', 'usage']);
    await expect(readFile(join(dir, 'x'), 'utf8')).rejects.toThrow();
  });

  it('refuses to write through a symlink that points outside', async () => {
    await mkdir(workspace);
    await symlink(outside, join(workspace, 'link'));
    const run = start('/write link/x.txt pwned');
    await run.done;
    expect(run.requestPermission).not.toHaveBeenCalled();
    expect(run.events[1]).toMatchObject({ result: 'path escapes the workspace: link/x.txt', isError: true });
    await expect(readFile(join(outside, 'x.txt'), 'utf8')).rejects.toThrow();
  });

  it('refuses a dangling symlink whose target is outside', async () => {
    await mkdir(workspace);
    await symlink(join(outside, 'new.txt'), join(workspace, 'dangling'));
    const run = start('/write dangling pwned');
    await run.done;
    expect(run.events[1]).toMatchObject({ result: 'path escapes the workspace: dangling', isError: true });
    await expect(readFile(join(outside, 'new.txt'), 'utf8')).rejects.toThrow();
  });

  it('never shows the server path in an error', async () => {
    await mkdir(join(workspace, 'folder'), { recursive: true });
    const run = start('/write folder x');
    await run.done;
    const result = run.events[1] as { result: string; isError: boolean };
    expect(result).toMatchObject({ isError: true, result: 'is a folder: folder' });
    expect(result.result).not.toContain(dir);
  });

  it('refuses a missing path with a usage message', async () => {
    const run = start('/write');
    await expect(run.done).rejects.toThrow(new AgentError('Usage: /write PATH TEXT'));
  });
});

describe('/read', () => {
  it('returns the text of a file, without asking', async () => {
    await mkdir(join(workspace, 'docs'), { recursive: true });
    await writeFile(join(workspace, 'docs/a.md'), '# Hi\n');
    const run = start('/read docs/a.md');
    await run.done;
    expect(run.requestPermission).not.toHaveBeenCalled();
    expect(run.events[0]).toMatchObject({ type: 'tool_start', toolName: 'read_file', input: { path: 'docs/a.md' } });
    expect(run.events[1]).toMatchObject({ type: 'tool_result', toolName: 'read_file', result: '# Hi\n', isError: false });
  });

  it('reports a missing file as a tool error', async () => {
    const run = start('/read notes.txt');
    await run.done;
    expect(run.events[1]).toMatchObject({ result: 'no such file: notes.txt', isError: true });
  });

  it('refuses to read through a symlink that points outside', async () => {
    await mkdir(workspace);
    await writeFile(join(outside, 'secret'), 'top secret');
    await symlink(outside, join(workspace, 'link'));
    const run = start('/read link/secret');
    await run.done;
    expect(run.events[1]).toMatchObject({ result: 'path escapes the workspace: link/secret', isError: true });
  });

  it('refuses ../ and absolute paths', async () => {
    for (const path of ['../outside/secret', '/etc/passwd']) {
      const run = start(`/read ${path}`);
      await run.done;
      expect(run.events[1]).toMatchObject({ result: `path escapes the workspace: ${path}`, isError: true });
    }
  });
});

describe('/fail', () => {
  it('streams a few words without text_end, then throws the message as an AgentError', async () => {
    const run = start('/fail The disk is on fire');
    await settle();
    expect(run.text()).toBe('Something ');
    await clock.advanceAsync(25 * 10);
    await expect(run.done).rejects.toThrow(new AgentError('The disk is on fire'));
    expect(run.text()).toBe('Something is about to go wrong');
    expect(kinds(run.events)).not.toContain('text_end');
  });
});

describe('/sleep', () => {
  it('waits on the clock, then ends', async () => {
    const run = start('/sleep 500');
    await settle();
    await clock.advanceAsync(499);
    expect(clock.pending()).toBe(1);
    let ended = false;
    void run.done.then(() => (ended = true));
    await settle();
    expect(ended).toBe(false);
    await clock.advanceAsync(1);
    await run.done;
    expect(kinds(run.events)).toEqual(['usage']);
  });

  it('stops at once when the turn is aborted, leaving no timer behind', async () => {
    const run = start('/sleep 60000');
    await settle();
    expect(clock.pending()).toBe(1);
    run.controller.abort(new Error('cancelled'));
    await expect(run.done).rejects.toThrow('cancelled');
    expect(clock.pending()).toBe(0);
    expect(run.events).toEqual([]);
  });

  it('refuses a bad duration', async () => {
    await expect(start('/sleep soon').done).rejects.toBeInstanceOf(AgentError);
    await expect(start('/sleep 86400001').done).rejects.toBeInstanceOf(AgentError);
  });
});

describe('abort', () => {
  it('stops a paced echo promptly', async () => {
    const run = start('one two three four');
    await settle();
    run.controller.abort();
    await expect(run.done).rejects.toThrow();
    expect(run.text()).toBe('You ');
    expect(clock.pending()).toBe(0);
  });

  it('stops a fast stream between tokens', async () => {
    const run = start('/stream 1000000');
    await settle();
    run.controller.abort();
    await expect(run.done).rejects.toThrow();
    expect(deltas(run.events).length).toBeLessThan(1_000_000);
  });
});

describe('workspace tools', () => {
  it('creates the workspace and parent folders, and counts UTF-8 bytes', async () => {
    expect(await writeWorkspaceFile(workspace, 'a/b/c.txt', '€')).toBe(3);
    expect(await readWorkspaceFile(workspace, 'a/b/c.txt')).toBe('€');
  });

  it('allows .. that stays inside', async () => {
    expect(await resolveInWorkspace(workspace, 'a/../b.txt')).toMatch(/workspace[/\\]b\.txt$/);
  });

  it.each([
    ['', 'path is empty'],
    ['a\0b', 'path contains a NUL byte'],
    ['..', 'path escapes the workspace: ..'],
    ['C:\\Windows', 'path escapes the workspace: C:\\Windows'],
  ])('refuses %j', async (path, message) => {
    await expect(resolveInWorkspace(workspace, path)).rejects.toThrow(message);
  });

  it('allows a symlink that stays inside', async () => {
    await mkdir(join(workspace, 'real'), { recursive: true });
    await symlink(join(workspace, 'real'), join(workspace, 'alias'));
    await writeWorkspaceFile(workspace, 'alias/x.txt', 'ok');
    expect(await readFile(join(workspace, 'real/x.txt'), 'utf8')).toBe('ok');
  });

  it('refuses a symlink loop without hanging', async () => {
    await mkdir(workspace);
    await symlink(join(workspace, 'b'), join(workspace, 'a'));
    await symlink(join(workspace, 'a'), join(workspace, 'b'));
    await expect(writeWorkspaceFile(workspace, 'a', 'x')).rejects.toThrow(/could not access a|too many symbolic links/);
  });
});
