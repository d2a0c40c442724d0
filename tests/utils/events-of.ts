import type { ExecutionResult } from 'graphql';
import { expect } from 'vitest';
import type { Event, EventStream } from './clients.js';

export type Typename = Event['__typename'];
export type EventOf<T extends Typename> = Extract<Event, { __typename: T }>;

/** Events of the stream up to and including the first of this type, and that event. */
export async function until<T extends Typename>(stream: EventStream, typename: T, timeoutMs?: number) {
  const events = await stream.takeUntil((e) => e.__typename === typename, timeoutMs);
  return { events, last: events.at(-1) as EventOf<T> };
}

/** The events of one type, typed as such. */
export function ofType<T extends Typename>(events: readonly Event[], typename: T): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.__typename === typename);
}

/** The `extensions.code` of a result's first error; fails when there is no error. */
export function codeOf(result: ExecutionResult<unknown>): unknown {
  expect(result.errors, 'expected a GraphQL error').toBeDefined();
  return result.errors![0]!.extensions?.code;
}

/** What the demo agent's `/stream N` streams: `t1 t2 … tN ` */
export const streamText = (n: number) => Array.from({ length: n }, (_, i) => `t${i + 1} `).join('');
