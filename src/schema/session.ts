import { badInput } from '../errors.js';
import type { MessageRecord, QueuedMessageRecord, SessionRecord, ToolCallRecord } from '../store/types.js';
import { builder } from './builder.js';
import { MessageRoleEnum, PermissionModeEnum, SessionStatusEnum, TurnStrategyEnum } from './enums.js';
import { PermissionRequestRef, SessionEventUnion } from './events.js';

const ToolCallRef = builder.objectRef<ToolCallRecord>('ToolCall').implement({
  fields: (t) => ({
    toolUseId: t.exposeID('toolUseId'),
    toolName: t.exposeString('toolName'),
    input: t.field({ type: 'JSON', resolve: (c) => c.input ?? {} }),
    result: t.exposeString('result', { nullable: true, description: 'Null while the tool runs.' }),
    isError: t.exposeBoolean('isError'),
  }),
});

const MessageRef = builder.objectRef<MessageRecord>('Message').implement({
  description: 'One message of the conversation.',
  fields: (t) => ({
    id: t.exposeID('id'),
    role: t.field({ type: MessageRoleEnum, resolve: (m) => m.role }),
    text: t.exposeString('text'),
    turnId: t.exposeID('turnId'),
    createdAt: t.field({ type: 'DateTime', resolve: (m) => m.createdAt }),
    toolCalls: t.field({ type: [ToolCallRef], resolve: (m) => m.toolCalls }),
  }),
});

const QueuedMessageRef = builder.objectRef<QueuedMessageRecord>('QueuedMessage').implement({
  description: 'A message waiting for the running turn.',
  fields: (t) => ({
    turnId: t.exposeID('turnId'),
    text: t.exposeString('text'),
    createdAt: t.field({ type: 'DateTime', resolve: (m) => m.createdAt }),
  }),
});

export const SessionRef = builder.objectRef<SessionRecord>('Session').implement({
  description: 'An agent chat session.',
  fields: (t) => ({
    id: t.exposeID('id'),
    title: t.exposeString('title'),
    status: t.field({ type: SessionStatusEnum, resolve: (s) => s.status }),
    model: t.exposeString('model'),
    permissionMode: t.field({ type: PermissionModeEnum, resolve: (s) => s.permissionMode }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updatedAt }),
    lastSeq: t.exposeInt('lastSeq', { description: 'Seq of the newest event, 0 if none.' }),
    messages: t.field({
      type: [MessageRef],
      description:
        'The newest `last` messages of the conversation (before the message `before`, if given), oldest first. ' +
        'A long conversation is read page by page: the next older page is `messages(last: N, before: <id of the oldest message of this page>)`, ' +
        'until a page is empty. A `before` that is not a message of this session gives an empty list.',
      args: {
        last: t.arg.int({ defaultValue: 100, description: '1 to 200.' }),
        before: t.arg.id({ description: 'Only messages older than this one; absent: up to the newest.' }),
      },
      resolve: (s, { last, before }, ctx) => {
        if (last == null || last < 1 || last > 200) throw badInput('last must be between 1 and 200.');
        return ctx.budget.read((maxBytes) => ctx.store.listMessages(s.id, { last, before, maxBytes }));
      },
    }),
    events: t.field({
      type: [SessionEventUnion],
      description: 'Stored events with seq > after, oldest first.',
      args: {
        after: t.arg.int({ defaultValue: 0 }),
        limit: t.arg.int({ defaultValue: 500, description: '1 to 1000.' }),
      },
      resolve: (s, { after, limit }, ctx) => {
        if (after == null || after < 0) throw badInput('after must be 0 or more.');
        if (limit == null || limit < 1 || limit > 1000) throw badInput('limit must be between 1 and 1000.');
        return ctx.budget.read((maxBytes) => ctx.store.readEvents(s.id, after, limit, { maxBytes }));
      },
    }),
    pendingPermissions: t.field({
      type: [PermissionRequestRef],
      // Charged, not capped: few requests are pending at once, each of a few hundred bytes.
      resolve: (s, _args, ctx) =>
        ctx.budget.read(async () => (await ctx.store.listPermissions(s.id, 'PENDING')).map((p) => p.request)),
    }),
    queuedMessages: t.field({
      type: [QueuedMessageRef],
      description: 'Messages waiting for the running turn, in the order they will run.',
      resolve: (s, _args, ctx) => ctx.budget.read((maxBytes) => ctx.store.listQueue(s.id, { attachments: false, maxBytes })),
    }),
  }),
});

builder.queryFields((t) => ({
  session: t.field({
    type: SessionRef,
    nullable: true,
    description: "A session; null if it does not exist or is not the caller's.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.sessions.find(ctx.userId, id),
  }),
  sessions: t.field({
    type: [SessionRef],
    description: "The caller's sessions, newest first.",
    args: { limit: t.arg.int({ defaultValue: 50, description: '1 to 200.' }) },
    // At most 200 rows of a few hundred bytes: charged, not capped in the store.
    resolve: (_root, { limit }, ctx) => ctx.budget.read(() => ctx.sessions.list(ctx.userId, limit ?? 50)),
  }),
}));

const CreateSessionInput = builder.inputType('CreateSessionInput', {
  fields: (t) => ({
    id: t.id({ description: '1–128 characters of [A-Za-z0-9_-]; generated when absent.' }),
    title: t.string(),
    model: t.string({ description: "One of `Config.models`; the user's defaultModel when absent." }),
    permissionMode: t.field({ type: PermissionModeEnum, description: "The user's permissionMode when absent." }),
  }),
});

const AttachmentInput = builder.inputType('AttachmentInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    mediaType: t.string({ required: true }),
    dataBase64: t.string({ required: true }),
  }),
});

const SendMessageInput = builder.inputType('SendMessageInput', {
  fields: (t) => ({
    sessionId: t.id({ required: true }),
    text: t.string({ required: true }),
    attachments: t.field({ type: [AttachmentInput] }),
    clientMessageId: t.id({
      description: 'Idempotency key: a retry with the same id in the same session starts no second turn.',
    }),
    strategy: t.field({
      type: TurnStrategyEnum,
      defaultValue: 'ENQUEUE',
      description: 'What to do when a turn is already running.',
    }),
  }),
});

const SendMessagePayload = builder
  .objectRef<{ turnId: string; queued: boolean; session: SessionRecord }>('SendMessagePayload')
  .implement({
    fields: (t) => ({
      turnId: t.exposeID('turnId'),
      queued: t.exposeBoolean('queued', { description: 'True when the message waits behind a running turn.' }),
      session: t.field({ type: SessionRef, resolve: (p) => p.session }),
    }),
  });

builder.mutationFields((t) => ({
  createSession: t.field({
    type: SessionRef,
    args: { input: t.arg({ type: CreateSessionInput }) },
    resolve: (_root, { input }, ctx) => ctx.sessions.create(ctx.userId, input),
  }),
  sendMessage: t.field({
    type: SendMessagePayload,
    description: 'Starts a turn, or queues, rejects or interrupts per `strategy` when one is running.',
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.sessions.sendMessage(ctx.userId, input, ctx.limitKey),
  }),
  cancelTurn: t.field({
    type: SessionRef,
    description: 'Stops the running turn (it ends CANCELLED); queued messages then run. No-op when idle.',
    args: { sessionId: t.arg.id({ required: true }) },
    resolve: (_root, { sessionId }, ctx) => ctx.sessions.cancelTurn(ctx.userId, sessionId),
  }),
  deleteSession: t.field({
    type: 'Boolean',
    description: 'Cancels a running turn, drops the queue, completes open subscriptions, and deletes the session.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.sessions.delete(ctx.userId, id),
  }),
}));
