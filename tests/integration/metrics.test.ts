import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createModelAgent } from '../../src/agents/loop.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { sseClient, subscribeEvents, wsClient, type Event } from '../utils/clients.js';
import { ofType, until } from '../utils/events-of.js';
import { CancelTurnMutation, CreateSessionMutation, RespondToPermissionMutation, SendMessageMutation } from '../utils/operations.js';
import { answer, createScriptedProvider, providerError } from '../utils/scripted-provider.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { waitUntil } from '../utils/wait.js';

/** The contract's families (CONTRACT.md, Operations), each with the type Prometheus is told. */
const FAMILIES = {
  switchboard_subscriptions_active: 'gauge',
  switchboard_events_total: 'counter',
  switchboard_messages_delivered_total: 'counter',
  switchboard_turns_active: 'gauge',
  switchboard_turns_total: 'counter',
  switchboard_turn_duration_seconds: 'histogram',
  switchboard_time_to_first_token_seconds: 'histogram',
  switchboard_permission_requests_pending: 'gauge',
  switchboard_agent_tokens_total: 'counter',
  switchboard_agent_requests_total: 'counter',
} as const;

interface Scrape {
  status: number;
  headers: Headers;
  text: string;
  /** A sample's value by its name and labels as exposed (`name{label="value"}`); 0 when absent. */
  value(sample: string): number;
}

async function scrape(server: TestServer, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(`${server.origin}/metrics`, { headers });
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return { status: res.status, headers: res.headers, text, value: (sample) => samples.get(sample) ?? 0 };
}

async function metric(server: TestServer, sample: string): Promise<number> {
  return (await scrape(server)).value(sample);
}

/** Waits until a sample reads `expected` (gauges settle as sockets close, asynchronously). */
async function settles(server: TestServer, sample: string, expected: number) {
  let last = Number.NaN;
  await waitUntil(async () => (last = await metric(server, sample)) === expected, `${sample} to read ${expected} (last ${last})`);
}

const transports = [
  { name: 'graphql-ws', label: 'ws', client: (server: TestServer) => wsClient(server) },
  { name: 'graphql-sse distinct connections', label: 'sse', client: (server: TestServer) => sseClient(server, 'distinct') },
  { name: 'graphql-sse single connection', label: 'sse', client: (server: TestServer) => sseClient(server, 'single') },
] as const;

describe('GET /metrics', () => {
  it("exposes the contract's families with their labels, and the process metrics, as Prometheus text", async () => {
    const server = await startTestServer();
    const { status, headers, text, value } = await scrape(server);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const [name, type] of Object.entries(FAMILIES)) expect(text).toContain(`# TYPE ${name} ${type}\n`);
    for (const transport of ['ws', 'sse']) {
      expect(text).toContain(`switchboard_subscriptions_active{transport="${transport}"} 0\n`);
      expect(text).toContain(`switchboard_messages_delivered_total{transport="${transport}"} 0\n`);
    }
    for (const reason of ['END_TURN', 'CANCELLED', 'ERROR', 'INTERRUPTED']) expect(text).toContain(`switchboard_turns_total{reason="${reason}"} 0\n`);
    expect(text).toContain('switchboard_events_total{type="TextDeltaEvent"} 0\n');
    expect(text).toContain('switchboard_agent_tokens_total{type="input"} 0\n');
    expect(text).toContain('switchboard_agent_tokens_total{type="output"} 0\n');
    expect(value('switchboard_turn_duration_seconds_count')).toBe(0);
    // prom-client's default process metrics.
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it('counts into its own app: two servers in one process do not add into each other', async () => {
    const one = await startTestServer();
    const other = await startTestServer();
    await one.gql(CreateSessionMutation, { input: { id: 'mine' } });
    const events = subscribeEvents(wsClient(one), 'mine', 0);
    await one.gql(SendMessageMutation, { input: { sessionId: 'mine', text: 'hi' } });
    await events.untilComplete();
    expect(await metric(one, 'switchboard_events_total{type="UserMessageEvent"}')).toBe(1);
    expect(await metric(other, 'switchboard_events_total{type="UserMessageEvent"}')).toBe(0);
    // Each scrape of both carries the process metrics once.
    expect((await scrape(other)).text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
  });

  for (const transport of transports) {
    it(`moves during a turn subscribed over ${transport.name}: subscriptions, deliveries by transport, events, turns, histograms, tokens`, async () => {
      const server = await startTestServer();
      await server.gql(CreateSessionMutation, { input: { id: 'counted' } });
      const events = subscribeEvents(transport.client(server), 'counted', 0);
      await settles(server, `switchboard_subscriptions_active{transport="${transport.label}"}`, 1);

      const before = await scrape(server);
      expect(before.value('switchboard_turns_active')).toBe(0);
      await server.gql(SendMessageMutation, { input: { sessionId: 'counted', text: 'count these words please' } });
      const turn = await events.untilComplete();
      await settles(server, 'switchboard_turns_active', 0);

      const after = await scrape(server);
      const other = transport.label === 'ws' ? 'sse' : 'ws';
      // Every payload this subscriber got, under its transport and no other.
      expect(after.value(`switchboard_messages_delivered_total{transport="${transport.label}"}`)).toBe(turn.length);
      expect(after.value(`switchboard_messages_delivered_total{transport="${other}"}`)).toBe(0);
      expect(after.value(`switchboard_subscriptions_active{transport="${transport.label}"}`)).toBe(1);
      // Every event stored, by its GraphQL type.
      const count = (typename: Event['__typename']) => turn.filter((e) => e.__typename === typename).length;
      for (const typename of ['UserMessageEvent', 'TextDeltaEvent', 'TextCompleteEvent', 'CompleteEvent'] as const) {
        expect(after.value(`switchboard_events_total{type="${typename}"}`), typename).toBe(count(typename));
      }
      expect(after.value('switchboard_turns_total{reason="END_TURN"}')).toBe(1);
      expect(after.value('switchboard_turn_duration_seconds_count')).toBe(1);
      expect(after.value('switchboard_turn_duration_seconds_sum')).toBeGreaterThan(0);
      expect(after.value('switchboard_time_to_first_token_seconds_count')).toBe(1);
      expect(after.value('switchboard_time_to_first_token_seconds_sum')).toBeLessThanOrEqual(after.value('switchboard_turn_duration_seconds_sum'));
      // The demo agent's usage, as its CompleteEvent reports it.
      const [complete] = ofType(turn, 'CompleteEvent');
      expect(complete!.usage!.outputTokens).toBeGreaterThan(0);
      expect(after.value('switchboard_agent_tokens_total{type="input"}')).toBe(complete!.usage!.inputTokens);
      expect(after.value('switchboard_agent_tokens_total{type="output"}')).toBe(complete!.usage!.outputTokens);

      events.unsubscribe();
      await settles(server, `switchboard_subscriptions_active{transport="${transport.label}"}`, 0);
    });
  }

  it('brings subscriptions_active back to 0 when the connection drops, for every transport', async () => {
    const server = await startTestServer();
    await server.gql(CreateSessionMutation, { input: { id: 'dropped' } });
    const clients = transports.map((transport) => transport.client(server));
    for (const client of clients) subscribeEvents(client, 'dropped', 0);
    await settles(server, 'switchboard_subscriptions_active{transport="ws"}', 1);
    await settles(server, 'switchboard_subscriptions_active{transport="sse"}', 2);
    for (const client of clients) await client.dispose();
    await settles(server, 'switchboard_subscriptions_active{transport="ws"}', 0);
    await settles(server, 'switchboard_subscriptions_active{transport="sse"}', 0);
  });

  it('counts turns by reason: ERROR and CANCELLED', async () => {
    const server = await startTestServer();
    await server.gql(CreateSessionMutation, { input: { id: 'reasons' } });
    const events = subscribeEvents(wsClient(server), 'reasons', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'reasons', text: '/fail on purpose' } });
    await events.untilComplete();
    await server.gql(SendMessageMutation, { input: { sessionId: 'reasons', text: '/sleep 60000' } });
    await settles(server, 'switchboard_turns_active', 1);
    await server.gql(CancelTurnMutation, { sessionId: 'reasons' });
    expect(ofType(await events.untilComplete(), 'CompleteEvent')[0]!.reason).toBe('CANCELLED');
    await settles(server, 'switchboard_turns_active', 0);

    const { value } = await scrape(server);
    expect(value('switchboard_turns_total{reason="ERROR"}')).toBe(1);
    expect(value('switchboard_turns_total{reason="CANCELLED"}')).toBe(1);
    expect(value('switchboard_turns_total{reason="END_TURN"}')).toBe(0);
    expect(value('switchboard_events_total{type="ErrorEvent"}')).toBe(1);
    expect(value('switchboard_turn_duration_seconds_count')).toBe(2);
    // /sleep streams no text: only the failing turn had a first token.
    expect(value('switchboard_time_to_first_token_seconds_count')).toBe(1);
  });

  it('shows a pending permission request while the turn waits, and 0 once answered or cancelled', async () => {
    const server = await startTestServer();
    await server.gql(CreateSessionMutation, { input: { id: 'asks', permissionMode: 'ASK' } });
    const events = subscribeEvents(wsClient(server), 'asks', 0);

    await server.gql(SendMessageMutation, { input: { sessionId: 'asks', text: '/write a.txt hello' } });
    const asked = await until(events, 'PermissionRequestEvent');
    expect(await metric(server, 'switchboard_permission_requests_pending')).toBe(1);
    await server.gql(RespondToPermissionMutation, { input: { sessionId: 'asks', requestId: asked.last.request.requestId, allowed: true } });
    await events.untilComplete();
    expect(await metric(server, 'switchboard_permission_requests_pending')).toBe(0);

    await server.gql(SendMessageMutation, { input: { sessionId: 'asks', text: '/write b.txt hello' } });
    await until(events, 'PermissionRequestEvent');
    expect(await metric(server, 'switchboard_permission_requests_pending')).toBe(1);
    await server.gql(CancelTurnMutation, { sessionId: 'asks' });
    await events.untilComplete();
    expect(await metric(server, 'switchboard_permission_requests_pending')).toBe(0);
    const { value } = await scrape(server);
    expect(value('switchboard_events_total{type="PermissionRequestEvent"}')).toBe(2);
    expect(value('switchboard_events_total{type="PermissionResolvedEvent"}')).toBe(2);
  });

  it("counts a model agent's requests by outcome and its tokens", async () => {
    const provider = createScriptedProvider(
      'scripted',
      answer(['Hello ', 'there.'], { inputTokens: 12, outputTokens: 3 }),
      { fail: providerError('auth', 'bad key', { status: 401 }) },
    );
    const server = await startTestServer({ agent: createModelAgent({ provider, models: ['m'], maxRetries: 0 }) });
    await server.gql(CreateSessionMutation, { input: { id: 'model' } });
    const events = subscribeEvents(wsClient(server), 'model', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'model', text: 'hi' } });
    await events.untilComplete();
    await server.gql(SendMessageMutation, { input: { sessionId: 'model', text: 'again' } });
    await events.untilComplete();
    await settles(server, 'switchboard_turns_active', 0);

    const { value } = await scrape(server);
    expect(value('switchboard_agent_requests_total{outcome="ok"}')).toBe(1);
    expect(value('switchboard_agent_requests_total{outcome="PROVIDER_AUTH"}')).toBe(1);
    expect(value('switchboard_agent_tokens_total{type="input"}')).toBe(12);
    expect(value('switchboard_agent_tokens_total{type="output"}')).toBe(3);
    expect(value('switchboard_turns_total{reason="ERROR"}')).toBe(1);
  });
});

describe('METRICS_TOKEN', () => {
  it('answers 401 to a scrape without the bearer token, 200 with it', async () => {
    const server = await startTestServer({ metricsToken: 's3cret-token' });
    const without = await scrape(server);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(without.text).not.toContain('switchboard_');
    for (const authorization of ['Bearer wrong', 'Bearer s3cret-toke', 'Bearer s3cret-token2', 's3cret-token', 'Basic czNjcmV0LXRva2Vu']) {
      expect((await scrape(server, { authorization })).status, authorization).toBe(401);
    }
    const ok = await scrape(server, { authorization: 'Bearer s3cret-token' });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# TYPE switchboard_events_total counter');
    // The health check stays open.
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
  });

  it('is read from the environment; a token that cannot go into a header stops start-up naming it', () => {
    expect(loadConfig({}).metricsToken).toBeNull();
    expect(loadConfig({ METRICS_TOKEN: ' abc-123 ' }).metricsToken).toBe('abc-123');
    expect(() => loadConfig({ METRICS_TOKEN: 'two words' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_TOKEN: 'two words' })).toThrow(/^METRICS_TOKEN /);
  });
});

describe('ops/grafana-dashboard.json', () => {
  it('is a dashboard with a Prometheus data source variable whose every query names metrics the server exposes', async () => {
    const dashboard = JSON.parse(await readFile(new URL('../../ops/grafana-dashboard.json', import.meta.url), 'utf8')) as {
      uid: string;
      title: string;
      templating: { list: Array<{ name: string; type: string; query: unknown }> };
      panels: Array<{ type: string; title: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toBe('Switchboard');
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const server = await startTestServer();
    await server.gql(CreateSessionMutation, { input: { id: 'dash' } });
    const events = subscribeEvents(wsClient(server), 'dash', 0);
    await server.gql(SendMessageMutation, { input: { sessionId: 'dash', text: 'hi' } });
    await events.untilComplete();
    const { text } = await scrape(server);
    const exposed = new Set(text.split('\n').map((line) => /^[a-zA-Z_:][\w:]*/.exec(line)?.[0]).filter(Boolean));
    const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, expr: target.expr })));
    expect(queries.length).toBeGreaterThan(10);
    const named = new Set<string>();
    for (const { panel, expr } of queries) {
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      for (const [name] of expr.matchAll(/\b(?:switchboard|process|nodejs)_\w+/g)) named.add(name);
    }
    for (const name of named) expect(exposed.has(name), name).toBe(true);
    // Every family of the contract is on the dashboard (time to first token and duration as percentiles).
    for (const family of Object.keys(FAMILIES)) {
      expect([...named].some((name) => name === family || name === `${family}_bucket`), family).toBe(true);
    }
    expect(queries.filter(({ expr }) => expr.startsWith('histogram_quantile(')).length).toBeGreaterThanOrEqual(6);
  });
});
