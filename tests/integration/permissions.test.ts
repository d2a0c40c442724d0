import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seqs, subscribeEvents, wsClient } from '../utils/clients.js';
import {
  CancelTurnMutation,
  CreateSessionMutation,
  RespondToPermissionMutation,
  SendMessageMutation,
  SessionQuery,
} from '../utils/operations.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { until, ofType, codeOf, type EventOf } from '../utils/events-of.js';

/** A session of the given mode with a subscriber from seq 0. */
async function openSession(server: TestServer, id: string, permissionMode?: 'ASK' | 'ALLOW_ALL' | 'DENY_ALL') {
  const { createSession } = await server.gql(CreateSessionMutation, { input: { id, permissionMode } });
  const events = subscribeEvents(wsClient(server), id, 0);
  return { session: createSession, events };
}

async function send(server: TestServer, sessionId: string, text: string) {
  return (await server.gql(SendMessageMutation, { input: { sessionId, text } })).sendMessage;
}

function respond(server: TestServer, sessionId: string, requestId: string, allowed: boolean, alwaysAllow?: boolean) {
  return server.request(RespondToPermissionMutation, { input: { sessionId, requestId, allowed, alwaysAllow } });
}

describe('permissions in mode ASK', () => {
  it('asks, waits in AWAITING_PERMISSION, and on allow writes the file into the session workspace', async () => {
    const server = await startTestServer();
    const { session, events } = await openSession(server, 'ask-allow');
    expect(session.permissionMode).toBe('ASK');

    const sent = await send(server, 'ask-allow', '/write notes.txt hello');
    const asked = await until(events, 'PermissionRequestEvent');
    expect(asked.events.map((e) => e.__typename)).toEqual(['UserMessageEvent', 'ToolStartEvent', 'PermissionRequestEvent']);
    const request = asked.last.request;
    expect(asked.last.turnId).toBe(sent.turnId);
    expect(request).toMatchObject({ toolName: 'write_file' });
    expect(request.requestId).toBeTruthy();
    const toolStart = ofType(asked.events, 'ToolStartEvent')[0]!;
    expect(toolStart).toMatchObject({ toolName: 'write_file', toolInput: { path: 'notes.txt', text: 'hello' } });

    // The state the event implies is visible as soon as the event is delivered.
    const waiting = (await server.gql(SessionQuery, { id: 'ask-allow' })).session!;
    expect(waiting.status).toBe('AWAITING_PERMISSION');
    expect(waiting.pendingPermissions).toEqual([
      { requestId: request.requestId, toolName: 'write_file', command: request.command, expiresAt: request.expiresAt },
    ]);
    expect(waiting.lastSeq).toBe(asked.last.seq);
    // Nothing happens while nobody answers.
    await events.nothingWithin(100);

    // The request belongs to its session: named under another one, it is unknown.
    await server.gql(CreateSessionMutation, { input: { id: 'ask-allow-other' } });
    expect(codeOf(await respond(server, 'ask-allow-other', request.requestId, true))).toBe('NOT_FOUND');

    const answer = await respond(server, 'ask-allow', request.requestId, true);
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.respondToPermission).toMatchObject({ requestId: request.requestId, status: 'ALLOWED' });
    expect(answer.data!.respondToPermission.session.pendingPermissions).toEqual([]);

    const rest = await events.untilComplete();
    expect(rest.map((e) => e.__typename)).toEqual(['PermissionResolvedEvent', 'ToolResultEvent', 'CompleteEvent']);
    expect(rest[0]).toMatchObject({ requestId: request.requestId, allowed: true, alwaysAllow: false, resolution: 'USER' });
    expect(rest[1]).toMatchObject({
      toolUseId: toolStart.toolUseId,
      toolName: 'write_file',
      result: 'wrote 5 bytes to notes.txt',
      isError: false,
    });
    expect(rest[2]).toMatchObject({ reason: 'END_TURN', turnId: sent.turnId });
    expect(seqs([...asked.events, ...rest])).toEqual([1, 2, 3, 4, 5, 6]);

    const file = join(server.dataDir, 'workspaces', 'ask-allow', 'notes.txt');
    expect(await readFile(file, 'utf8')).toBe('hello');

    const after = (await server.gql(SessionQuery, { id: 'ask-allow' })).session!;
    expect(after).toMatchObject({ status: 'IDLE', pendingPermissions: [] });
    expect(after.messages.at(-1)!.toolCalls).toEqual([
      {
        toolUseId: toolStart.toolUseId,
        toolName: 'write_file',
        input: { path: 'notes.txt', text: 'hello' },
        result: 'wrote 5 bytes to notes.txt',
        isError: false,
      },
    ]);

    // A second answer to the same request is a conflict, and changes nothing.
    const again = await respond(server, 'ask-allow', request.requestId, false);
    expect(codeOf(again)).toBe('CONFLICT');
    await events.nothingWithin(50);

    // The file written by the first turn can be read back by the next one (not gated).
    await send(server, 'ask-allow', '/read notes.txt');
    const read = await events.untilComplete();
    expect(read.map((e) => e.__typename)).toEqual(['UserMessageEvent', 'ToolStartEvent', 'ToolResultEvent', 'CompleteEvent']);
    expect(read[2]).toMatchObject({ toolName: 'read_file', result: 'hello', isError: false });
    expect(read[3]).toMatchObject({ reason: 'END_TURN' });
  });

  it('on deny reports the tool as failed, says "Permission denied." and completes', async () => {
    const server = await startTestServer();
    const { events } = await openSession(server, 'ask-deny');
    await send(server, 'ask-deny', '/write notes.txt hello');
    const { last } = await until(events, 'PermissionRequestEvent');

    const answer = await respond(server, 'ask-deny', last.request.requestId, false);
    expect(answer.data!.respondToPermission).toMatchObject({ status: 'DENIED' });

    const rest = await events.untilComplete();
    expect(rest[0]).toMatchObject({
      __typename: 'PermissionResolvedEvent',
      requestId: last.request.requestId,
      allowed: false,
      alwaysAllow: false,
      resolution: 'USER',
    });
    expect(ofType(rest, 'ToolResultEvent')).toEqual([expect.objectContaining({ toolName: 'write_file', isError: true })]);
    expect(ofType(rest, 'TextCompleteEvent').map((e) => e.text)).toEqual(['Permission denied.']);
    expect(rest.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
    await expect(stat(join(server.dataDir, 'workspaces', 'ask-deny', 'notes.txt'))).rejects.toThrow();

    const again = await respond(server, 'ask-deny', last.request.requestId, true);
    expect(codeOf(again)).toBe('CONFLICT');
  });

  it('of two concurrent answers exactly one wins; the other is a CONFLICT', async () => {
    const server = await startTestServer();
    const { events } = await openSession(server, 'ask-race');
    await send(server, 'ask-race', '/write race.txt go');
    const { last } = await until(events, 'PermissionRequestEvent');
    const answers = await Promise.all([
      respond(server, 'ask-race', last.request.requestId, true),
      respond(server, 'ask-race', last.request.requestId, false),
    ]);
    const won = answers.filter((a) => !a.errors);
    expect(won).toHaveLength(1);
    expect(answers.filter((a) => a.errors).map(codeOf)).toEqual(['CONFLICT']);
    const allowed = won[0]!.data!.respondToPermission.status === 'ALLOWED';
    const rest = await events.untilComplete();
    expect(ofType(rest, 'PermissionResolvedEvent')).toEqual([
      expect.objectContaining({ requestId: last.request.requestId, allowed, resolution: 'USER' }),
    ]);
    expect(ofType(rest, 'ToolResultEvent')[0]!.isError).toBe(!allowed);
  });

  it('answers NOT_FOUND for an unknown request and for a session that does not exist', async () => {
    const server = await startTestServer();
    await openSession(server, 'ask-unknown');
    expect(codeOf(await respond(server, 'ask-unknown', 'no-such-request', true))).toBe('NOT_FOUND');
    expect(codeOf(await respond(server, 'no-such-session', 'no-such-request', true))).toBe('NOT_FOUND');
  });

  it('alwaysAllow adds a session rule: the next write is allowed by RULE with a fresh requestId, without asking', async () => {
    const server = await startTestServer();
    const { events } = await openSession(server, 'ask-always');
    await send(server, 'ask-always', '/write a.txt one');
    const first = (await until(events, 'PermissionRequestEvent')).last.request;
    const answer = await respond(server, 'ask-always', first.requestId, true, true);
    expect(answer.data!.respondToPermission.status).toBe('ALLOWED');
    const firstTurn = await events.untilComplete();
    expect(firstTurn[0]).toMatchObject({ __typename: 'PermissionResolvedEvent', allowed: true, alwaysAllow: true, resolution: 'USER' });

    await send(server, 'ask-always', '/write b.txt two');
    const second = await events.untilComplete();
    expect(second.map((e) => e.__typename)).toEqual([
      'UserMessageEvent',
      'ToolStartEvent',
      'PermissionResolvedEvent',
      'ToolResultEvent',
      'CompleteEvent',
    ]);
    const resolved = ofType(second, 'PermissionResolvedEvent')[0]!;
    expect(resolved).toMatchObject({ allowed: true, resolution: 'RULE' });
    expect(resolved.requestId).toBeTruthy();
    expect(resolved.requestId).not.toBe(first.requestId);
    expect(ofType(second, 'ToolResultEvent')[0]).toMatchObject({ result: 'wrote 3 bytes to b.txt', isError: false });
    expect(await readFile(join(server.dataDir, 'workspaces', 'ask-always', 'b.txt'), 'utf8')).toBe('two');
    // The rule's requestId names no request anyone could answer.
    expect(codeOf(await respond(server, 'ask-always', resolved.requestId, true))).toBe('NOT_FOUND');

    // The rule belongs to that session only.
    const other = await openSession(server, 'ask-always-other');
    await send(server, 'ask-always-other', '/write c.txt three');
    const asked = await until(other.events, 'PermissionRequestEvent');
    expect(asked.last.request.toolName).toBe('write_file');
  });

  it('ignores alwaysAllow when the answer is a denial: the next write asks again', async () => {
    const server = await startTestServer();
    const { events } = await openSession(server, 'ask-deny-always');
    await send(server, 'ask-deny-always', '/write a.txt one');
    const first = (await until(events, 'PermissionRequestEvent')).last.request;
    const answer = await respond(server, 'ask-deny-always', first.requestId, false, true);
    expect(answer.data!.respondToPermission.status).toBe('DENIED');
    const firstTurn = await events.untilComplete();
    expect(firstTurn[0]).toMatchObject({ __typename: 'PermissionResolvedEvent', allowed: false, alwaysAllow: false, resolution: 'USER' });

    await send(server, 'ask-deny-always', '/write a.txt one');
    const second = await until(events, 'PermissionRequestEvent');
    expect(second.events.map((e) => e.__typename)).toEqual(['UserMessageEvent', 'ToolStartEvent', 'PermissionRequestEvent']);
    expect(second.last.request.requestId).not.toBe(first.requestId);
  });

  it('denies a request nobody answers in time (TIMEOUT); answering it later is a CONFLICT', async () => {
    const server = await startTestServer({ permissionTimeoutMs: 300 });
    const { events } = await openSession(server, 'ask-expire');
    await send(server, 'ask-expire', '/write late.txt text');
    const asked = await until(events, 'PermissionRequestEvent');
    const { request } = asked.last;
    expect(request.expiresAt).not.toBeNull();
    const wait = Date.parse(request.expiresAt!) - Date.parse(asked.last.at);
    expect(Math.abs(wait - 300)).toBeLessThanOrEqual(5);

    const rest = await events.untilComplete(5000);
    expect(rest[0]).toMatchObject({
      __typename: 'PermissionResolvedEvent',
      requestId: request.requestId,
      allowed: false,
      alwaysAllow: false,
      resolution: 'TIMEOUT',
    });
    // Not before it was due (timers may run a millisecond early against the wall clock).
    expect(Date.parse(rest[0]!.at)).toBeGreaterThanOrEqual(Date.parse(request.expiresAt!) - 5);
    expect(ofType(rest, 'ToolResultEvent')).toEqual([expect.objectContaining({ isError: true })]);
    expect(ofType(rest, 'TextCompleteEvent').map((e) => e.text)).toEqual(['Permission denied.']);
    expect(rest.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });

    const session = (await server.gql(SessionQuery, { id: 'ask-expire' })).session!;
    expect(session).toMatchObject({ status: 'IDLE', pendingPermissions: [] });
    expect(codeOf(await respond(server, 'ask-expire', request.requestId, true))).toBe('CONFLICT');
    await events.nothingWithin(50);
  });

  it('cancelTurn while waiting: PermissionResolved{CANCELLED}, Complete CANCELLED, a later answer is a CONFLICT', async () => {
    const server = await startTestServer();
    const { events } = await openSession(server, 'ask-cancel');
    await send(server, 'ask-cancel', '/write x.txt never');
    const { last } = await until(events, 'PermissionRequestEvent');

    const cancelled = await server.gql(CancelTurnMutation, { sessionId: 'ask-cancel' });
    expect(cancelled.cancelTurn).toMatchObject({ status: 'IDLE', pendingPermissions: [] });

    const rest = await events.untilComplete();
    expect(rest.map((e) => e.__typename)).toEqual(['PermissionResolvedEvent', 'CompleteEvent']);
    expect(rest[0]).toMatchObject({ requestId: last.request.requestId, allowed: false, resolution: 'CANCELLED' });
    expect(rest[1]).toMatchObject({ reason: 'CANCELLED', turnId: last.turnId });

    expect(codeOf(await respond(server, 'ask-cancel', last.request.requestId, true))).toBe('CONFLICT');
    await events.nothingWithin(100);
    await expect(stat(join(server.dataDir, 'workspaces', 'ask-cancel', 'x.txt'))).rejects.toThrow();
  });

  it('refuses a path that escapes the workspace without asking', async () => {
    const server = await startTestServer();
    const { events } = await openSession(server, 'ask-escape');
    await send(server, 'ask-escape', '/write ../x y');
    const turn = await events.untilComplete();
    expect(turn.map((e) => e.__typename)).toEqual(['UserMessageEvent', 'ToolStartEvent', 'ToolResultEvent', 'CompleteEvent']);
    expect(turn[2]).toMatchObject({ toolName: 'write_file', isError: true });
    expect((turn[2] as EventOf<'ToolResultEvent'>).result).toMatch(/escapes/);
    expect(turn[3]).toMatchObject({ reason: 'END_TURN' });
    await expect(stat(join(server.dataDir, 'workspaces', 'x'))).rejects.toThrow();
  });
});

describe('permission modes ALLOW_ALL and DENY_ALL', () => {
  it('ALLOW_ALL writes without any permission event', async () => {
    const server = await startTestServer();
    const { session, events } = await openSession(server, 'allow-all', 'ALLOW_ALL');
    expect(session.permissionMode).toBe('ALLOW_ALL');
    await send(server, 'allow-all', '/write notes.txt hello');
    const turn = await events.untilComplete();
    expect(turn.map((e) => e.__typename)).toEqual(['UserMessageEvent', 'ToolStartEvent', 'ToolResultEvent', 'CompleteEvent']);
    expect(turn[2]).toMatchObject({ result: 'wrote 5 bytes to notes.txt', isError: false });
    expect(await readFile(join(server.dataDir, 'workspaces', 'allow-all', 'notes.txt'), 'utf8')).toBe('hello');
  });

  it('DENY_ALL denies without any permission event', async () => {
    const server = await startTestServer();
    const { session, events } = await openSession(server, 'deny-all', 'DENY_ALL');
    expect(session.permissionMode).toBe('DENY_ALL');
    await send(server, 'deny-all', '/write notes.txt hello');
    const turn = await events.untilComplete();
    const types = turn.map((e) => e.__typename);
    expect(types).not.toContain('PermissionRequestEvent');
    expect(types).not.toContain('PermissionResolvedEvent');
    expect(ofType(turn, 'ToolResultEvent')).toEqual([expect.objectContaining({ toolName: 'write_file', isError: true })]);
    expect(ofType(turn, 'TextCompleteEvent').map((e) => e.text)).toEqual(['Permission denied.']);
    expect(turn.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
    await expect(stat(join(server.dataDir, 'workspaces', 'deny-all', 'notes.txt'))).rejects.toThrow();
  });
});
