import type { WebSocket, WebSocketServer } from 'ws';

/**
 * WebSocket keep-alive: a ping to every socket each interval; one that has not answered the
 * previous ping is gone (a dead peer, a dropped NAT mapping) and is terminated, so its
 * subscriptions end instead of lingering. Returns a function that stops it.
 */
export function keepAlive(wss: WebSocketServer, intervalMs: number): () => void {
  const alive = new WeakMap<WebSocket, boolean>();
  wss.on('connection', (socket) => {
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
  });
  const timer = setInterval(() => {
    for (const socket of wss.clients) {
      if (alive.get(socket) === false) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
