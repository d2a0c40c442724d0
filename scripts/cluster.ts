/**
 * `npm run cluster`: two Switchboard instances on ports 4001 and 4002 sharing PostgreSQL and
 * Redis, as a load balancer would see them. Ctrl-C stops both (each ends its turns
 * INTERRUPTED and hands its sessions over).
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/switchboard, created if missing)
 * and REDIS_URL (default redis://127.0.0.1:6379) can be set to use other servers. Both share
 * DATA_DIR (default ./data/cluster): the agents' workspaces must be the same on every instance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/switchboard';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ports = [4001, 4002];

async function ensureDatabase(url: string) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      console.log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

await ensureDatabase(databaseUrl);
const children: ChildProcess[] = ports.map((port) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, DATA_DIR: process.env.DATA_DIR ?? "./data/cluster" },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().trimEnd().split('\n')) console.log(`[${port}] ${line}`);
    });
  }
  child.on('exit', (code) => {
    console.log(`[${port}] exited (${code})`);
    // One instance gone: stop the other too, so the script never leaves a half cluster.
    for (const other of children) if (other !== child && other.exitCode === null) other.kill('SIGTERM');
  });
  return child;
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  });
}
