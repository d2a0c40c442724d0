import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { describe, expect, it } from 'vitest';
import { deltaText, seqs, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import {
  CreateSessionMutation,
  SendMessageMutation,
  SessionQuery,
  UpdateConfigMutation,
  ConfigQuery,
} from '../utils/operations.js';
import { spawnServer, startServerProcess, type ServerProcess } from '../utils/process.js';

/** Restart-safety of the embedded SQLite store, with real processes killed for real. */

const newDataDir = () => mkdtemp(join(tmpdir(), 'switchboard-durable-'));

async function gql<R, V>(proc: ServerProcess, document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  const res = await fetch(proc.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await res.json()) as { data?: R; errors?: unknown[] };
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

const ws = (proc: ServerProcess) => wsClient({ wsUrl: proc.url.replace(/^http/, 'ws') });

async function kill9(proc: ServerProcess) {
  proc.child.kill('SIGKILL');
  expect(await proc.exited).toBe('SIGKILL');
}

describe('durable sessions on SQLite', () => {
  it('keeps sessions, messages, events and config across a SIGKILL', async () => {
    const DATA_DIR = await newDataDir();
    const first = await startServerProcess({ DATA_DIR });
    await gql(first, CreateSessionMutation, { input: { id: 'kept', title: 'Kept' } });
    await gql(first, UpdateConfigMutation, { input: { permissionMode: 'ALLOW_ALL', theme: { dark: true } } });
    const events = subscribeEvents(ws(first), 'kept', 0);
    await gql(first, SendMessageMutation, { input: { sessionId: 'kept', text: 'remember me' } });
    const turn = await events.untilComplete();
    const before = await gql(first, SessionQuery, { id: 'kept' });
    await kill9(first);

    const second = await startServerProcess({ DATA_DIR });
    const after = await gql(second, SessionQuery, { id: 'kept' });
    expect(after).toEqual(before);
    expect(after.session!.events).toEqual(turn);
    expect(after.session!.messages.map((m) => m.text)).toEqual(['remember me', 'You said: remember me']);
    const { config } = await gql(second, ConfigQuery, {});
    expect(config).toMatchObject({ permissionMode: 'ALLOW_ALL', theme: { dark: true } });
  });

  it('ends a turn cut by SIGKILL with one CompleteEvent INTERRUPTED; resuming with after loses nothing', async () => {
    const DATA_DIR = await newDataDir();
    const first = await startServerProcess({ DATA_DIR });
    await gql(first, CreateSessionMutation, { input: { id: 'cut' } });
    const live = subscribeEvents(ws(first), 'cut', 0);
    const { sendMessage } = await gql(first, SendMessageMutation, { input: { sessionId: 'cut', text: '/stream 100000 50' } });
    const seen = await live.takeUntil((e) => e.__typename === 'TextDeltaEvent' && (e as { seq: number }).seq >= 4);
    await kill9(first);
    const lastSeen = seqs(seen).at(-1)!;

    const second = await startServerProcess({ DATA_DIR });
    const { session } = await gql(second, SessionQuery, { id: 'cut' });
    expect(session!.status).toBe('IDLE');
    const completes = session!.events.filter((e) => e.__typename === 'CompleteEvent');
    expect(completes).toEqual([expect.objectContaining({ reason: 'INTERRUPTED', turnId: sendMessage.turnId })]);
    expect(session!.events.at(-1)).toEqual(completes[0]);
    expect(session!.events.some((e) => e.__typename === 'TextCompleteEvent')).toBe(false);

    // The client that saw up to lastSeen picks up exactly where it left off.
    const resumed = subscribeEvents(ws(second), 'cut', lastSeen);
    const rest = await resumed.untilComplete();
    const all = [...seen, ...rest];
    expect(seqs(all)).toEqual(all.map((_, i) => i + 1));
    expect(rest.at(-1)).toMatchObject({ reason: 'INTERRUPTED' });
    expect(deltaText(all)).toMatch(/^t1 t2 t3 /);

    // And the session takes new work.
    await gql(second, SendMessageMutation, { input: { sessionId: 'cut', text: 'still here?' } });
    const next = await resumed.untilComplete();
    expect(next.at(-1)).toMatchObject({ reason: 'END_TURN' });
    expect(deltaText(next)).toBe('You said: still here?');
  });

  it('runs a message that was queued at the time of a SIGKILL after the restart', async () => {
    const DATA_DIR = await newDataDir();
    const first = await startServerProcess({ DATA_DIR });
    await gql(first, CreateSessionMutation, { input: { id: 'queued' } });
    const running = await gql(first, SendMessageMutation, { input: { sessionId: 'queued', text: '/sleep 60000' } });
    const waiting = await gql(first, SendMessageMutation, { input: { sessionId: 'queued', text: 'after the crash' } });
    expect(waiting.sendMessage.queued).toBe(true);
    await kill9(first);

    const second = await startServerProcess({ DATA_DIR });
    const events: Event[] = [];
    const stream = subscribeEvents(ws(second), 'queued', 0);
    events.push(...(await stream.untilComplete()));
    events.push(...(await stream.untilComplete()));
    const turns = events.filter((e) => e.__typename === 'CompleteEvent').map((e) => [e.turnId, (e as { reason: string }).reason]);
    expect(turns).toEqual([
      [running.sendMessage.turnId, 'INTERRUPTED'],
      [waiting.sendMessage.turnId, 'END_TURN'],
    ]);
    expect(deltaText(events)).toBe('You said: after the crash');
    const { session } = await gql(second, SessionQuery, { id: 'queued' });
    expect(session!.queuedMessages).toEqual([]);
  });

  it('cancels the pending permission of a turn cut by a crash', async () => {
    const DATA_DIR = await newDataDir();
    const first = await startServerProcess({ DATA_DIR });
    await gql(first, CreateSessionMutation, { input: { id: 'asking' } });
    const live = subscribeEvents(ws(first), 'asking', 0);
    await gql(first, SendMessageMutation, { input: { sessionId: 'asking', text: '/write a.txt hi' } });
    const asked = await live.takeUntil((e) => e.__typename === 'PermissionRequestEvent');
    const request = (asked.at(-1) as { request: { requestId: string } }).request;
    await kill9(first);

    const second = await startServerProcess({ DATA_DIR });
    const { session } = await gql(second, SessionQuery, { id: 'asking' });
    expect(session!.status).toBe('IDLE');
    expect(session!.pendingPermissions).toEqual([]);
    expect(session!.events.slice(-2)).toEqual([
      expect.objectContaining({ __typename: 'PermissionResolvedEvent', requestId: request.requestId, resolution: 'CANCELLED', allowed: false }),
      expect.objectContaining({ __typename: 'CompleteEvent', reason: 'INTERRUPTED' }),
    ]);
  });

  it('refuses a DATA_DIR it cannot use, or a corrupt database, with one line naming it', async () => {
    const parent = await newDataDir();
    const notADir = join(parent, 'file');
    await writeFile(notADir, 'not a folder');
    const unusable = spawnServer({ DATA_DIR: notADir });
    expect(await unusable.exited).toBe(1);
    expect(unusable.output().trim().split('\n')).toEqual([expect.stringMatching(/^switchboard: DATA_DIR=".*\/file" is not usable: /)]);

    // A folder that cannot be made where its parent exists (Node's own recursive mkdir loops
    // forever on this one).
    const impossible = spawnServer({ DATA_DIR: '/proc/switchboard-data' });
    expect(await impossible.exited).toBe(1);
    expect(impossible.output().trim().split('\n')).toEqual([
      expect.stringMatching(/^switchboard: DATA_DIR="\/proc\/switchboard-data" is not usable: /),
    ]);

    const corrupt = await newDataDir();
    await writeFile(join(corrupt, 'switchboard.db'), 'this is not an SQLite database, just text that fills a page '.repeat(100));
    const broken = spawnServer({ DATA_DIR: corrupt });
    expect(await broken.exited).toBe(1);
    expect(broken.output().trim().split('\n')).toEqual([
      expect.stringMatching(/^switchboard: DATA_DIR=".*" is not usable: file is not a database/),
    ]);
  });
});
