/**
 * Baseline (a) of issue 6: the recipe a user builds from the GraphQL Yoga docs, in a process of
 * its own:
 *
 *   node --import tsx bench/baselines/naive-yoga.ts [--port 0]
 *
 * graphql-yoga (`createSchema`, `createPubSub`) over HTTP, graphql-ws `useServer` over `ws` on
 * the same path (the docs' "GraphQL over WebSocket" recipe with `yoga.getEnveloped`); one
 * published event per token, no coalescing, no store. Every subscriber's subscription is
 * executed separately for every event (Yoga's PubSub → Repeater → graphql-js `subscribe`
 * → JSON.stringify per subscriber per event), which is what the recipe does.
 *
 * The schema is the minimum `bench/load.ts` needs, with Switchboard's type names and fields:
 * `createSession(input: {id})`, `sendMessage(input: {sessionId, text})` (starts the fake
 * `/stream N [R]` model of `./common.ts`) and `sessionEvents(sessionId, after)`. Live only:
 * there is no log, so `after` is accepted and ignored (the bench subscribes before the first
 * turn, so it misses nothing). Prints `naive-yoga listening on <url>`; IPC as `bench/server.ts`.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { createPubSub, createSchema, createYoga } from 'graphql-yoga';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { checkHost, createSession, getSession, listenAsBaseline, startTurn, type BaselineEvent } from './common.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
checkHost(values.host);

const pubSub = createPubSub<{ sessionEvents: [sessionId: string, payload: BaselineEvent] }>();

const typeDefs = /* GraphQL */ `
  scalar DateTime
  enum StopReason { END_TURN ERROR }
  enum PermissionMode { ALLOW_ALL ASK DENY_ALL }
  interface Event {
    at: DateTime!
    seq: Int!
    sessionId: ID!
    turnId: ID
  }
  type TextDeltaEvent implements Event {
    at: DateTime!
    seq: Int!
    sessionId: ID!
    turnId: ID
    delta: String!
  }
  type TextCompleteEvent implements Event {
    at: DateTime!
    seq: Int!
    sessionId: ID!
    turnId: ID
    text: String!
    isIntermediate: Boolean!
  }
  type CompleteEvent implements Event {
    at: DateTime!
    seq: Int!
    sessionId: ID!
    turnId: ID
    reason: StopReason!
  }
  union SessionEvent = TextDeltaEvent | TextCompleteEvent | CompleteEvent
  type Session { id: ID! }
  input CreateSessionInput { id: ID, permissionMode: PermissionMode, model: String, title: String }
  input SendMessageInput { sessionId: ID!, text: String! }
  type SendMessagePayload { turnId: ID!, queued: Boolean!, session: Session! }
  type Query { session(id: ID!): Session }
  type Mutation {
    createSession(input: CreateSessionInput): Session!
    sendMessage(input: SendMessageInput!): SendMessagePayload!
  }
  type Subscription {
    sessionEvents(sessionId: ID!, after: Int): SessionEvent!
  }
`;

const schema = createSchema({
  typeDefs,
  resolvers: {
    Query: {
      session: (_: unknown, { id }: { id: string }) => {
        try {
          return { id: getSession(id).id };
        } catch {
          return null;
        }
      },
    },
    Mutation: {
      createSession: (_: unknown, { input }: { input?: { id?: string | null } | null }) => ({ id: createSession(input?.id).id }),
      sendMessage: (_: unknown, { input }: { input: { sessionId: string; text: string } }) => {
        const session = getSession(input.sessionId);
        const turnId = startTurn(session, input.text, (event) => pubSub.publish('sessionEvents', session.id, event));
        // Turns of a session run one after another; whether this one waits is not tracked.
        return { turnId, queued: false, session: { id: session.id } };
      },
    },
    Subscription: {
      sessionEvents: {
        // Live only: `after` is ignored (no store); see the header.
        subscribe: (_: unknown, { sessionId }: { sessionId: string; after?: number | null }) => pubSub.subscribe('sessionEvents', sessionId),
        resolve: (event: BaselineEvent) => event,
      },
    },
    SessionEvent: { __resolveType: (event: BaselineEvent) => event.__typename },
    Event: { __resolveType: (event: BaselineEvent) => event.__typename },
  },
});

const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', graphiql: false, logging: false });
const httpServer = createServer(yoga);
const wsServer = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint });

type EnvelopedArgs = ExecutionArgs & { rootValue: { execute: (a: ExecutionArgs) => unknown; subscribe: (a: ExecutionArgs) => unknown } };

// The Yoga docs' graphql-ws recipe, as is.
useServer(
  {
    execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
    subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const args = {
        schema,
        operationName: params.operationName,
        document: parse(params.query),
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      const errors = validate(args.schema, args.document);
      if (errors.length) return errors;
      return args as ExecutionArgs;
    },
  },
  wsServer,
);

await listenAsBaseline('naive-yoga', httpServer, wsServer, Number(values.port), values.host);
