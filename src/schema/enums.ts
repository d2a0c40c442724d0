import { builder } from './builder.js';

export const SessionStatusEnum = builder.enumType('SessionStatus', {
  description: 'What a session is doing.',
  values: {
    IDLE: { description: 'No turn is running.' },
    RUNNING: { description: 'A turn is running.' },
    AWAITING_PERMISSION: { description: 'A turn waits for `respondToPermission`.' },
  } as const,
});

export const MessageRoleEnum = builder.enumType('MessageRole', { values: ['USER', 'ASSISTANT'] as const });

export const PermissionModeEnum = builder.enumType('PermissionMode', {
  description: 'How gated tools are decided.',
  values: {
    ASK: { description: 'Ask a human (PermissionRequestEvent) unless a session rule allows the tool.' },
    ALLOW_ALL: { description: 'Allow every tool without asking.' },
    DENY_ALL: { description: 'Deny every gated tool without asking.' },
  } as const,
});

export const PermissionStatusEnum = builder.enumType('PermissionStatus', {
  values: ['PENDING', 'ALLOWED', 'DENIED', 'EXPIRED', 'CANCELLED'] as const,
});

export const PermissionResolutionEnum = builder.enumType('PermissionResolution', {
  description: 'Who or what resolved a permission request.',
  values: {
    USER: { description: 'A human answered with `respondToPermission`.' },
    RULE: { description: 'An "always allow" rule of the session allowed it without asking.' },
    TIMEOUT: { description: 'Nobody answered in time: denied.' },
    CANCELLED: { description: 'The turn ended (cancel, interrupt, stop) while it waited.' },
  } as const,
});

export const StopReasonEnum = builder.enumType('StopReason', {
  description: 'Why a turn ended.',
  values: {
    END_TURN: { description: 'The agent finished.' },
    CANCELLED: { description: '`cancelTurn`, an INTERRUPT message, or `deleteSession`.' },
    ERROR: { description: 'The agent failed; an ErrorEvent came just before.' },
    INTERRUPTED: { description: 'The server stopped (or crashed) during the turn.' },
  } as const,
});

export const ConfigChangeTypeEnum = builder.enumType('ConfigChangeType', {
  values: {
    CONFIG: { description: 'defaultModel or permissionMode changed (maybe the theme too).' },
    THEME: { description: 'Only the theme changed.' },
  } as const,
});

export const TurnStrategyEnum = builder.enumType('TurnStrategy', {
  description: 'What `sendMessage` does when a turn is already running.',
  values: {
    ENQUEUE: { description: 'Queue the message (FIFO); it runs after the running turn.' },
    REJECT: { description: 'Fail with CONFLICT; nothing is recorded.' },
    INTERRUPT: { description: 'Cancel the running turn and run this message next, before the queue.' },
  } as const,
});
