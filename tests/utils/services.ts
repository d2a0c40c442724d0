import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import { describe, it } from 'vitest';

/**
 * Whether this run is CI. In CI a missing dependency is a broken machine, not a reason to
 * skip: a suite that silently skips there would report green while testing nothing.
 */
export const isCI = process.env.CI === 'true';

export interface ServiceRequirement {
  /** What the suite needs, e.g. `PostgreSQL at 127.0.0.1:5432`. */
  readonly name: string;
  readonly available: boolean;
  /** Skip the suite: the service is missing and this is not CI. */
  readonly skip: boolean;
  /** Why it is missing, with how to provide it; empty when available. */
  readonly reason: string;
}

/**
 * Checks what a suite depends on. Outside CI a missing service skips the suite with one line
 * on stderr; in CI (`CI=true`) it does not skip, and `describeWithService` fails instead.
 *
 * @example
 * const pg = await requireService('PostgreSQL', tcpReachable('127.0.0.1', 5432), 'nothing answers on 127.0.0.1:5432');
 * describeWithService(pg, 'PostgreSQL store', () => { ... });
 */
export async function requireService(
  name: string,
  available: boolean | Promise<boolean>,
  reason: string,
): Promise<ServiceRequirement> {
  const ok = await Promise.resolve(available).catch(() => false);
  const requirement = { name, available: ok, skip: !ok && !isCI, reason: ok ? '' : reason };
  if (requirement.skip) process.stderr.write(`[skip] ${name} unavailable: ${reason} (CI=true makes this a failure)\n`);
  return requirement;
}

/** One requirement for a suite that needs all of `requirements` (each checked on its own first). */
export async function requireAll(name: string, ...requirements: Promise<ServiceRequirement>[]): Promise<ServiceRequirement> {
  const all = await Promise.all(requirements);
  return requireService(
    name,
    all.every((r) => r.available),
    all.map((r) => r.reason).filter(Boolean).join('; '),
  );
}

/**
 * `describe` for a suite that needs a service: runs it when the service is there, skips it
 * outside CI when it is not, and in CI replaces it with one failing test that gives the reason.
 */
export function describeWithService(requirement: ServiceRequirement, title: string, suite: () => void) {
  if (requirement.available) return describe(title, suite);
  if (requirement.skip) return describe.skip(`${title} (needs ${requirement.name})`, suite);
  return describe(title, () => {
    it(`needs ${requirement.name}`, () => {
      throw new Error(`${requirement.name} unavailable in CI: ${requirement.reason}`);
    });
  });
}

/** Resolves true when something accepts a TCP connection at host:port within `timeoutMs`. */
export function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** Resolves true when `path` exists and this process may execute it. */
export function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}
