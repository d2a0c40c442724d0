import { mkdtemp } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { subscribeEvents, wsClient } from '../utils/clients.js';
import { startServerProcess, spawnServer } from '../utils/process.js';
import { onCleanup } from '../utils/server.js';

const dataDir = () => mkdtemp(join(tmpdir(), 'switchboard-proc-'));

async function post(url: string, query: string) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return res.json() as Promise<{ data?: Record<string, unknown>; errors?: unknown[] }>;
}

describe('the server process', () => {
  it('serves, then on SIGTERM ends the running turn INTERRUPTED, completes subscriptions and exits 0', async () => {
    const proc = await startServerProcess({ DATA_DIR: await dataDir() });
    const origin = new URL(proc.url).origin;
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);

    await post(proc.url, 'mutation { createSession(input: { id: "s" }) { id } }');
    const events = subscribeEvents(wsClient({ wsUrl: proc.url.replace('http', 'ws') }), 's', 0);
    await post(proc.url, 'mutation { sendMessage(input: { sessionId: "s", text: "/stream 100000 50" }) { turnId } }');
    await events.takeUntil((e) => e.__typename === 'TextDeltaEvent');

    proc.child.kill('SIGTERM');
    const rest = await events.untilComplete(10_000);
    expect(rest.at(-1)).toMatchObject({ __typename: 'CompleteEvent', reason: 'INTERRUPTED' });
    await events.done(10_000);
    expect(await proc.exited).toBe(0);
  });

  it('refuses a bad configuration value with one line naming the variable', async () => {
    const proc = spawnServer({ COALESCE_WINDOW_MS: 'soon' });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^switchboard: COALESCE_WINDOW_MS /);
  });

  it('refuses to serve everyone unauthenticated on a non-loopback HOST', async () => {
    const proc = spawnServer({ HOST: '0.0.0.0' });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/HOST="?0\.0\.0\.0"?.*AUTH_SECRET/);
  });

  it('says the port is in use, in one log line, when it is', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise((resolve) => taken.close(resolve)));
    const proc = spawnServer({ DATA_DIR: await dataDir(), PORT: String((taken.address() as AddressInfo).port) });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, msg: 'the port is in use (set PORT to another one)' });
  });
});
