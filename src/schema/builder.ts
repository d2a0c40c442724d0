import SchemaBuilder from '@pothos/core';
import type { Clock } from '../clock.js';
import type { Subscriptions } from '../delivery/subscriptions.js';
import type { PubSub } from '../events/pubsub/types.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Store } from '../store/types.js';
import type { UserConfigService } from '../user-config.js';
import type { ResultBudget } from './result-budget.js';

/** What every resolver gets. Built per request (HTTP, SSE) or per operation (graphql-ws). */
export interface Context {
  /** The caller: the JWT's `sub`, or `local` without auth. */
  userId: string;
  /**
   * Whom per-user counts and rates are kept for: the user with authentication, the client's
   * address without it (transport/limit-key.ts). Only counts; ownership is `userId`.
   */
  limitKey: string;
  /**
   * When the caller's token expires (ms since the epoch): subscriptions opened with it end
   * then, so the client comes back with a fresh token and resumes with `after`. Null for a
   * token without `exp`, without authentication, and over graphql-ws (the socket is closed
   * at expiry instead).
   */
  expiresAt: number | null;
  clock: Clock;
  sessions: SessionManager;
  /** Opens session event streams (counted and limited per `limitKey`); ownership is checked first, through `sessions`. */
  subscriptions: Subscriptions;
  config: UserConfigService;
  store: Store;
  pubsub: PubSub;
  /** Aborted when the server stops: open subscriptions complete. */
  shutdown: AbortSignal;
  /** What this operation's result may still take (MAX_RESPONSE_BYTES); every large read goes through it. */
  budget: ResultBudget;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: string; Output: string };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  defaultFieldNullability: false,
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
