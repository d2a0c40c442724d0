/**
 * Baseline (b) of issue 6: the practical limit of Node on this machine, in a process of its own:
 *
 *   node --import tsx bench/baselines/raw-ws.ts [--port 0]
 *
 * A raw `ws` server speaking just enough of graphql-transport-ws for `bench/load.ts`'s
 * graphql-ws clients: `connection_init` → `connection_ack`, `ping` → `pong`, `subscribe` to
 * `sessionEvents(sessionId)` → `next` messages, `complete` from either side. No GraphQL
 * execution: the query is not parsed, every event is sent with all the fields the bench
 * selects (`__typename`, `seq`, `turnId`, `at`, and `delta` / `text` / `reason`). Each event
 * is serialized ONCE (`JSON.stringify` of `{data: {sessionEvents: event}}`); what differs per
 * subscriber is only the operation id, so the message is `prefix + body + '}'` with the prefix
 * `{"id":"<id>","type":"next","payload":` made once per subscription.
 *
 * HTTP: `POST /graphql` answers the two mutations `load.ts` sends (`createSession`,
 * `sendMessage`), recognized by name, not parsed. Same fake model as the other baseline
 * (`./common.ts`), one message per token. Live only, like naive-yoga (`after` is ignored).
 * Prints `raw-ws listening on <url>`; IPC as `bench/server.ts`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkHost, createSession, getSession, listenAsBaseline, startTurn, type BaselineEvent } from './common.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    /** Join deltas in windows of this many ms as Switchboard does (0: one message per token). */
    'coalesce-ms': { type: 'string', default: '0' },
  },
});
const coalesceMs = Number(values['coalesce-ms']);
checkHost(values.host);

interface Subscription {
  socket: WebSocket;
  id: string;
  /** `{"id":"<id>","type":"next","payload":` */
  prefix: string;
  sessionId: string;
}

/** Subscribers per session. */
const subscribers = new Map<string, Set<Subscription>>();

function publish(sessionId: string, event: BaselineEvent): void {
  const subs = subscribers.get(sessionId);
  if (!subs || subs.size === 0) return;
  // Serialized once per event; the same body goes to every subscriber.
  const body = `${JSON.stringify({ data: { sessionEvents: event } })}}`;
  for (const sub of subs) sub.socket.send(sub.prefix + body);
}

// --- HTTP: the two mutations load.ts sends ---

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || !req.url?.startsWith('/graphql')) return json(res, 404, { errors: [{ message: 'POST /graphql only' }] });
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let request: { query?: string; variables?: { input?: { id?: string; sessionId?: string; text?: string } } };
  try {
    request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return json(res, 400, { errors: [{ message: 'invalid JSON' }] });
  }
  const query = request.query ?? '';
  const input = request.variables?.input ?? {};
  try {
    if (/\bcreateSession\b/.test(query)) return json(res, 200, { data: { createSession: { id: createSession(input.id).id } } });
    if (/\bsendMessage\b/.test(query)) {
      const session = getSession(String(input.sessionId));
      const turnId = startTurn(session, String(input.text ?? ''), (event) => publish(session.id, event), { coalesceMs });
      return json(res, 200, { data: { sendMessage: { turnId, queued: false } } });
    }
  } catch (error) {
    return json(res, 200, { errors: [{ message: error instanceof Error ? error.message : String(error) }] });
  }
  return json(res, 400, { errors: [{ message: 'raw-ws knows createSession and sendMessage only' }] });
}

const httpServer = createServer((req, res) => {
  handleHttp(req, res).catch((error) => {
    if (!res.headersSent) json(res, 500, { errors: [{ message: String(error) }] });
  });
});

// --- WebSocket: graphql-transport-ws, the minimum ---

const PROTOCOL = 'graphql-transport-ws';
const wsServer = new WebSocketServer({
  server: httpServer,
  path: '/graphql',
  handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
});

wsServer.on('connection', (socket) => {
  if (socket.protocol !== PROTOCOL) return socket.close(4406, 'Subprotocol not acceptable');
  let acknowledged = false;
  const mine = new Map<string, Subscription>();
  const unsubscribe = (sub: Subscription) => {
    mine.delete(sub.id);
    const set = subscribers.get(sub.sessionId);
    set?.delete(sub);
    if (set?.size === 0) subscribers.delete(sub.sessionId);
  };
  socket.on('message', (data, isBinary) => {
    let message: { type?: string; id?: string; payload?: { variables?: { sessionId?: string } } };
    try {
      message = JSON.parse(isBinary ? '' : String(data));
    } catch {
      return socket.close(4400, 'Invalid message received');
    }
    switch (message.type) {
      case 'connection_init':
        if (acknowledged) return socket.close(4429, 'Too many initialisation requests');
        acknowledged = true;
        return socket.send('{"type":"connection_ack"}');
      case 'ping':
        return socket.send('{"type":"pong"}');
      case 'pong':
        return;
      case 'subscribe': {
        if (!acknowledged) return socket.close(4401, 'Unauthorized');
        const id = String(message.id);
        if (mine.has(id)) return socket.close(4409, `Subscriber for ${id} already exists`);
        const sessionId = message.payload?.variables?.sessionId;
        if (typeof sessionId !== 'string') {
          return socket.send(JSON.stringify({ id, type: 'error', payload: [{ message: 'sessionId is required' }] }));
        }
        const sub: Subscription = { socket, id, prefix: `{"id":${JSON.stringify(id)},"type":"next","payload":`, sessionId };
        mine.set(id, sub);
        let set = subscribers.get(sessionId);
        if (!set) subscribers.set(sessionId, (set = new Set()));
        set.add(sub);
        return;
      }
      case 'complete': {
        const sub = mine.get(String(message.id));
        if (sub) unsubscribe(sub);
        return;
      }
      default:
        return socket.close(4400, `Unexpected message type ${message.type}`);
    }
  });
  socket.on('close', () => {
    for (const sub of [...mine.values()]) unsubscribe(sub);
  });
  socket.on('error', () => {});
});

await listenAsBaseline('raw-ws', httpServer, wsServer, Number(values.port), values.host);
