import type { IncomingMessage } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocketServer } from 'ws';

export interface WsTransportOptions {
  /**
   * How long a socket may stay open without `connection_init` before it is closed (4408).
   * @default 3000
   */
  connectionInitWaitTimeout?: number;
}

type Enveloped = ReturnType<YogaServerInstance<{}, {}>['getEnveloped']>;

/**
 * graphql-ws on a ws server, executing through Yoga's envelop so that one schema, one context
 * factory and one error masking serve every transport. Only a bridge: no logic of its own.
 */
export function useGraphQLWs(
  wss: WebSocketServer,
  yoga: YogaServerInstance<{}, {}>,
  options: WsTransportOptions = {},
): { dispose: () => void | Promise<void> } {
  return useServer(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3000,
      execute: (args: ExecutionArgs) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args: ExecutionArgs) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const request = ctx.extra.request as IncomingMessage;
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
          return [error as import('graphql').GraphQLError];
        }
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: enveloped,
        };
        const errors = enveloped.validate(args.schema, args.document);
        if (errors.length > 0) return errors;
        return args;
      },
    },
    wss,
  );
}
