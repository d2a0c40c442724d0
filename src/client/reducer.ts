import type { SessionSnapshotFieldsFragment } from './gql/graphql.js';
import {
  emptyView,
  type ClientEvent,
  type ConversationItem,
  type ErrorItem,
  type PermissionItem,
  type SessionView,
  type TextItem,
  type ToolItem,
  type TurnView,
} from './view.js';

type EventOf<T extends ClientEvent['__typename']> = Extract<ClientEvent, { __typename: T }>;

/**
 * The one pure reducer from session events to a session view. An event whose seq is not
 * above `view.lastSeq` returns the same view: events seen twice (a replay overlapping a
 * snapshot, a resubscribe) change nothing, and the caller can compare views with `===`.
 *
 * Cheap on long sessions: a text delta replaces only the streaming block; other events copy
 * the item array once (and find the item they update by scanning back from the end, where
 * the running turn's items are).
 */
export function reduce(view: SessionView, event: ClientEvent): SessionView {
  if (event.seq <= view.lastSeq) return view;
  const base = { ...view, lastSeq: event.seq, sessionId: view.sessionId ?? event.sessionId };
  if (event.__typename === 'TextDeltaEvent') {
    const streaming: TextItem = view.streaming
      ? { ...view.streaming, text: view.streaming.text + event.delta }
      : { kind: 'text', key: `text:${event.seq}`, turnId: event.turnId ?? null, text: event.delta, isIntermediate: false, state: 'streaming' };
    return { ...base, streaming };
  }
  // Any other event ends the streaming block: TextComplete confirms it, anything else cut it short.
  const next: SessionView =
    view.streaming && event.__typename !== 'TextCompleteEvent'
      ? { ...base, streaming: null, items: [...view.items, { ...view.streaming, state: 'cut' }] }
      : base;
  return apply(next, event);
}

/** Applies events in order; `reduce` one by one. */
export function reduceAll(view: SessionView, events: Iterable<ClientEvent>): SessionView {
  let v = view;
  for (const event of events) v = reduce(v, event);
  return v;
}

function apply(view: SessionView, event: Exclude<ClientEvent, EventOf<'TextDeltaEvent'>>): SessionView {
  const turnId = event.turnId ?? null;
  switch (event.__typename) {
    case 'UserMessageEvent': {
      const queued = view.queued.some((q) => q.turnId === turnId) ? view.queued.filter((q) => q.turnId !== turnId) : view.queued;
      const turn: TurnView | null = turnId ? { turnId, running: true, reason: null, usage: null, errors: [] } : view.turn;
      return {
        ...view,
        status: 'RUNNING',
        queued,
        turn,
        items: [...view.items, { kind: 'user', key: `user:${event.messageId}`, turnId, messageId: event.messageId, text: event.text, at: event.at }],
      };
    }
    case 'TextCompleteEvent': {
      const item: TextItem = {
        kind: 'text',
        key: view.streaming?.key ?? `text:${event.seq}`,
        turnId,
        text: event.text,
        isIntermediate: event.isIntermediate,
        state: 'complete',
      };
      return { ...view, streaming: null, items: [...view.items, item] };
    }
    case 'ToolStartEvent': {
      const item: ToolItem = {
        kind: 'tool',
        key: `tool:${event.toolUseId}`,
        turnId,
        toolUseId: event.toolUseId,
        toolName: event.toolName,
        input: event.toolInput,
        intent: event.toolIntent ?? null,
        displayName: event.toolDisplayName ?? null,
        result: null,
        isError: false,
      };
      return { ...view, items: [...view.items, item] };
    }
    case 'ToolResultEvent': {
      const items = updateLast(view.items, (i): i is ToolItem => i.kind === 'tool' && i.toolUseId === event.toolUseId, (i) => ({
        ...i,
        result: event.result,
        isError: event.isError,
      }));
      if (items) return { ...view, items };
      // A result whose start is not in the view (before a snapshot's window): show it anyway.
      const item: ToolItem = {
        kind: 'tool',
        key: `tool:${event.toolUseId}`,
        turnId,
        toolUseId: event.toolUseId,
        toolName: event.toolName,
        input: null,
        intent: null,
        displayName: null,
        result: event.result,
        isError: event.isError,
      };
      return { ...view, items: [...view.items, item] };
    }
    case 'PermissionRequestEvent': {
      const item = pendingPermission(event.request, turnId);
      return {
        ...view,
        status: 'AWAITING_PERMISSION',
        items: [...view.items, item],
        pendingPermissions: [...view.pendingPermissions.filter((p) => p.requestId !== item.requestId), item],
      };
    }
    case 'PermissionResolvedEvent': {
      const resolve = (i: PermissionItem): PermissionItem => ({
        ...i,
        status: event.resolution === 'TIMEOUT' ? 'EXPIRED' : event.resolution === 'CANCELLED' ? 'CANCELLED' : event.allowed ? 'ALLOWED' : 'DENIED',
        resolution: event.resolution,
        alwaysAllow: event.alwaysAllow,
      });
      const pendingPermissions = view.pendingPermissions.filter((p) => p.requestId !== event.requestId);
      const status = pendingPermissions.length > 0 ? 'AWAITING_PERMISSION' : view.status === 'IDLE' ? 'IDLE' : 'RUNNING';
      const items = updateLast(view.items, (i): i is PermissionItem => i.kind === 'permission' && i.requestId === event.requestId, resolve);
      if (items) return { ...view, status, pendingPermissions, items };
      // A rule's answer has no request before it: it follows the tool call it allowed.
      const tool = findLast(view.items, (i): i is ToolItem => i.kind === 'tool' && i.turnId === turnId);
      const item = resolve({
        kind: 'permission',
        key: `permission:${event.requestId}`,
        turnId,
        requestId: event.requestId,
        toolName: tool?.toolName ?? null,
        command: null,
        description: null,
        expiresAt: null,
        status: 'PENDING',
        resolution: null,
        alwaysAllow: false,
      });
      return { ...view, status, pendingPermissions, items: [...view.items, item] };
    }
    case 'ErrorEvent': {
      const item: ErrorItem = { kind: 'error', key: `error:${event.seq}`, turnId, error: event.error, code: event.code ?? null };
      const turn = view.turn && view.turn.turnId === turnId ? { ...view.turn, errors: [...view.turn.errors, item] } : view.turn;
      return { ...view, turn, items: [...view.items, item] };
    }
    case 'CompleteEvent': {
      const usage = event.usage ? { inputTokens: event.usage.inputTokens, outputTokens: event.usage.outputTokens } : null;
      const turn: TurnView | null = turnId
        ? {
            turnId,
            running: false,
            reason: event.reason,
            usage,
            errors: view.turn?.turnId === turnId ? view.turn.errors : [],
          }
        : view.turn;
      // Pending requests of a turn that ended are over even if no resolution was seen.
      const pendingPermissions = view.pendingPermissions.filter((p) => p.turnId !== null && p.turnId !== turnId);
      return {
        ...view,
        status: 'IDLE',
        turn,
        pendingPermissions: pendingPermissions.length === view.pendingPermissions.length ? view.pendingPermissions : pendingPermissions,
        items: [...view.items, { kind: 'complete', key: `complete:${event.seq}`, turnId, reason: event.reason, usage }],
      };
    }
  }
}

/**
 * A view of a `Session` query result (src/client/documents.ts `SessionSnapshotQuery`): its
 * messages, pending permissions, queue, status and `lastSeq`. Reduce the events after it
 * (subscribe with `after: view.lastSeq`); events up to `lastSeq` are ignored, so overlap is
 * harmless.
 *
 * Messages hold only completed text, so a snapshot taken while a turn streams lacks that
 * turn's text so far. Pass `recentEvents` (e.g. `Session.events(after: lastSeq - 200)`) to
 * rebuild the running turn from its events instead, streaming block included; when they do
 * not reach back to its UserMessageEvent they are not used, and the block appears complete
 * when its TextCompleteEvent arrives.
 */
export function seedView(session: SessionSnapshotFieldsFragment, recentEvents?: readonly ClientEvent[]): SessionView {
  const running = session.status !== 'IDLE' ? session.messages.findLast((m) => m.role === 'USER')?.turnId : undefined;
  const start = running && recentEvents ? recentEvents.find((e) => e.__typename === 'UserMessageEvent' && e.turnId === running) : undefined;
  if (start && recentEvents) {
    // Everything but the running turn from the snapshot; that turn (and its pending
    // permissions: only a running turn has any) from its events.
    const before = fromSnapshot({ ...session, status: 'RUNNING', lastSeq: start.seq - 1, pendingPermissions: [], messages: session.messages.filter((m) => m.turnId !== running) });
    // Its lastSeq is where the events given end (the snapshot's, unless they stop short):
    // subscribing after it fetches the rest.
    return reduceAll(before, recentEvents.filter((e) => e.seq <= session.lastSeq));
  }
  return fromSnapshot(session);
}

function fromSnapshot(session: SessionSnapshotFieldsFragment): SessionView {
  const items: ConversationItem[] = [];
  for (const m of session.messages) {
    if (m.role === 'USER') {
      items.push({ kind: 'user', key: `user:${m.id}`, turnId: m.turnId, messageId: m.id, text: m.text, at: m.createdAt });
      continue;
    }
    if (m.text !== '') {
      items.push({ kind: 'text', key: `text:${m.id}`, turnId: m.turnId, text: m.text, isIntermediate: m.toolCalls.length > 0, state: 'complete' });
    }
    for (const t of m.toolCalls) {
      items.push({
        kind: 'tool',
        key: `tool:${t.toolUseId}`,
        turnId: m.turnId,
        toolUseId: t.toolUseId,
        toolName: t.toolName,
        input: t.input,
        intent: null,
        displayName: null,
        result: t.result ?? null,
        isError: t.isError,
      });
    }
  }
  const pendingPermissions = session.pendingPermissions.map((p) => pendingPermission(p, null));
  items.push(...pendingPermissions);
  return {
    ...emptyView,
    sessionId: session.id,
    lastSeq: session.lastSeq,
    status: session.status,
    items,
    pendingPermissions,
    queued: session.queuedMessages.map((q) => ({ turnId: q.turnId, text: q.text, createdAt: q.createdAt })),
  };
}

function findLast<T extends ConversationItem>(items: readonly ConversationItem[], match: (i: ConversationItem) => i is T): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    if (match(item)) return item;
  }
  return undefined;
}

/** A copy with the last matching item replaced; null when none matches. */
function updateLast<T extends ConversationItem>(
  items: readonly ConversationItem[],
  match: (i: ConversationItem) => i is T,
  update: (i: T) => T,
): ConversationItem[] | null {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    if (match(item)) {
      const copy = items.slice();
      copy[i] = update(item);
      return copy;
    }
  }
  return null;
}

/** A permission request as the view shows it while it waits for an answer. */
function pendingPermission(
  request: { requestId: string; toolName: string; command?: string | null; description?: string | null; expiresAt?: string | null },
  turnId: string | null,
): PermissionItem {
  return {
    kind: 'permission',
    key: `permission:${request.requestId}`,
    turnId,
    requestId: request.requestId,
    toolName: request.toolName,
    command: request.command ?? null,
    description: request.description ?? null,
    expiresAt: request.expiresAt ?? null,
    status: 'PENDING',
    resolution: null,
    alwaysAllow: false,
  };
}
