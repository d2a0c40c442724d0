import { graphqlTypeName, type EventOf, type PermissionRequest, type SessionEvent, type Usage } from '../events/types.js';
import { builder } from './builder.js';
import { PermissionResolutionEnum, StopReasonEnum } from './enums.js';
import { SHARED_RESULTS } from '../delivery/shared-execution.js';
import { checkAfter } from '../delivery/subscriptions.js';

export const PermissionRequestRef = builder.objectRef<PermissionRequest>('PermissionRequest').implement({
  description: 'A gated tool call waiting for a human decision.',
  fields: (t) => ({
    requestId: t.exposeID('requestId'),
    toolName: t.exposeString('toolName'),
    command: t.exposeString('command', { nullable: true, description: 'What will run, for the human to judge.' }),
    description: t.exposeString('description', { nullable: true }),
    expiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the request is denied if nobody answers.',
      resolve: (r) => r.expiresAt,
    }),
  }),
});

const UsageRef = builder.objectRef<Usage>('Usage').implement({
  fields: (t) => ({
    inputTokens: t.exposeInt('inputTokens'),
    outputTokens: t.exposeInt('outputTokens'),
  }),
});

export const EventInterface = builder.interfaceRef<SessionEvent>('Event').implement({
  description: 'Fields every session event has.',
  resolveType: (event) => graphqlTypeName[event.type],
  fields: (t) => ({
    sessionId: t.exposeID('sessionId'),
    seq: t.exposeInt('seq', { description: "Position in the session's log: 1, 2, 3, … with no holes." }),
    turnId: t.exposeID('turnId', { nullable: true, description: 'The turn it belongs to; null only outside a turn.' }),
    at: t.field({ type: 'DateTime', description: 'When it was produced.', resolve: (e) => e.at }),
  }),
});

function eventType<T extends SessionEvent['type']>(type: T, description: string) {
  return builder.objectRef<EventOf<T>>(graphqlTypeName[type]).implement({
    description,
    interfaces: [EventInterface],
    isTypeOf: (value) => (value as SessionEvent).type === type,
  });
}

const UserMessageEvent = eventType('USER_MESSAGE', "A turn started with this user message.");
builder.objectFields(UserMessageEvent, (t) => ({
  messageId: t.exposeID('messageId'),
  text: t.exposeString('text'),
}));

const TextDeltaEvent = eventType('TEXT_DELTA', 'A piece of streamed assistant text (deltas of one window joined).');
builder.objectFields(TextDeltaEvent, (t) => ({ delta: t.exposeString('delta') }));

const TextCompleteEvent = eventType('TEXT_COMPLETE', 'A text block is complete; `text` is its deltas concatenated.');
builder.objectFields(TextCompleteEvent, (t) => ({
  text: t.exposeString('text'),
  isIntermediate: t.exposeBoolean('isIntermediate', { description: 'More of the turn follows (e.g. tool calls).' }),
}));

const ToolStartEvent = eventType('TOOL_START', 'The agent calls a tool.');
builder.objectFields(ToolStartEvent, (t) => ({
  toolName: t.exposeString('toolName'),
  toolUseId: t.exposeID('toolUseId'),
  toolInput: t.field({ type: 'JSON', resolve: (e) => e.toolInput ?? {} }),
  toolIntent: t.exposeString('toolIntent', { nullable: true, description: 'What the call is for, in words.' }),
  toolDisplayName: t.exposeString('toolDisplayName', { nullable: true }),
}));

const ToolResultEvent = eventType('TOOL_RESULT', 'A tool call finished.');
builder.objectFields(ToolResultEvent, (t) => ({
  toolUseId: t.exposeID('toolUseId'),
  toolName: t.exposeString('toolName'),
  result: t.exposeString('result'),
  isError: t.exposeBoolean('isError'),
}));

const PermissionRequestEvent = eventType('PERMISSION_REQUEST', 'A gated tool waits for `respondToPermission`.');
builder.objectFields(PermissionRequestEvent, (t) => ({
  request: t.field({ type: PermissionRequestRef, resolve: (e) => e.request }),
}));

const PermissionResolvedEvent = eventType('PERMISSION_RESOLVED', 'A permission request was decided.');
builder.objectFields(PermissionResolvedEvent, (t) => ({
  requestId: t.exposeID('requestId'),
  allowed: t.exposeBoolean('allowed'),
  alwaysAllow: t.exposeBoolean('alwaysAllow', { description: 'A session rule now allows this tool.' }),
  resolution: t.field({ type: PermissionResolutionEnum, resolve: (e) => e.resolution }),
}));

const CompleteEvent = eventType('COMPLETE', 'The turn ended; every turn ends with exactly one.');
builder.objectFields(CompleteEvent, (t) => ({
  reason: t.field({ type: StopReasonEnum, resolve: (e) => e.reason }),
  usage: t.field({ type: UsageRef, nullable: true, resolve: (e) => e.usage }),
}));

const ErrorEvent = eventType('ERROR', 'The turn failed; CompleteEvent{reason: ERROR} follows.');
builder.objectFields(ErrorEvent, (t) => ({
  error: t.exposeString('error'),
  code: t.exposeString('code', { nullable: true }),
}));

export const SessionEventUnion = builder.unionType('SessionEvent', {
  description: 'Everything that happens in a session, in seq order.',
  types: [
    UserMessageEvent,
    TextDeltaEvent,
    TextCompleteEvent,
    ToolStartEvent,
    ToolResultEvent,
    PermissionRequestEvent,
    PermissionResolvedEvent,
    CompleteEvent,
    ErrorEvent,
  ],
  resolveType: (event) => graphqlTypeName[event.type],
});

builder.subscriptionField('sessionEvents', (t) =>
  t.field({
    type: SessionEventUnion,
    description:
      'Events of one session, in order. With `after`, first replays every stored event whose seq > after, ' +
      'then continues live: no gap, no duplicate. Without it, live events only: pass `after` (0 or your ' +
      'last seen seq) to miss nothing.',
    args: {
      sessionId: t.arg.id({ required: true }),
      after: t.arg.int(),
    },
    // Refused before the first event: a bad `after`, then someone else's (or no) session, then
    // too many open streams. The stream finishes when the caller's token expires (over SSE;
    // graphql-ws closes the socket).
    subscribe: async (_root, { sessionId, after }, ctx) => {
      const from = checkAfter(after);
      await ctx.sessions.get(ctx.userId, sessionId);
      return ctx.subscriptions.open({ sessionId, after: from, limitKey: ctx.limitKey, endAt: ctx.expiresAt });
    },
    resolve: (event) => event,
    // Who may watch is decided in `subscribe`; an event's fields depend on the event alone,
    // so its result can be shared by every subscriber with the same selection.
    extensions: { [SHARED_RESULTS]: true },
  }),
);
