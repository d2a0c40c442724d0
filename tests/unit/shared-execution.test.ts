import {
  GraphQLBoolean,
  GraphQLInt,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  type ExecutionResult,
} from 'graphql';
import { createYoga } from 'graphql-yoga';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryPubSub } from '../../src/events/pubsub/memory.js';
import { topicStream } from '../../src/events/topic-stream.js';
import { SHARED_RESULTS, useSharedSubscriptionExecution } from '../../src/delivery/shared-execution.js';

interface Tick {
  n: number;
}

/** How many times `Tick.n` was resolved: once per execution of an event. */
let executions = 0;
const pubsub = createMemoryPubSub();

const Tick = new GraphQLObjectType<Tick, { user: string }>({
  name: 'Tick',
  fields: {
    n: {
      type: GraphQLInt,
      resolve: (tick) => {
        executions++;
        return tick.n;
      },
    },
    who: { type: GraphQLString, resolve: (_tick, _args, ctx) => ctx.user },
  },
});

function tickField(shared: boolean) {
  return {
    type: Tick,
    args: { topic: { type: GraphQLString }, after: { type: GraphQLInt }, big: { type: GraphQLBoolean } },
    extensions: shared ? { [SHARED_RESULTS]: true } : {},
    subscribe: (_root: unknown, args: { topic?: string }) => topicStream<Tick>({ pubsub, topic: args.topic ?? 't' }),
    resolve: (tick: Tick) => tick,
  };
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLBoolean } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: { shared: tickField(true), unshared: tickField(false) },
  }),
});

const yoga = createYoga({ schema, plugins: [useSharedSubscriptionExecution()] });

/** A subscription as Yoga's transports run it, through its envelop. */
async function subscribe(query: string, variableValues: Record<string, unknown> = {}, user = 'u1') {
  const enveloped = yoga.getEnveloped({});
  const result = await enveloped.subscribe({
    schema: enveloped.schema,
    document: parse(query),
    variableValues,
    contextValue: { user },
  });
  return result as AsyncIterableIterator<ExecutionResult>;
}

/** The same document object for every subscriber, as Yoga's parser cache gives it. */
const SHARED = parse('subscription S($topic: String, $after: Int) { shared(topic: $topic, after: $after) { n } }');

async function subscribeDocument(document = SHARED, variableValues: Record<string, unknown> = {}, user = 'u1') {
  const enveloped = yoga.getEnveloped({});
  const result = await enveloped.subscribe({ schema: enveloped.schema, document, variableValues, contextValue: { user } });
  return result as AsyncIterableIterator<ExecutionResult>;
}

beforeEach(() => {
  executions = 0;
});

describe('useSharedSubscriptionExecution', () => {
  it('executes an event once for subscribers of one document that differ only in root arguments', async () => {
    const a = await subscribeDocument(SHARED, { topic: 't', after: 0 }, 'alice');
    const b = await subscribeDocument(SHARED, { topic: 't', after: 7 }, 'bob');
    const [ra, rb] = [a.next(), b.next()];
    pubsub.publish('t', { n: 1 });
    const [resultA, resultB] = await Promise.all([ra, rb]);
    expect(resultA.value).toEqual({ data: { shared: { n: 1 } } });
    expect(resultB.value).toBe(resultA.value);
    expect(executions).toBe(1);
    await Promise.all([a.return?.(), b.return?.()]);
  });

  it('executes separately when a variable used in the selection differs', async () => {
    const document = parse('subscription S($big: Boolean!) { shared { n @include(if: $big) } }');
    const a = await subscribeDocument(document, { big: true });
    const b = await subscribeDocument(document, { big: false });
    const [ra, rb] = [a.next(), b.next()];
    pubsub.publish('t', { n: 2 });
    expect((await ra).value).toEqual({ data: { shared: { n: 2 } } });
    expect((await rb).value).toEqual({ data: { shared: {} } });
    expect(executions).toBe(1); // only `a` resolves n
    await Promise.all([a.return?.(), b.return?.()]);
  });

  it('does not share fields that are not marked shareable, nor between different documents', async () => {
    const a = await subscribe('subscription { unshared { n who } }', {}, 'alice');
    const b = await subscribe('subscription { unshared { n who } }', {}, 'bob');
    const c = await subscribe('subscription { shared { n } }');
    const d = await subscribe('subscription { shared { n } }');
    const pending = [a.next(), b.next(), c.next(), d.next()];
    pubsub.publish('t', { n: 3 });
    const [ra, rb, rc, rd] = (await Promise.all(pending)).map((step) => step.value);
    expect(ra).toEqual({ data: { unshared: { n: 3, who: 'alice' } } });
    expect(rb).toEqual({ data: { unshared: { n: 3, who: 'bob' } } });
    expect(rc).toEqual(rd);
    expect(executions).toBe(4);
    await Promise.all([a, b, c, d].map((s) => s.return?.()));
  });

  it('ends at once when returned while waiting for an event', async () => {
    const a = await subscribeDocument(SHARED, { topic: 'quiet' });
    const waiting = a.next();
    await a.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
  });
});
