import { describe, expect, it } from 'vitest';
import { createDemoAgent } from '../../src/agents/demo.js';
import type { UpdateConfigInput } from '../gql/graphql.js';
import { subscribe, wsClient } from '../utils/clients.js';
import {
  ConfigChangedSubscription,
  ConfigQuery,
  CreateSessionMutation,
  SessionQuery,
  UpdateConfigMutation,
} from '../utils/operations.js';
import { observedPubSub } from '../utils/observed-pubsub.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { codeOf } from '../utils/events-of.js';

const CONFIG_TOPIC = 'config:local';

/** A server whose agent serves two models, and two graphql-ws clients listening to configChanged. */
async function setUp() {
  const observed = observedPubSub();
  const server = await startTestServer({
    pubsub: observed.pubsub,
    agent: createDemoAgent({ wordsPerSecond: 1000, models: ['demo', 'demo-large'] }),
  });
  const first = subscribe(wsClient(server), ConfigChangedSubscription, {});
  const second = subscribe(wsClient(server), ConfigChangedSubscription, {});
  await observed.listeners(CONFIG_TOPIC, 2);
  return { server, subscribers: [first, second] as const };
}

async function update(server: TestServer, input: UpdateConfigInput) {
  return (await server.gql(UpdateConfigMutation, { input })).updateConfig;
}

describe('config', () => {
  it('has defaults before any update', async () => {
    const server = await startTestServer({ agent: createDemoAgent({ models: ['demo', 'demo-large'] }) });
    const { config } = await server.gql(ConfigQuery, {});
    expect(config).toEqual({ defaultModel: 'demo', models: ['demo', 'demo-large'], permissionMode: 'ASK', theme: null });
    const { createSession } = await server.gql(CreateSessionMutation, {});
    expect(createSession).toMatchObject({ model: 'demo', permissionMode: 'ASK' });
  });

  it('a theme-only update publishes exactly one configChanged{THEME} to every connected client', async () => {
    const { server, subscribers } = await setUp();
    const theme = { mode: 'dark', accent: '#ff8800', sizes: [12, 14] };
    const updated = await update(server, { theme });
    expect(updated).toEqual({ defaultModel: 'demo', models: ['demo', 'demo-large'], permissionMode: 'ASK', theme });

    for (const sub of subscribers) {
      const result = await sub.next();
      expect(result.errors).toBeUndefined();
      expect(result.data!.configChanged).toEqual({ changeType: 'THEME', config: updated });
    }
    await Promise.all(subscribers.map((s) => s.nothingWithin(100)));
    expect((await server.gql(ConfigQuery, {})).config.theme).toEqual(theme);

    // Clearing the theme is a theme change too.
    await update(server, { theme: null });
    for (const sub of subscribers) {
      expect((await sub.next()).data!.configChanged).toMatchObject({ changeType: 'THEME', config: { theme: null } });
    }
    await Promise.all(subscribers.map((s) => s.nothingWithin(100)));
  });

  it('a defaultModel or permissionMode change publishes one configChanged{CONFIG}; new sessions take the new defaults', async () => {
    const { server, subscribers } = await setUp();
    const before = await server.gql(CreateSessionMutation, { input: { id: 'before' } });
    expect(before.createSession).toMatchObject({ model: 'demo', permissionMode: 'ASK' });

    await update(server, { defaultModel: 'demo-large' });
    for (const sub of subscribers) {
      expect((await sub.next()).data!.configChanged).toEqual({
        changeType: 'CONFIG',
        config: { defaultModel: 'demo-large', models: ['demo', 'demo-large'], permissionMode: 'ASK', theme: null },
      });
    }
    await Promise.all(subscribers.map((s) => s.nothingWithin(100)));

    await update(server, { permissionMode: 'ALLOW_ALL' });
    for (const sub of subscribers) {
      expect((await sub.next()).data!.configChanged).toMatchObject({
        changeType: 'CONFIG',
        config: { defaultModel: 'demo-large', permissionMode: 'ALLOW_ALL' },
      });
    }
    await Promise.all(subscribers.map((s) => s.nothingWithin(100)));

    // A change of mode and theme together is one CONFIG, not one of each.
    await update(server, { permissionMode: 'DENY_ALL', theme: { mode: 'light' } });
    for (const sub of subscribers) {
      expect((await sub.next()).data!.configChanged).toMatchObject({
        changeType: 'CONFIG',
        config: { permissionMode: 'DENY_ALL', theme: { mode: 'light' } },
      });
    }
    await Promise.all(subscribers.map((s) => s.nothingWithin(100)));

    const { config } = await server.gql(ConfigQuery, {});
    expect(config).toMatchObject({ defaultModel: 'demo-large', permissionMode: 'DENY_ALL', theme: { mode: 'light' } });
    const after = await server.gql(CreateSessionMutation, { input: { id: 'after' } });
    expect(after.createSession).toMatchObject({ model: 'demo-large', permissionMode: 'DENY_ALL' });
    // Explicit values still win over the defaults, and earlier sessions keep theirs.
    const explicit = await server.gql(CreateSessionMutation, { input: { model: 'demo', permissionMode: 'ASK' } });
    expect(explicit.createSession).toMatchObject({ model: 'demo', permissionMode: 'ASK' });
    expect((await server.gql(SessionQuery, { id: 'before' })).session).toMatchObject({ model: 'demo', permissionMode: 'ASK' });
  });

  it('rejects an unknown defaultModel with BAD_USER_INPUT, changing and publishing nothing', async () => {
    const { server, subscribers } = await setUp();
    const result = await server.request(UpdateConfigMutation, { input: { defaultModel: 'gpt-nope', theme: { x: 1 } } });
    expect(codeOf(result)).toBe('BAD_USER_INPUT');
    expect((await server.gql(ConfigQuery, {})).config).toEqual({
      defaultModel: 'demo',
      models: ['demo', 'demo-large'],
      permissionMode: 'ASK',
      theme: null,
    });
    await Promise.all(subscribers.map((s) => s.nothingWithin(100)));
  });
});
