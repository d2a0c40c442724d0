import { execute, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { subscribeSharing } from '../delivery/shared-execution.js';
import { streamToSocket } from '../delivery/socket-stream.js';
import type { DeliveryTally } from '../delivery/tally.js';
import { withinBudget, type ResultBudget } from '../schema/result-budget.js';
import { SwitchboardError, toGraphQLError } from '../errors.js';
import { CloseCode, MessageType } from 'graphql-ws';
import type { Identity } from '../auth.js';
import { setTimeoutAt, systemClock, type Clock } from '../clock.js';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocketServer } from 'ws';
import { randomUUID } from 'node:crypto';
import { logError } from '../observability/error-sink.js';
import { defaultLogger, type Logger } from '../observability/logger.js';
import { ConnectionCounter } from './connections.js';
import { serveGraphQLWs, type WsExtra } from './ws-adapter.js';

export interface WsTransportOptions<C> {
  /**
   * Builds an operation's context from the connection's `connectionParams`, for every
   * operation (so a token that expired while the socket stayed open starts nothing new); a
   * throw refuses the operation with the error's code. The same context HTTP and SSE get.
   */
  context: (connectionParams: Record<string, unknown> | undefined, address: string | undefined) => Promise<C>;
  /**
   * Checks a connection's `connectionParams` at `connection_init`; a rejection closes the
   * socket with 4403 Forbidden, and so does the token's expiry (`expiresAt`) later.
   * @default everyone is accepted
   */
  authenticate?: (connectionParams: Record<string, unknown> | undefined) => Promise<Identity>;
  /**
   * Whom a connection counts against for `maxConnectionsPerUser`, from its user and the
   * peer's address (transport/limit-key.ts).
   * @default the user id
   */
  limitKey?: (userId: string, address: string | undefined) => string;
  /** Times token expiry. @default the system clock */
  clock?: Clock;
  /** Most subscriptions open at once on one connection; more get RATE_LIMITED; 0 turns it off. @default 100 */
  maxSubscriptionsPerConnection?: number;
  /** Most connections of one user (as `authenticate` names them) at once; more are closed with 4429. @default 50 */
  maxConnectionsPerUser?: number;
  /**
   * Where connections are counted, shared with the other transports that hold one open;
   * its own limit then applies instead of `maxConnectionsPerUser`.
   * @default a counter of this transport's own, limited to `maxConnectionsPerUser`
   */
  connections?: ConnectionCounter;
  /**
   * A ping every this many ms; a socket that has not answered by the next one is terminated
   * (a dead peer), ending its subscriptions.
   * @default 30000
   */
  keepAliveMs?: number;
  /** Where unexpected errors are reported. @default logged at `error` */
  onError?: (error: unknown) => void;
  /** Counts open subscriptions and the messages written to them. @default not counted */
  tally?: DeliveryTally;
  /**
   * Each accepted connection logs through a child of it bound to a short `connectionId` and
   * its `userId`: opened, closed (with the close code) and each operation started, at debug.
   * @default errors only, on stdout
   */
  logger?: Logger;
  /**
   * How long a socket may stay open without `connection_init` before it is closed (4408).
   * @default 3000
   */
  connectionInitWaitTimeout?: number;
}

/**
 * Types only a server sends. graphql-ws accepts them from a client as well-formed and then
 * throws on them, which it takes for its own fault: a console.error with a stack trace and
 * close code 4500. From a client they are as invalid as an unknown type: 4400.
 */
const SERVER_ONLY: ReadonlySet<unknown> = new Set([MessageType.ConnectionAck, MessageType.Next, MessageType.Error]);

const budgetOf = (args: ExecutionArgs) => (args.contextValue as { budget?: ResultBudget } | undefined)?.budget;

/**
 * graphql-ws on a ws server. Documents are parsed and validated by Yoga's envelop (its parser
 * and validation caches, the armor limits), with the context every transport gets and the
 * one error masking (`toGraphQLError`). Operations then run on graphql-js directly rather
 * than through a per-operation envelop: a subscription holds nothing but what it needs
 * (thousands of idle ones are the common case), and its events are executed and serialized
 * once for all subscribers of the same selection (delivery/shared-execution.ts, delivery/socket-stream.ts).
 */
export function useGraphQLWs<C>(
  wss: WebSocketServer,
  yoga: YogaServerInstance<{}, {}>,
  options: WsTransportOptions<C>,
): { dispose: () => void | Promise<void> } {
  const connections = options.connections ?? new ConnectionCounter(options.maxConnectionsPerUser ?? 50);
  const maxSubscriptions = options.maxSubscriptionsPerConnection ?? 100;
  const onError = options.onError ?? logError;
  const logger = options.logger ?? defaultLogger();
  const clock = options.clock ?? systemClock;
  // Parsing and validation only: their caches and limits are the server's, not per operation.
  const enveloped = yoga.getEnveloped({});
  // Masked like every other error: a code, nothing internal, and no HTTP status (that is
  // for Yoga's responses; over a socket only the code matters).
  const forSocket = (error: unknown): GraphQLError => {
    const { message, nodes, source, positions, path, originalError, extensions } = toGraphQLError(error, onError);
    const { http: _status, ...rest } = extensions;
    return new GraphQLError(message, { nodes, source, positions, path, originalError, extensions: rest });
  };
  const masked = (result: ExecutionResult): ExecutionResult =>
    result.errors ? { ...result, errors: result.errors.map(forSocket) } : result;
  /** Where a subscription's results go (graphql-ws hands `subscribe` only the arguments). */
  const operations = new WeakMap<ExecutionArgs, { extra: WsExtra; id: string }>();
  return serveGraphQLWs<Record<string, unknown> | undefined, WsExtra>(
    wss,
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3000,
      onConnect: async (ctx) => {
        if (!options.authenticate) {
          ctx.extra.log = logger.child({ connectionId: shortId() });
          ctx.extra.log.debug('connection opened');
          return true;
        }
        let userId: string, expiresAt: number | null;
        try {
          ({ userId, expiresAt } = await options.authenticate(ctx.connectionParams));
        } catch (error) {
          // Not the token's fault (the key server is away): "try again later", not "forbidden".
          if (error instanceof SwitchboardError && error.code === 'SERVICE_UNAVAILABLE') ctx.extra.socket.close(1013, 'Try again later');
          return false; // graphql-ws closes with 4403 Forbidden
        }
        // Closed while the token was checked (a slow key server): graphql-ws has already
        // called onClose, so a connection counted now would never be given back.
        const { socket } = ctx.extra;
        if (socket.readyState !== socket.OPEN) return false;
        const limitKey = options.limitKey?.(userId, ctx.extra.address) ?? userId;
        if (!connections.acquire(limitKey)) {
          ctx.extra.socket.close(4429, 'Too many connections for this user');
          return false;
        }
        ctx.extra.userId = userId;
        ctx.extra.limitKey = limitKey;
        ctx.extra.log = logger.child({ connectionId: shortId(), userId });
        ctx.extra.log.debug('connection opened');
        // What the token opened ends with it: the socket and so its subscriptions. The client
        // reconnects with a fresh token and resumes with `after`.
        if (expiresAt !== null) {
          ctx.extra.expiry = setTimeoutAt(clock, expiresAt, () => socket.close(CloseCode.Forbidden, 'Token expired'));
        }
        return true;
      },
      onClose: (ctx, code) => {
        ctx.extra.log?.debug({ code }, 'connection closed');
        ctx.extra.expiry?.();
        ctx.extra.expiry = undefined;
        const { limitKey } = ctx.extra;
        if (limitKey === undefined) return;
        ctx.extra.userId = undefined;
        ctx.extra.limitKey = undefined;
        connections.release(limitKey);
      },
      // JSON.parse calls the reviver with key '' for the whole message, last; throwing there
      // makes graphql-ws close with 4400 "Invalid message received". (An object under an
      // empty key inside variables is seen the same way; one shaped like a server message
      // is refused with it.)
      jsonMessageReviver(key: string, value: unknown) {
        if (key === '' && typeof value === 'object' && value !== null && SERVER_ONLY.has((value as { type?: unknown }).type)) {
          throw new Error('a server-only message from a client');
        }
        return value;
      },
      // Every error sent in an `error` message: what onSubscribe returned (parse, validation,
      // refusals) and what a stream threw while running.
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => forSocket(error).toJSON()),
      // Yoga's useResultBudget does not see these operations: the same replacement, here.
      execute: async (args: ExecutionArgs) => masked(withinBudget(budgetOf(args), await execute(args))),
      subscribe: async (args: ExecutionArgs) => {
        const result = await subscribeSharing(args);
        if (!(Symbol.asyncIterator in result)) return masked(result);
        const { extra, id } = operations.get(args)!;
        operations.delete(args); // not kept for the subscription's life
        return streamToSocket(result, extra.socket, extra.wire, id, masked, options.tally);
      },
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws has already reserved this operation's id in ctx.subscriptions.
        if (maxSubscriptions > 0 && Object.keys(ctx.subscriptions).length > maxSubscriptions) {
          return [
            new GraphQLError(`At most ${maxSubscriptions} subscriptions per connection.`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        // The parsed document (one per distinct query, Yoga's parser cache) is all that is
        // needed from here on. graphql-ws keeps this message for as long as the subscription
        // runs, and each message's query is a string of its own: hundreds of bytes per idle
        // subscriber for nothing.
        (payload as { query: string }).query = '';
        let contextValue: unknown;
        try {
          // Authenticates again: a token that expired since connection_init starts nothing.
          contextValue = await options.context(ctx.connectionParams, ctx.extra.address);
        } catch (error) {
          return [forSocket(error)];
        }
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: undefined, // graphql-ws would add it later, growing the object
        };
        let errors: readonly GraphQLError[];
        try {
          errors = enveloped.validate(args.schema, args.document);
        } catch (error) {
          // A rule may throw instead of reporting (graphql-armor's limits do): a refusal too,
          // not a fault of the server's (graphql-ws would close with 4500 and log it).
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        if (errors.length > 0) return errors;
        operations.set(args, { extra: ctx.extra, id });
        ctx.extra.log?.debug({ operationId: id, operationName: payload.operationName ?? null }, 'operation started');
        return args;
      },
    },
    { keepAliveMs: options.keepAliveMs, onError },
  );
}

/** Eight hex digits: tells a connection's lines apart from the others' of its time. */
function shortId(): string {
  return randomUUID().slice(0, 8);
}
