import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/types.js';
import { errorSink } from '../../src/observability/error-sink.js';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { captureLogs, LEVEL, parseLines, type LogLine } from '../utils/log-lines.js';
import { createManualClock } from '../utils/manual-clock.js';
import { CreateSessionMutation, SendMessageMutation, SessionsQuery } from '../utils/operations.js';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../utils/postgres.js';
import { spawnServer, startServerProcess, type ServerProcess } from '../utils/process.js';
import { startTestServer } from '../utils/server.js';
import { describeWithService } from '../utils/services.js';
import { waitUntil } from '../utils/wait.js';

const dataDir = () => mkdtemp(join(tmpdir(), 'switchboard-logs-'));

// Distinctive strings: a message's text, and a tool's input (the path and the text written).
const MESSAGE_TEXT = 'marmalade-7431 is what I said';
const TOOL_PATH = 'quince-5512.txt';
const TOOL_TEXT = 'persimmon-9034';

async function post(url: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const result = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!;
}

const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { turnId } }';

/**
 * Against a running server process: a session watched over graphql-ws, a plain message and a
 * tool call (`/write`), each to its end; then SIGTERM and the exit. Returns the turns' ids.
 */
async function runTurnsAndStop(proc: Pick<ServerProcess, 'url' | 'child' | 'exited'>): Promise<string[]> {
  await post(proc.url, 'mutation { createSession(input: { id: "s", permissionMode: ALLOW_ALL }) { id } }');
  const events = subscribeEvents(wsClient({ wsUrl: proc.url.replace('http', 'ws') }), 's', 0);
  const turnIds: string[] = [];
  const turns = [];
  for (const text of [MESSAGE_TEXT, `/write ${TOOL_PATH} ${TOOL_TEXT}`]) {
    const { sendMessage } = await post(proc.url, SEND, { input: { sessionId: 's', text } });
    turnIds.push(sendMessage.turnId);
    turns.push(await events.untilComplete(10_000));
    expect(turns.at(-1)!.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'END_TURN' });
  }
  // The tool ran with that input (so a log line could have quoted it).
  expect(JSON.stringify(turns[1])).toContain(TOOL_TEXT);
  expect(turns[1]!.map((e) => e.__typename)).toContain('ToolResultEvent');
  proc.child.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
  return turnIds;
}

/** A port free a moment ago (for a server that prints nothing to say where it listens). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('the server process logs', () => {
  it('JSON lines on stdout only: start, each turn\'s end with its ids, reason, duration and tokens, and stop; no message text or tool input', async () => {
    const proc = await startServerProcess({ DATA_DIR: await dataDir(), LOG_LEVEL: 'info' });
    const turnIds = await runTurnsAndStop(proc);

    expect(proc.output()).toBe(proc.stdout()); // nothing on stderr
    const lines = parseLines(proc.stdout()); // throws on a line that is not JSON
    expect(lines.every((line) => line.level >= LEVEL.info)).toBe(true);
    const start = lines.find((line) => line.msg?.startsWith('Switchboard listening on '));
    expect(start).toMatchObject({ level: LEVEL.info, url: proc.url, port: Number(new URL(proc.url).port) });

    const ends = lines.filter((line) => line.msg === 'turn ended');
    expect(ends).toHaveLength(2);
    ends.forEach((end, i) => {
      expect(end).toMatchObject({ level: LEVEL.info, sessionId: 's', turnId: turnIds[i], reason: 'END_TURN' });
      expect(end.durationMs).toEqual(expect.any(Number));
      expect(end.inputTokens).toEqual(expect.any(Number));
      expect(end.outputTokens).toEqual(expect.any(Number));
    });
    // The demo agent counts the message's words as its input tokens.
    expect(ends[0]!.inputTokens).toBe(MESSAGE_TEXT.split(' ').length);

    expect(lines.find((line) => line.msg === 'stopping')).toMatchObject({ level: LEVEL.info, signal: 'SIGTERM' });
    expect(lines.at(-1)).toMatchObject({ level: LEVEL.info, msg: 'stopped', signal: 'SIGTERM', durationMs: expect.any(Number) });

    for (const secret of ['marmalade-7431', TOOL_PATH, TOOL_TEXT]) expect(proc.output()).not.toContain(secret);
  }, 60_000);

  it('LOG_LEVEL=debug shows more: each turn\'s start and each graphql-ws connection with its ids', async () => {
    const proc = await startServerProcess({ DATA_DIR: await dataDir(), LOG_LEVEL: 'debug' });
    const turnIds = await runTurnsAndStop(proc);
    const lines = parseLines(proc.stdout());
    const debug = lines.filter((line) => line.level === LEVEL.debug);
    expect(debug.filter((line) => line.msg === 'turn started').map((line) => line.turnId)).toEqual(turnIds);
    const opened = debug.find((line) => line.msg === 'connection opened') as LogLine;
    expect(opened).toMatchObject({ userId: 'local', connectionId: expect.stringMatching(/^[0-9a-f]{8}$/) });
    // The connection's other lines carry the same ids.
    const ofConnection = debug.filter((line) => line.connectionId === opened.connectionId).map((line) => line.msg);
    expect(ofConnection).toEqual(['connection opened', 'operation started', 'connection closed']);
    expect(lines.filter((line) => line.msg === 'turn ended')).toHaveLength(2);
  }, 60_000);

  it('a turn cut by SIGTERM is logged INTERRUPTED; one cut by SIGKILL when the next start ends it', async () => {
    const dir = await dataDir();
    const cut = async (signal: 'SIGTERM' | 'SIGKILL') => {
      const proc = await startServerProcess({ DATA_DIR: dir });
      const events = subscribeEvents(wsClient({ wsUrl: proc.url.replace('http', 'ws') }), 's', null);
      const { sendMessage } = await post(proc.url, SEND, { input: { sessionId: 's', text: '/stream 100000 50' } });
      await events.takeUntil((e) => e.__typename === 'TextDeltaEvent', 10_000);
      proc.child.kill(signal);
      await proc.exited;
      return { proc, turnId: sendMessage.turnId as string };
    };
    const first = await startServerProcess({ DATA_DIR: dir });
    await post(first.url, 'mutation { createSession(input: { id: "s" }) { id } }');
    first.child.kill('SIGTERM');
    await first.exited;

    const stopped = await cut('SIGTERM');
    expect(parseLines(stopped.proc.stdout()).find((line) => line.msg === 'turn ended')).toMatchObject({
      sessionId: 's',
      turnId: stopped.turnId,
      reason: 'INTERRUPTED',
      durationMs: expect.any(Number),
    });
    const killed = await cut('SIGKILL');
    expect(parseLines(killed.proc.stdout()).filter((line) => line.msg === 'turn ended')).toEqual([]);
    const next = await startServerProcess({ DATA_DIR: dir });
    await waitUntil(() => next.stdout().includes('turn ended'), 'the recovered turn\'s end line');
    expect(parseLines(next.stdout()).find((line) => line.msg === 'turn ended')).toMatchObject({
      level: LEVEL.info,
      sessionId: 's',
      turnId: killed.turnId,
      reason: 'INTERRUPTED',
      recovered: true,
    });
  }, 90_000);

  it('LOG_LEVEL=silent writes nothing at all', async () => {
    const port = await freePort();
    const proc = spawnServer({ DATA_DIR: await dataDir(), LOG_LEVEL: 'silent', PORT: String(port) });
    const url = `http://127.0.0.1:${port}/graphql`;
    await waitUntil(
      () => fetch(`http://127.0.0.1:${port}/healthz`).then((res) => res.ok, () => false),
      'the silent server to answer',
      20_000,
      100,
    );
    await runTurnsAndStop({ ...proc, url });
    expect(proc.output()).toBe('');
  }, 60_000);

  it('a bad LOG_LEVEL refuses start-up with one line naming it', async () => {
    const proc = spawnServer({ LOG_LEVEL: 'verbose' });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^switchboard: LOG_LEVEL must be one of .*"debug".*, got "verbose"\.$/);
  });
});

describe('errors in the log (a server given a logger, no onError)', () => {
  it('an internal error is one line at error with its stack; its repeats are one more line with the count', async () => {
    const logs = captureLogs('info');
    const clock = createManualClock(Date.now());
    const server = await startTestServer({ clock, logger: logs.logger, onError: undefined });
    // The store going away makes every query fail the same way, as a database outage would.
    await server.app.store.close();
    for (let i = 0; i < 300; i++) {
      const result = await server.request(SessionsQuery, { limit: 10 });
      expect(result.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    }
    const errors = () => logs.lines().filter((line) => line.level >= LEVEL.error);
    expect(errors()).toHaveLength(1);
    const [first] = errors() as [LogLine & { err: { type: string; message: string; stack: string } }];
    expect(first.err.stack).toContain(first.err.message);
    expect(first.err.stack).toMatch(/\n\s+at /);
    expect(first).not.toHaveProperty('repeated');
    clock.advance(1000);
    expect(errors()).toHaveLength(2);
    expect(errors()[1]).toMatchObject({ level: LEVEL.error, repeated: 299, windowMs: 1000, err: { type: first.err.type, message: first.err.message } });
  });

  it('an agent that crashes: its error once with its stack, and the turn\'s end at info with reason ERROR and no text', async () => {
    const logs = captureLogs('info');
    const agent: Agent = {
      models: ['crashing'],
      chat: async function* () {
        throw new TypeError('cannot read properties of undefined (reading "choices")');
      },
    };
    const server = await startTestServer({ agent, logger: logs.logger, onError: undefined });
    await server.gql(CreateSessionMutation, { input: { id: 'c' } });
    const events = subscribeEvents(wsClient(server), 'c', 0);
    const { sendMessage } = await server.gql(SendMessageMutation, { input: { sessionId: 'c', text: MESSAGE_TEXT } });
    expect((await events.untilComplete()).at(-1)).toMatchObject({ reason: 'ERROR' });
    await waitUntil(() => logs.lines().some((line) => line.msg === 'turn ended'), 'the turn\'s end line');
    const lines = logs.lines();
    const errors = lines.filter((line) => line.level === LEVEL.error);
    expect(errors).toEqual([
      expect.objectContaining({ err: expect.objectContaining({ type: 'TypeError', stack: expect.stringContaining('logs.test.ts') }) }),
    ]);
    expect(lines.find((line) => line.msg === 'turn ended')).toMatchObject({
      level: LEVEL.info,
      sessionId: 'c',
      turnId: sendMessage.turnId,
      reason: 'ERROR',
      durationMs: expect.any(Number),
    });
    expect(logs.text()).not.toContain('marmalade');
  });
});

const postgres = await requirePostgres();

describeWithService(postgres, 'errors in the log: PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('a database error quoting the value that failed (detail, where) is logged without the quote', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    let error: unknown;
    try {
      // What a store's parameterized write of a user's text into a jsonb column can meet.
      await client.query('SELECT $1::jsonb', [`{"text": ${MESSAGE_TEXT}}`]);
    } catch (caught) {
      error = caught;
    } finally {
      await client.end();
    }
    expect(JSON.stringify({ ...(error as object) })).toContain('marmalade'); // what is at stake
    const logs = captureLogs('info');
    errorSink(logs.logger)(error);
    expect(logs.lines()).toEqual([
      expect.objectContaining({ level: LEVEL.error, err: expect.objectContaining({ code: '22P02', stack: expect.any(String) }) }),
    ]);
    expect(logs.text()).not.toContain('marmalade');
  });
});
