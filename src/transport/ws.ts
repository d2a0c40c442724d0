import { GraphQLError, type ExecutionArgs } from 'graphql';
import { toGraphQLError } from '../errors.js';
import { MessageType } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocketServer } from 'ws';
import { serveGraphQLWs, type WsExtra } from './ws-adapter.js';

export interface WsTransportOptions {
  /**
   * Checks a connection's `connectionParams` at `connection_init`; a rejection closes the
   * socket with 4403 Forbidden. Called again for every subscription, so a token that expired
   * while the socket stayed open does not start new operations.
   * @default everyone is accepted
   */
  authenticate?: (connectionParams: Record<string, unknown> | undefined) => Promise<string>;
  /** Most subscriptions open at once on one connection; more get RATE_LIMITED. @default 100 */
  maxSubscriptionsPerConnection?: number;
  /** Most connections of one user (as `authenticate` names them) at once; more are closed with 4429. @default 50 */
  maxConnectionsPerUser?: number;
  /**
   * A ping every this many ms; a socket that has not answered within the next interval is
   * terminated (a dead peer), ending its subscriptions.
   * @default 30000
   */
  keepAliveMs?: number;
  /** Where unexpected errors are reported. @default console.error */
  onError?: (error: unknown) => void;
  /**
   * How long a socket may stay open without `connection_init` before it is closed (4408).
   * @default 3000
   */
  connectionInitWaitTimeout?: number;
}

type Enveloped = ReturnType<YogaServerInstance<{}, {}>['getEnveloped']>;

/**
 * Types only a server sends. graphql-ws accepts them from a client as well-formed and then
 * throws on them, which it takes for its own fault: a console.error with a stack trace and
 * close code 4500. From a client they are as invalid as an unknown type: 4400.
 */
const SERVER_ONLY: ReadonlySet<unknown> = new Set([MessageType.ConnectionAck, MessageType.Next, MessageType.Error]);

/**
 * graphql-ws on a ws server, executing through Yoga's envelop so that one schema, one context
 * factory and one error masking serve every transport. Only a bridge: no logic of its own.
 */
export function useGraphQLWs(
  wss: WebSocketServer,
  yoga: YogaServerInstance<{}, {}>,
  options: WsTransportOptions = {},
): { dispose: () => void | Promise<void> } {
  const connections = new Map<string, number>();
  const maxSubscriptions = options.maxSubscriptionsPerConnection ?? 100;
  return serveGraphQLWs<Record<string, unknown> | undefined, WsExtra>(
    wss,
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3000,
      onConnect: async (ctx) => {
        if (!options.authenticate) return true;
        let userId: string;
        try {
          userId = await options.authenticate(ctx.connectionParams);
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
        const open = connections.get(userId) ?? 0;
        if (open >= (options.maxConnectionsPerUser ?? 50)) {
          ctx.extra.socket.close(4429, 'Too many connections for this user');
          return false;
        }
        connections.set(userId, open + 1);
        ctx.extra.userId = userId;
        return true;
      },
      onClose: (ctx) => {
        const { userId } = ctx.extra;
        if (userId === undefined) return;
        ctx.extra.userId = undefined;
        const open = (connections.get(userId) ?? 1) - 1;
        if (open > 0) connections.set(userId, open);
        else connections.delete(userId);
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
      // refusals: these bypass Yoga's masking, so some had no code) and what a stream threw
      // while running. Mapped like every other error: a code, no HTTP status, nothing internal.
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((error) => {
          const masked = toGraphQLError(error, options.onError ?? console.error);
          const { http: _status, ...extensions } = masked.extensions;
          return { ...masked.toJSON(), extensions };
        }),
      execute: (args: ExecutionArgs) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args: ExecutionArgs) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws has already reserved this operation's id in ctx.subscriptions.
        if (Object.keys(ctx.subscriptions).length > maxSubscriptions) {
          return [
            new GraphQLError(`At most ${maxSubscriptions} subscriptions per connection.`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        const request = ctx.extra.request;
        const enveloped = yoga.getEnveloped({
          ...ctx,
          req: request,
          socket: ctx.extra.socket,
          params: payload,
          connectionParams: ctx.connectionParams,
        });
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        let contextValue: unknown;
        try {
          // Authenticates again: a token that expired since connection_init starts nothing.
          contextValue = await enveloped.contextFactory();
        } catch (error) {
          const masked = toGraphQLError(error, options.onError ?? console.error);
          // The HTTP status is for Yoga's responses; over a socket only the code matters.
          const { http: _status, ...extensions } = masked.extensions;
          return [new GraphQLError(masked.message, { extensions })];
        }
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: enveloped,
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
        return args;
      },
    },
    { keepAliveMs: options.keepAliveMs, onError: options.onError },
  );
}
