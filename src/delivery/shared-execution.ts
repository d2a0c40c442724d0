import type { Plugin } from 'graphql-yoga';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  Kind,
  subscribe,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { isInHandStream, type InHandStream } from './in-hand.js';

/**
 * The field extension that marks a subscription field as shareable: executing its selection
 * for an event depends on nothing but the event and the document's variables (not on the
 * context, i.e. not on who is asking). Access is checked once, when the subscription starts.
 */
export const SHARED_RESULTS = 'switchboardSharedResults';

/**
 * Subscriptions to a shareable field (see SHARED_RESULTS) execute each event once per distinct
 * document, operation and variables instead of once per subscriber: a session's events reach
 * all its subscribers as the same objects, so the first subscriber's result is every other's.
 * Transports can then serialize it once too (see `serializedResult`).
 *
 * Variables used only in the root field's arguments (`sessionId`, `after`) do not change how an
 * event executes, so subscribers that differ only there share results.
 */
export function useSharedSubscriptionExecution(): Plugin {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const key = sharingKey(args);
      if (key !== null) setSubscribeFn((subscribeArgs) => subscribeShared(subscribeArgs as ExecutionArgs, key));
    },
  };
}

/** graphql-js `subscribe`, sharing results where the plugin above would. */
export function subscribeSharing(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const key = sharingKey(args);
  return key === null ? Promise.resolve(subscribe(args)) : subscribeShared(args, key);
}

/** Per event object: its results by sharing key. Gone with the event. */
const resultsByEvent = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();

async function subscribeShared(args: ExecutionArgs, key: string): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterator(source)) return source as ExecutionResult;
  return new SharedResults(source, (event) => {
    if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
    let results = resultsByEvent.get(event);
    if (!results) resultsByEvent.set(event, (results = new Map()));
    let result = results.get(key);
    if (result === undefined) {
      result = execute({ ...args, rootValue: event });
      results.set(key, result);
    }
    return result;
  });
}

/**
 * graphql-js's `mapSourceToResponse`, over shared results. A class rather than an async
 * generator so that `return()` ends it at once, even while it waits for the next event.
 * Results are in hand (see InHandStream) when the source's events are; a result still being
 * executed (a resolver returned a promise) comes as that promise.
 */
class SharedResults implements AsyncIterableIterator<ExecutionResult>, InHandStream<ExecutionResult | Promise<ExecutionResult>> {
  private readonly inHand: InHandStream<unknown> | null;

  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly map: (event: unknown) => ExecutionResult | Promise<ExecutionResult>,
  ) {
    this.inHand = isInHandStream(source) ? source : null;
  }

  takeInHand(): ExecutionResult | Promise<ExecutionResult> | undefined {
    const event = this.inHand?.takeInHand();
    return event === undefined ? undefined : this.map(event);
  }

  whenReady(ready: () => void): boolean {
    return this.inHand?.whenReady(ready) ?? false;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  // Not async: a waiting subscription holds a promise reaction, not a suspended frame.
  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.source.next().then(async (step): Promise<IteratorResult<ExecutionResult>> =>
      step.done ? { done: true, value: undefined } : { done: false, value: await this.map(step.value) },
    );
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    if (!this.source.throw) throw error;
    await this.source.throw(error);
    return { done: true, value: undefined };
  }
}

function isAsyncIterator(value: unknown): value is AsyncIterator<unknown> {
  return typeof (value as AsyncIterator<unknown>)?.next === 'function';
}

const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 1;
/** Per document and operation name: the variables that can change how an event executes, or null if not shareable. */
const executionVariables = new WeakMap<DocumentNode, Map<string, string[] | null>>();

/**
 * What subscribers must have in common to share results: the same document (Yoga's parser
 * cache hands out one object per query text), operation and values of the variables used in
 * the selection. Null when the operation is not a subscription to a shareable field.
 */
export function sharingKey(args: Pick<ExecutionArgs, 'schema' | 'document' | 'operationName' | 'variableValues'>): string | null {
  const operationName = args.operationName ?? '';
  let byOperation = executionVariables.get(args.document);
  if (!byOperation) executionVariables.set(args.document, (byOperation = new Map()));
  let variables = byOperation.get(operationName);
  if (variables === undefined) {
    variables = selectionVariables(args.schema, args.document, args.operationName ?? undefined);
    byOperation.set(operationName, variables);
  }
  if (variables === null) return null;
  let documentId = documentIds.get(args.document);
  if (documentId === undefined) documentIds.set(args.document, (documentId = nextDocumentId++));
  const values = variables.map((name) => args.variableValues?.[name] ?? null);
  return `${documentId}:${operationName}:${values.length === 0 ? '' : JSON.stringify(values)}`;
}

function selectionVariables(schema: GraphQLSchema, document: DocumentNode, operationName?: string): string[] | null {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'subscription') return null;
  const [root, ...others] = operation.selectionSet.selections;
  if (root?.kind !== Kind.FIELD || others.length > 0) return null;
  const field = schema.getSubscriptionType()?.getFields()[root.name.value];
  if (field?.extensions[SHARED_RESULTS] !== true) return null;
  const names = new Set<string>();
  const collect = { Variable: (node: { name: { value: string } }) => void names.add(node.name.value) };
  // Directives on the root field decide whether it runs at all; the selection and every
  // fragment (over-approximated: all of them) decide the shape. Only its arguments do not.
  for (const directive of root.directives ?? []) visit(directive, collect);
  if (root.selectionSet) visit(root.selectionSet, collect);
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, collect);
  }
  return [...names].sort();
}
