/**
 * switchboard/client: follow a session's events across drops and restarts, and reduce them
 * into what a chat UI shows. No server code: graphql, a graphql-ws or graphql-sse client, and
 * the typed documents of src/client/documents.ts.
 */
export { sessionEvents, defaultRetryDelay, SessionEventsError } from './session-events.js';
export type { SessionEventsOptions, SessionEventsHandle, Timers } from './session-events.js';
export { fromGraphqlWs, fromGraphqlSse } from './transport.js';
export type { SessionEventsTransport, TransportRequest, TransportSink } from './transport.js';
export { reduce, reduceAll, seedView } from './reducer.js';
export { emptyView, conversationOf } from './view.js';
export type * from './view.js';
export { SessionEventFields, SessionSnapshotFields, SessionSnapshotQuery, SessionEventsSubscription } from './documents.js';
export type {
  SessionEventFieldsFragment,
  SessionSnapshotFieldsFragment,
  SessionSnapshotQuery as SessionSnapshotQueryResult,
  SessionSnapshotQueryVariables,
} from './gql/graphql.js';
