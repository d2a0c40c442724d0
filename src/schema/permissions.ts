import type { PermissionStatus } from '../events/types.js';
import type { SessionRecord } from '../store/types.js';
import { builder } from './builder.js';
import { PermissionStatusEnum } from './enums.js';
import { SessionRef } from './session.js';

const RespondToPermissionInput = builder.inputType('RespondToPermissionInput', {
  fields: (t) => ({
    sessionId: t.id({ required: true }),
    requestId: t.id({ required: true }),
    allowed: t.boolean({ required: true }),
    alwaysAllow: t.boolean({ description: 'Allow this tool in this session from now on; ignored when not allowed.' }),
  }),
});

const RespondToPermissionPayload = builder
  .objectRef<{ requestId: string; status: PermissionStatus; session: SessionRecord }>('RespondToPermissionPayload')
  .implement({
    fields: (t) => ({
      requestId: t.exposeID('requestId'),
      status: t.field({ type: PermissionStatusEnum, resolve: (p) => p.status }),
      session: t.field({ type: SessionRef, resolve: (p) => p.session }),
    }),
  });

builder.mutationField('respondToPermission', (t) =>
  t.field({
    type: RespondToPermissionPayload,
    description: 'Answers a pending permission request. CONFLICT when already resolved, NOT_FOUND when unknown.',
    args: { input: t.arg({ type: RespondToPermissionInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.sessions.respondToPermission(ctx.userId, input),
  }),
);
