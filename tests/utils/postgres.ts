import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { requireService, tcpReachable, type ServiceRequirement } from './services.js';

/**
 * The PostgreSQL server tests use: trust auth on loopback, as on a developer machine or a CI
 * service container. Each suite works in a database of its own (createTestDatabase), so
 * parallel runs and leftovers of earlier ones never meet.
 */
export const POSTGRES_HOST = '127.0.0.1';
export const POSTGRES_PORT = 5432;
const serverUrl = `postgres://postgres@${POSTGRES_HOST}:${POSTGRES_PORT}`;

/** Skips (outside CI) or fails (in CI) the suites that need PostgreSQL when nothing answers. */
export function requirePostgres(): Promise<ServiceRequirement> {
  return requireService(
    `PostgreSQL at ${POSTGRES_HOST}:${POSTGRES_PORT}`,
    tcpReachable(POSTGRES_HOST, POSTGRES_PORT),
    `nothing answers on ${POSTGRES_HOST}:${POSTGRES_PORT}; start a server that trusts user postgres on loopback`,
  );
}

export interface TestDatabase {
  name: string;
  /** Connection string for the store under test. */
  url: string;
  /** Drops the database, ending whatever connections are still open to it. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database with a unique name. Several stores (instances) may connect to
 * the same `url`; call `drop()` in afterAll once they are closed (it ends any that are not).
 *
 * @example
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase(); });
 * afterAll(() => db.drop());
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `switchboard_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  let dropped = false;
  return {
    name,
    url: `${serverUrl}/${name}`,
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Runs one statement on the maintenance database (CREATE/DROP DATABASE cannot run in the target). */
async function admin(sql: string) {
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres`, connectionTimeoutMillis: 5000 });
  client.on('error', () => {}); // the failing query reports it
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
