import { createServer, connect, type Server, type Socket } from 'node:net';
import { onCleanup } from './server.js';

export interface TcpProxy {
  /** The proxy's own port on 127.0.0.1. */
  port: number;
  /** Drops every open connection and refuses new ones: the server behind "goes away". */
  cut(): void;
  /** Accepts and forwards connections again. */
  restore(): void;
  /**
   * Stops forwarding in both directions without closing anything: packets stop, as on a
   * frozen link or VM. What arrives meanwhile is held, in order; new connections are accepted
   * but hear nothing. Neither side sees an error.
   */
  stall(): void;
  /** Forwards what was held during the stall, in order, and carries on as before. */
  resume(): void;
  /**
   * Stalls (as `stall`) the moment a chunk from the client contains `pattern`, that chunk
   * held too: to stall between two writes of the code under test. Resolves when it has.
   */
  stallAt(pattern: string): Promise<void>;
}

/**
 * A loopback TCP proxy in front of a real server, so a test can take that server away from
 * the code under test (and give it back), or stall the link, without stopping it for anyone else.
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  /** While stalled: what to forward on resume, in arrival order (both directions). */
  let held: Array<() => void> | null = null;
  let trigger: { pattern: string; fired: () => void } | null = null;
  const forward = (from: Socket, to: Socket, fromClient: boolean) => {
    const send = (chunk: Buffer) => (to.destroyed ? undefined : to.write(chunk));
    from.on('data', (chunk: Buffer) => {
      if (fromClient && trigger && !held && chunk.includes(trigger.pattern)) {
        held = [];
        trigger.fired();
        trigger = null;
      }
      if (held) held.push(() => send(chunk));
      else send(chunk);
    });
    from.on('end', () => (held ? held.push(() => to.end()) : to.end()));
  };
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
    forward(client, upstream, true);
    forward(upstream, client, false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const cut = () => {
    open = false;
    held = null;
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
    stall: () => {
      held ??= [];
    },
    stallAt: (pattern) => new Promise<void>((resolve) => (trigger = { pattern, fired: resolve })),
    resume: () => {
      const pending = held ?? [];
      held = null;
      for (const send of pending) send();
    },
  };
}
