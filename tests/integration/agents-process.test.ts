/**
 * Issue 12's "Done when", as a person would do it: the built server started like
 * `npm start` with only environment variables, pointed at the fake provider server, and a
 * full tool-using turn driven over HTTP and graphql-ws as GraphiQL does (createSession,
 * sessionEvents, sendMessage, respondToPermission). Also: start-up errors, one line naming
 * the variable; the key in nothing the process prints.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from '../fake-provider/server.js';
import { API_KEY, WIRES, type ProviderName } from '../utils/agent-server.js';
import { buildOnce, post, spawnBuiltServer, startBuiltServer } from '../utils/built-server.js';
import { deltaText, subscribeEvents, wsClient } from '../utils/clients.js';
import { ofType } from '../utils/events-of.js';
import { ConfigQuery, CreateSessionMutation, RespondToPermissionMutation, SendMessageMutation, SessionQuery } from '../utils/operations.js';
import { onCleanup } from '../utils/server.js';

beforeAll(() => buildOnce(), 180_000);

async function dataDir() {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-agents-proc-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function fakeProvider(): Promise<FakeProvider> {
  const fake = await startFakeProvider();
  onCleanup(() => fake.close());
  return fake;
}

/** The environment of each recipe, as docs/agents.md gives it, with the fake server's URL. */
const RECIPES: Record<ProviderName, (fake: FakeProvider) => Record<string, string>> = {
  anthropic: (fake) => ({ AGENT: 'anthropic', ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fake.anthropicBaseUrl }),
  openai: (fake) => ({ AGENT: 'openai', OPENAI_BASE_URL: fake.openaiBaseUrl, MODELS: 'llama3.2' }),
};

describe.each(['anthropic', 'openai'] as const)('AGENT=%s npm start: a full tool-using turn from a GraphiQL-like client', (p) => {
  it('createSession, sessionEvents, sendMessage, respondToPermission: the file is written and the answer streams', { timeout: 60_000 }, async () => {
    const fake = await fakeProvider();
    const dir = await dataDir();
    const proc = await startBuiltServer({ ...RECIPES[p](fake), DATA_DIR: dir });
    const wire = WIRES[p];
    const callId = p === 'anthropic' ? 'toolu_01DoneWhen' : 'call_donewhen';
    fake[wire.endpoint].enqueue(
      wire.tools([{ id: callId, name: 'write_file', input: { path: 'hello.md', text: '# Hello\n' } }], { text: 'Writing hello.md.' }),
      wire.text(['I wrote ', 'hello.md.']),
    );

    const { data: config } = await post(proc.url, ConfigQuery, {});
    expect(config!.config.models).toEqual(p === 'anthropic' ? ['claude-sonnet-5', 'claude-opus-5', 'claude-haiku-4-5'] : ['llama3.2']);
    const created = await post(proc.url, CreateSessionMutation, { input: { id: 'demo', permissionMode: 'ASK' } });
    expect(created.errors).toBeUndefined();
    const events = subscribeEvents(wsClient({ wsUrl: proc.wsUrl }), 'demo', 0);
    const sent = await post(proc.url, SendMessageMutation, { input: { sessionId: 'demo', text: 'Write a hello.md' } });
    expect(sent.data!.sendMessage.queued).toBe(false);

    const asked = await events.takeUntil((e) => e.__typename === 'PermissionRequestEvent', 20_000);
    const request = ofType(asked, 'PermissionRequestEvent')[0]!.request;
    expect(request).toMatchObject({ toolName: 'write_file', command: 'write hello.md' });
    const answered = await post(proc.url, RespondToPermissionMutation, { input: { sessionId: 'demo', requestId: request.requestId, allowed: true } });
    expect(answered.errors).toBeUndefined();
    const turn = [...asked, ...(await events.untilComplete(20_000))];

    expect(ofType(turn, 'ToolStartEvent')).toMatchObject([{ toolUseId: callId, toolName: 'write_file', toolInput: { path: 'hello.md', text: '# Hello\n' } }]);
    expect(ofType(turn, 'ToolResultEvent')).toMatchObject([{ toolUseId: callId, result: 'wrote 8 bytes to hello.md', isError: false }]);
    expect(ofType(turn, 'TextCompleteEvent').map((e) => [e.text, e.isIntermediate])).toEqual([
      ['Writing hello.md.', true],
      ['I wrote hello.md.', false],
    ]);
    expect(turn.at(-1)).toMatchObject({ reason: 'END_TURN', usage: { inputTokens: 60, outputTokens: 15 } });
    expect(await readFile(join(dir, 'workspaces', 'demo', 'hello.md'), 'utf8')).toBe('# Hello\n');

    // Two requests, the second with the tool's result; the model is the served default.
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]!.body).toMatchObject({ model: p === 'anthropic' ? 'claude-sonnet-5' : 'llama3.2' });
    expect(fake.requests[1]!.rawBody).toContain('wrote 8 bytes to hello.md');
    expect(proc.output()).not.toContain(API_KEY);
  });
});

describe('the key never leaks from the process', () => {
  it('not in any event, response, or line the server prints, even when the provider echoes it back', { timeout: 60_000 }, async () => {
    const fake = await fakeProvider();
    const proc = await startBuiltServer({ ...RECIPES.anthropic(fake), DATA_DIR: await dataDir() });
    const wire = WIRES.anthropic;
    fake.anthropic.enqueue(
      wire.httpError(401, `invalid x-api-key: ${API_KEY}`),
      wire.errorEventAfter('Hel', `echo ${API_KEY}`),
      wire.httpError(400, `bad request from ${API_KEY}`),
      ...Array.from({ length: 4 }, () => wire.httpError(500, `internal ${API_KEY}`, { 'retry-after': '0' })),
    );
    await post(proc.url, CreateSessionMutation, { input: { id: 'k' } });
    const events = subscribeEvents(wsClient({ wsUrl: proc.wsUrl }), 'k', 0);
    const codes: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      await post(proc.url, SendMessageMutation, { input: { sessionId: 'k', text: `try ${i}` } });
      const turn = await events.untilComplete(20_000);
      codes.push(ofType(turn, 'ErrorEvent')[0]?.code);
      expect(deltaText(turn)).not.toContain(API_KEY);
    }
    expect(codes).toEqual(['PROVIDER_AUTH', 'PROVIDER_ERROR', 'PROVIDER_ERROR', 'PROVIDER_UNAVAILABLE']);
    const session = await post(proc.url, SessionQuery, { id: 'k' });
    const seen = JSON.stringify([events.all, session]);
    expect(seen).toContain('[redacted]');
    expect(seen).not.toContain(API_KEY);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.output()).not.toContain(API_KEY);
  });
});

describe('start-up errors: exit 1 with one line naming the variable', () => {
  it.each([
    ['AGENT=anthropic without a key', { AGENT: 'anthropic' }, 'ANTHROPIC_API_KEY'],
    ['a malformed ANTHROPIC_BASE_URL', { AGENT: 'anthropic', ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: `not a url ${API_KEY}` }, 'ANTHROPIC_BASE_URL'],
    ['an ANTHROPIC_BASE_URL that is not http(s)', { AGENT: 'anthropic', ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: 'ftp://127.0.0.1/' }, 'ANTHROPIC_BASE_URL'],
    ['a malformed OPENAI_BASE_URL', { AGENT: 'openai', OPENAI_BASE_URL: '127.0.0.1:11434/v1' }, 'OPENAI_BASE_URL'],
    ['AGENT=openai against api.openai.com without a key', { AGENT: 'openai' }, 'OPENAI_API_KEY'],
    ['AGENT=bogus', { AGENT: 'bogus' }, 'AGENT'],
    ['a key with a space in it', { AGENT: 'anthropic', ANTHROPIC_API_KEY: `${API_KEY} x` }, 'ANTHROPIC_API_KEY'],
    ['MODELS with a blank id', { AGENT: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', MODELS: 'llama3.2,,qwen' }, 'MODELS'],
    ['AGENT_MAX_STEPS of 0', { AGENT: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', AGENT_MAX_STEPS: '0' }, 'AGENT_MAX_STEPS'],
  ])('%s', { timeout: 30_000 }, async (_, env, variable) => {
    const proc = spawnBuiltServer({ ...env, DATA_DIR: await dataDir() });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^switchboard: ${variable} `));
    expect(proc.output()).not.toContain(API_KEY);
  });
});
