import { createServer, connect, type Server, type Socket } from 'node:net';
import { onCleanup } from './server.js';

export interface TcpProxy {
  /** The proxy's own port on 127.0.0.1. */
  port: number;
  /** Drops every open connection and refuses new ones: the server behind "goes away". */
  cut(): void;
  /** Accepts and forwards connections again. */
  restore(): void;
}

/**
 * A loopback TCP proxy in front of a real server, so a test can take that server away from
 * the code under test (and give it back) without stopping it for anyone else.
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect({ host: targetHost, port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const cut = () => {
    open = false;
    for (const s of sockets) s.destroy();
  };
  onCleanup(async () => {
    cut();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port,
    cut,
    restore: () => {
      open = true;
    },
  };
}
