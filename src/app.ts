import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { createDemoAgent } from './agents/demo.js';
import type { Agent } from './agents/types.js';
import { systemClock, type Clock } from './clock.js';
import { createAuthenticator, type AuthOptions } from './auth.js';
import { toGraphQLError } from './errors.js';
import { EventLog } from './log/event-log.js';
import { createMemoryPubSub } from './events/pubsub/memory.js';
import type { PubSub } from './events/pubsub/types.js';
import { schema, type Context } from './schema/index.js';
import { useSharedSubscriptionExecution } from './delivery/shared-execution.js';
import { useStreamMetrics } from './delivery/stream-metrics.js';
import { Subscriptions } from './delivery/subscriptions.js';
import { Deliveries } from './delivery/tally.js';
import { ResultBudget, useResultBudget } from './schema/result-budget.js';
import { SessionManager } from './sessions/manager.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createThreadedSqliteStore } from './store/sqlite-thread.js';
import type { Store } from './store/types.js';
import { graphiqlTabs } from './transport/graphiql.js';
import { createGraphiQLPage, wantsGraphiQL } from './transport/graphiql-page.js';
import { createWebApp } from './transport/web-app.js';
import { useChunkedBodyLimit } from './transport/body-limit.js';
import { useRequestParamsJson } from './transport/request-params.js';
import { useGraphQLWs } from './transport/ws.js';
import { ConnectionCounter } from './transport/connections.js';
import { createDoor } from './transport/door.js';
import { createReservations } from './transport/sse-reservations.js';
import { limitKey } from './transport/limit-key.js';
import { defaultLimits, type Limits, type RateGate } from './limits.js';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { UserConfigService } from './user-config.js';
import { foldRepeats } from './observability/fold.js';
import { errorSink } from './observability/error-sink.js';
import { defaultLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { metricsRoute } from './observability/metrics-route.js';

export interface AppOptions {
  /** Port to listen on; 0 picks a free one. @default 4000 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Session workspaces and the embedded store (`switchboard.db`) live here. @default './data' */
  dataDir?: string;
  /**
   * Where sessions, events and config are kept; the app closes it on stop.
   * @default SQLite at `<dataDir>/switchboard.db`
   */
  store?: Store;
  /** @default an in-memory pub/sub */
  pubsub?: PubSub;
  /** Runs every turn. @default the demo agent */
  agent?: Agent;
  /** @default the system clock */
  clock?: Clock;
  /** @default 50 */
  coalesceWindowMs?: number;
  /** @default 16384 */
  coalesceMaxBytes?: number;
  /** @default 300000 */
  permissionTimeoutMs?: number;
  /**
   * How long an instance's claim on a session lasts without renewal; another instance takes
   * the session over this long after its holder died.
   * @default 10000
   */
  leaseTtlMs?: number;
  /** This instance's name in leases. @default "embedded" with an embedded store, else a random UUID */
  instanceId?: string;
  /**
   * HS256 secret for bearer JWTs (`sub` is the user id). Without it (and without
   * `auth.jwksUrl`) every caller is the single user `local`. The same as `auth.secret`.
   * @default undefined
   */
  authSecret?: string | null;
  /**
   * How bearer tokens are verified: a secret or an identity provider's key set, the required
   * `iss` / `aud`, key set fetching; see src/auth.ts for each default.
   * @default no authentication (unless `authSecret` is given)
   */
  auth?: AuthOptions;
  /**
   * Browser origins served besides the server's own (exact, e.g. `https://app.example.com`;
   * `null` for pages without one). A request with any other `Origin` gets 403 and no CORS
   * headers. `*` serves every origin and is accepted only with authentication.
   * @default []
   */
  allowedOrigins?: string[];
  /**
   * Host names served besides `localhost`, `127.0.0.1`, `[::1]` and `host`, when there is no
   * authentication (DNS rebinding): a request naming another `Host` gets 403.
   * @default []
   */
  allowedHosts?: string[];
  /** Bounds on requests, operations, connections and rates; see src/limits.ts for each default. */
  limits?: Partial<Limits>;
  /**
   * Where `sendMessage` calls are counted against `limits.sendMessagesPerMinute`, e.g. a
   * budget shared by every instance (sessions/redis-rate.ts); the app closes it on stop.
   * @default this process's own (an in-process RateLimiter)
   */
  sendRate?: RateGate;
  /**
   * How long `stop()` lets open subscriptions deliver their last events before closing their
   * connections anyway.
   * @default 2000
   */
  shutdownGraceMs?: number;
  /**
   * Where unexpected errors are reported. The same error repeated reaches it at most once a
   * second; the repeats follow as one `RepeatedError` with their count (observability/fold.ts).
   * @default each error a line at `error` on `logger`, with its stack (observability/error-sink.ts)
   */
  onError?: (error: unknown) => void;
  /**
   * Where the app logs (pino): each turn's end at `info`, connections and turn starts at
   * `debug`, and the errors `onError` is not given for. main.ts passes one at `LOG_LEVEL`.
   * @default errors only, as JSON lines on stdout (an embedded app says nothing unless something fails)
   */
  logger?: Logger;
  /**
   * When set, `GET /metrics` needs `Authorization: Bearer <metricsToken>`; a scrape without
   * it gets 401 (`METRICS_TOKEN`).
   * @default null: `/metrics` is open to whoever the door lets in
   */
  metricsToken?: string | null;
  /**
   * The built web app served at `/` and `/sessions/<id>` (`npm run build` writes it); when it
   * is missing, `/` answers 503 saying so.
   * @default dist/web of this package
   */
  webAppDir?: string;
}

export interface App {
  /** Listens; resolves with the address actually bound. */
  start(): Promise<{ port: number; host: string; url: string }>;
  /**
   * Stops accepting work, ends running turns (CompleteEvent INTERRUPTED), completes open
   * subscriptions, closes every connection, the store and the pub/sub.
   */
  stop(): Promise<void>;
  readonly server: Server;
  readonly sessions: SessionManager;
  readonly store: Store;
}

const GRAPHQL_PATH = '/graphql';

/** Builds Switchboard: Yoga (HTTP, SSE both modes, GraphiQL) and graphql-ws on one http server. */
export function createApp(options: AppOptions = {}): App {
  const clock = options.clock ?? systemClock;
  // Folded, so a client that provokes the same error thousands of times a second costs a
  // log line a second, not a disk.
  const logger = options.logger ?? defaultLogger();
  const onError = foldRepeats(options.onError ?? errorSink(logger), { clock });
  const dataDir = options.dataDir ?? './data';
  const limits: Limits = { ...defaultLimits, ...options.limits };
  const store = options.store ?? createThreadedSqliteStore({ path: join(dataDir, 'switchboard.db') });
  const pubsub = options.pubsub ?? createMemoryPubSub();
  const agent = options.agent ?? createDemoAgent({ clock });
  // The app's own counts and registry: several apps in one process (tests) do not count into each other.
  const deliveries = new Deliveries();
  const metrics = new Metrics(deliveries);
  const log = new EventLog({
    store,
    pubsub,
    clock,
    coalesceWindowMs: options.coalesceWindowMs,
    coalesceMaxBytes: options.coalesceMaxBytes,
    onError,
    metrics,
  });
  const config = new UserConfigService(store, pubsub, agent.models, onError);
  const sessions = new SessionManager({
    store,
    pubsub,
    log,
    clock,
    agent,
    config,
    dataDir,
    permissionTimeoutMs: options.permissionTimeoutMs,
    leaseTtlMs: options.leaseTtlMs,
    limits,
    sendRate: options.sendRate,
    instanceId: options.instanceId ?? (store.shared ? undefined : 'embedded'),
    onError,
    logger,
    metrics,
  });
  const shutdown = new AbortController();
  // Every open subscription listens to it: past 10, Node would warn of a leak that is none.
  setMaxListeners(0, shutdown.signal);
  const subscriptions = new Subscriptions({ store, pubsub, clock, maxPerUser: limits.maxSubscriptionsPerUser, shutdown: shutdown.signal });
  const auth = createAuthenticator({ ...options.auth, secret: options.auth?.secret ?? options.authSecret }, clock);
  const door = createDoor({
    allowedOrigins: options.allowedOrigins,
    allowedHosts: options.allowedHosts,
    listenHost: options.host ?? '127.0.0.1',
    authenticated: auth.required,
  });
  // graphql-ws sockets and graphql-sse reservations are one user's connections alike.
  const connections = new ConnectionCounter(limits.maxConnectionsPerUser);
  const reservations = createReservations({
    endpoint: `${GRAPHQL_PATH}/stream`,
    authenticate: async (authorization, address) => {
      const { userId } = await auth.authenticate(authorization);
      return { userId, limitKey: limitKey(auth.required, userId, address) };
    },
    connections,
    clock,
    ttlMs: limits.reservationTtlMs,
    maxRequestBytes: limits.maxRequestBytes,
    onError,
  });
  /**
   * Every operation's context, whatever its transport; authenticates the caller. Over
   * graphql-ws the socket closes when the token expires, which ends its streams: they need
   * no expiry of their own (`streamsExpire: false`).
   */
  const contextFor = async (authorization: string | null | undefined, address: string | undefined, streamsExpire = true): Promise<Context> => {
    const { userId, expiresAt } = await auth.authenticate(authorization);
    return {
      userId,
      limitKey: limitKey(auth.required, userId, address),
      expiresAt: streamsExpire ? expiresAt : null,
      clock,
      sessions,
      subscriptions,
      config,
      store,
      pubsub,
      shutdown: shutdown.signal,
      budget: new ResultBudget(limits.maxResponseBytes),
    };
  };

  const graphiqlOptions = { title: 'Switchboard', defaultTabs: graphiqlTabs, subscriptionsProtocol: 'SSE' as const };
  const graphiqlPage = createGraphiQLPage(() => renderGraphiQL(graphiqlOptions));
  // From src/ (tsx) and from dist/ alike, ../dist/web is the build's.
  const webApp = createWebApp(options.webAppDir ?? fileURLToPath(new URL('../dist/web', import.meta.url)));
  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // CORS headers (credentials included) for the origins the door lets in, none for others.
    cors: (request: Request) => {
      const origin = door.corsOrigin(request.headers.get('origin'), request.headers.get('host'));
      return origin === null ? false : { origin: [origin], credentials: true };
    },
    // Bodies with a Content-Length are refused up front below when too large; chunked ones
    // are counted by useChunkedBodyLimit (Yoga's own limit streams every body: transport/body-limit.ts).
    maxRequestBodySize: false,
    logging: false,
    // graphql-ws builds its own from connectionParams (transport/ws.ts); HTTP and SSE carry the token in the header.
    context: ({ request, req }: { request: Request; req?: IncomingMessage }) => contextFor(request.headers.get('authorization'), req?.socket.remoteAddress),
    maskedErrors: { maskError: (error) => toGraphQLError(error, onError) },
    // Served by graphiqlPage below; Yoga's own rendering stays for what that does not take.
    graphiql: graphiqlOptions,
    renderGraphiQL,
    plugins: [
      reservations.wrap(useGraphQLSSE({ endpoint: `${GRAPHQL_PATH}/stream`, authenticate: reservations.authenticate })),
      // Each event is executed once per distinct selection, not once per subscriber.
      useSharedSubscriptionExecution(),
      // Subscriptions over SSE (Yoga's and both graphql-sse modes); graphql-ws counts in its socket writer.
      useStreamMetrics(deliveries.sse),
      useRequestParamsJson(),
      useChunkedBodyLimit(limits.maxRequestBytes),
      // A result that outgrew MAX_RESPONSE_BYTES while it was built is answered with that error alone.
      useResultBudget(),
      // Expensive documents are refused at validation, before any resolver runs; 0 turns one off.
      ...(limits.maxDepth > 0 ? [maxDepthPlugin({ n: limits.maxDepth, exposeLimits: true })] : []),
      ...(limits.maxAliases > 0 ? [maxAliasesPlugin({ n: limits.maxAliases, exposeLimits: true })] : []),
      ...(limits.maxTokens > 0 ? [maxTokensPlugin({ n: limits.maxTokens })] : []),
      ...(limits.maxCost > 0 ? [costLimitPlugin({ maxCost: limits.maxCost, exposeLimits: true })] : []),
      ...(limits.maxDirectives > 0 ? [maxDirectivesPlugin({ n: limits.maxDirectives, exposeLimits: true })] : []),
    ],
  });

  const scrape = metricsRoute(metrics, options.metricsToken ?? null, onError);
  const server = createServer((req, res) => {
    // Every answer depends on the Origin (served or not, which CORS headers): a cache must
    // not hand one origin's answer to another.
    res.setHeader('vary', 'Origin');
    const refusal = door.refusal(req);
    if (refusal !== null) return void json(res, 403, { errors: [{ message: refusal, extensions: { code: 'FORBIDDEN' } }] });
    const path = req.url?.split('?')[0];
    if (path === '/healthz') return void json(res, 200, { status: 'ok' });
    if (path === '/metrics') return scrape(req, res);
    if (path === '/readyz') {
      void ready().then((ok) => json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable' }));
      return;
    }
    if (wantsGraphiQL(req, path, GRAPHQL_PATH)) return graphiqlPage(req, res);
    if (webApp(req, res, path)) return;
    // A GET carries its operation in the URL: the same bound (Node's own header limit, 16 KiB
    // by default, usually refuses it first).
    if ((req.url?.length ?? 0) > limits.maxRequestBytes) {
      return void json(res, 414, {
        errors: [{ message: `The request URL is longer than ${limits.maxRequestBytes} bytes.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
      });
    }
    const length = Number(req.headers['content-length'] ?? 0);
    if (req.method === 'POST' && path === GRAPHQL_PATH && length === 0 && req.headers['transfer-encoding'] === undefined) {
      // No body at all: not a GraphQL request, whatever its Content-Type (Yoga would answer
      // 415 without one, with no error for the client to read).
      return void json(res, 400, {
        errors: [{ message: 'The request has no body: POST a GraphQL request as JSON, e.g. {"query":"{ __typename }"}.', extensions: { code: 'BAD_REQUEST' } }],
      });
    }
    if (length > limits.maxRequestBytes) {
      // Refused before a byte of the body is read; the connection closes after the answer.
      res.setHeader('connection', 'close');
      return void json(res, 413, {
        errors: [{ message: `The request body is larger than ${limits.maxRequestBytes} bytes.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
      });
    }
    void yoga(req, res);
  });

  const wss = new WebSocketServer({
    server,
    path: GRAPHQL_PATH,
    // ws refuses a frame announcing more than this from its header, before buffering it: 1009.
    maxPayload: limits.maxRequestBytes,
    // The same door as every HTTP request, before the upgrade (CORS does not cover WebSockets).
    verifyClient: (info, done) => (door.refusal(info.req) === null ? done(true) : done(false, 403, 'Forbidden')),
  });
  // ws re-emits the http server's errors; start() answers those (EADDRINUSE), and an 'error'
  // nobody listens to would throw.
  wss.on('error', () => {});
  const ws = useGraphQLWs(wss, yoga as never, {
    connectionInitWaitTimeout: limits.connectionInitWaitTimeoutMs,
    maxSubscriptionsPerConnection: limits.maxSubscriptionsPerConnection,
    connections,
    keepAliveMs: limits.keepAliveMs,
    authenticate: (params) => auth.authenticate(params?.authorization as string | undefined),
    context: (params, address) => contextFor(params?.authorization as string | undefined, address, false),
    limitKey: (userId, address) => limitKey(auth.required, userId, address),
    clock,
    onError,
    logger,
    tally: deliveries.ws,
  });

  async function ready(): Promise<boolean> {
    if (shutdown.signal.aborted) return false;
    const [s, p] = await Promise.all([store.ping().catch(() => false), pubsub.ping().catch(() => false)]);
    return s && p;
  }

  let stopping: Promise<void> | null = null;
  return {
    server,
    sessions,
    store,
    async start() {
      // Turns a crash left open end INTERRUPTED, and queued messages run, before anyone asks.
      await sessions.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 4000, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      const { port, address } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      return { port, host: address, url: `http://${host}:${port}${GRAPHQL_PATH}` };
    },
    stop() {
      stopping ??= (async () => {
        const graceMs = options.shutdownGraceMs ?? 2000;
        const within = (promise: Promise<unknown>) =>
          Promise.race([
            promise,
            new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
          ]);
        // No new connections; the ones open finish what they are doing.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await sessions.stop();
        shutdown.abort();
        reservations.dispose();
        // Subscriptions deliver what is stored (the INTERRUPTED completions), then complete.
        await within(subscriptions.closed());
        // Let the transports write their "complete" messages before the close frames.
        await new Promise((resolve) => setImmediate(resolve));
        await ws.dispose();
        server.closeIdleConnections();
        await within(closed);
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        await closed;
        await Promise.all([store.close(), pubsub.close(), options.sendRate?.close?.()]);
        onError.flush();
      })();
      return stopping;
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
