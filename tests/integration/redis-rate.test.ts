import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { SignJWT } from 'jose';
import { expect, it } from 'vitest';
import { createRedisRate } from '../../src/sessions/redis-rate.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { startServerProcess } from '../utils/process.js';
import { REDIS_URL, requireRedis, requireRedisServer, startRedis } from '../utils/redis.js';
import { startTestServer, type TestServer } from '../utils/server.js';
import { describeWithService, requireService } from '../utils/services.js';

/**
 * SEND_MESSAGES_PER_MINUTE with REDIS_URL: one budget for all instances together, on the real
 * Redis of this machine (a key prefix per test); each instance's own while Redis is away.
 */
const [redis, redisServer] = await Promise.all([requireRedis(), requireRedisServer()]);
const services = await requireService('Redis and redis-server', redis.available && redisServer.available, [redis.reason, redisServer.reason].filter(Boolean).join('; '));

const codeOf = (result: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) => result.errors?.[0]?.extensions?.code;

/** Sends `count` messages through each server in turn; how many each took. */
async function sendAlternately(servers: TestServer[], count: number): Promise<number[]> {
  const taken = servers.map(() => 0);
  for (let i = 0; i < count; i++) {
    for (const [n, server] of servers.entries()) {
      const result = await server.request(SendMessageMutation, { input: { sessionId: 's', text: '/sleep 60000' } });
      if (codeOf(result) === undefined) taken[n]!++;
      else expect(codeOf(result)).toBe('RATE_LIMITED');
    }
  }
  return taken;
}

describeWithService(services, 'the sendMessage rate shared through Redis', () => {
  it('is one budget for two instances together, refilling as one', async () => {
    let now = Date.parse('2026-12-05T00:00:00Z');
    const keyPrefix = `test:rate:${randomUUID()}:`;
    const instance = async () => {
      const server = await startTestServer({
        limits: { sendMessagesPerMinute: 5 },
        sendRate: createRedisRate({ url: REDIS_URL, capacity: 5, keyPrefix, now: () => now }),
      });
      await server.gql(CreateSessionMutation, { input: { id: 's' } });
      return server;
    };
    const servers = [await instance(), await instance()];
    const taken = await sendAlternately(servers, 5);
    expect(taken[0]! + taken[1]!).toBe(5); // not 5 each
    expect(taken.every((n) => n >= 2)).toBe(true); // both drew on it

    now += 12_000; // a fifth of a minute: one message's worth, for both together
    const more = await sendAlternately(servers, 2);
    expect(more[0]! + more[1]!).toBe(1);
  });

  it('falls back to each instance counting its own while Redis is away, reported once, and shares again when it is back', async () => {
    const own = await startRedis();
    const errors: unknown[] = [];
    const keyPrefix = `test:rate:${randomUUID()}:`;
    const instance = async () => {
      const server = await startTestServer({
        limits: { sendMessagesPerMinute: 2 },
        sendRate: createRedisRate({ url: own.url, capacity: 2, keyPrefix, now: () => 0, timeoutMs: 500, onError: (e) => errors.push(e) }),
      });
      await server.gql(CreateSessionMutation, { input: { id: 's' } });
      return server;
    };
    const servers = [await instance(), await instance()];
    expect(await sendAlternately(servers, 2)).toSatisfy((taken: number[]) => taken[0]! + taken[1]! === 2);
    expect(errors).toEqual([]);

    await own.stop();
    // Nothing is refused for Redis' sake: each instance gives its own two, and no more.
    expect(await sendAlternately(servers, 3)).toEqual([2, 2]);
    // Once per instance for the outage, however many calls met it.
    expect(errors).toHaveLength(2);
    for (const error of errors) expect(String(error)).toMatch(/each instance counts its own/);

    await own.restart(); // back, and empty: a fresh shared budget of two
    let taken: number[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      // ioredis reconnects on its own schedule; until then the instances still count alone.
      const probe = await servers[0]!.request(SendMessageMutation, { input: { sessionId: 's', text: '/sleep 60000' } });
      if (codeOf(probe) === undefined) {
        taken = [1, 0];
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(taken).toEqual([1, 0]);
    const rest = await sendAlternately(servers, 2);
    expect(rest[0]! + rest[1]!).toBe(1);
  });

  it('holds across two server processes started with REDIS_URL', async () => {
    const secret = 'redis-rate-secret';
    const sub = `user-${randomUUID()}`;
    const bearer = `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).sign(new TextEncoder().encode(secret))}`;
    const env = async () => ({
      DATA_DIR: await mkdtemp(join(tmpdir(), 'switchboard-rate-')),
      REDIS_URL,
      AUTH_SECRET: secret,
      SEND_MESSAGES_PER_MINUTE: '4',
    });
    const procs = await Promise.all([startServerProcess(await env()), startServerProcess(await env())]);
    const post = async (url: string, document: unknown, variables: unknown) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: bearer },
        body: JSON.stringify({ query: print(document as never), variables }),
      });
      return (await res.json()) as { errors?: Array<{ extensions?: Record<string, unknown> }> };
    };
    for (const proc of procs) expect((await post(proc.url, CreateSessionMutation, { input: { id: 's' } })).errors).toBeUndefined();
    let taken = 0;
    for (let i = 0; i < 6; i++) {
      for (const proc of procs) {
        const result = await post(proc.url, SendMessageMutation, { input: { sessionId: 's', text: '/sleep 60000' } });
        if (codeOf(result) === undefined) taken++;
        else expect(codeOf(result)).toBe('RATE_LIMITED');
      }
    }
    // Four a minute for both together (five if a slow machine let a quarter minute pass), not four each.
    expect(taken).toBeGreaterThanOrEqual(4);
    expect(taken).toBeLessThanOrEqual(5);
  }, 60_000);
});
