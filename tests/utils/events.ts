import type { NewSessionEvent, PermissionRequest, PermissionResolution, StopReason } from '../../src/events/types.js';
import type { SessionRecord } from '../../src/store/types.js';

/**
 * Builders of NewSessionEvents and SessionRecords for unit and contract tests: only the
 * fields a test cares about are given, the rest get plain defaults.
 */

let unique = 0;
/** A fresh id with a readable prefix, unique within the test process (stores may be shared). */
export const uniqueId = (prefix = 'id') => `${prefix}-${process.pid}-${Date.now().toString(36)}-${unique++}`;

const AT = '2024-01-01T00:00:00.000Z';

/** One member of NewSessionEvent, so a test can spread it and change its own fields. */
export type NewEventOf<T extends NewSessionEvent['type']> = Extract<NewSessionEvent, { type: T }>;

export interface EventOptions {
  turnId?: string | null;
  at?: string;
}

const base = (sessionId: string, { turnId = 't1', at = AT }: EventOptions = {}) => ({ sessionId, turnId, at });

export const userMessage = (
  sessionId: string,
  text: string,
  opts: EventOptions & { messageId?: string } = {},
): NewEventOf<'USER_MESSAGE'> => ({
  ...base(sessionId, opts),
  type: 'USER_MESSAGE',
  messageId: opts.messageId ?? `m-${opts.turnId ?? 't1'}`,
  text,
});

export const delta = (sessionId: string, text: string, opts?: EventOptions): NewEventOf<'TEXT_DELTA'> => ({
  ...base(sessionId, opts),
  type: 'TEXT_DELTA',
  delta: text,
});

export const textComplete = (
  sessionId: string,
  text: string,
  opts?: EventOptions & { isIntermediate?: boolean },
): NewEventOf<'TEXT_COMPLETE'> => ({
  ...base(sessionId, opts),
  type: 'TEXT_COMPLETE',
  text,
  isIntermediate: opts?.isIntermediate ?? false,
});

export const toolStart = (
  sessionId: string,
  toolUseId: string,
  opts?: EventOptions & { toolName?: string; toolInput?: unknown },
): NewEventOf<'TOOL_START'> => ({
  ...base(sessionId, opts),
  type: 'TOOL_START',
  toolName: opts?.toolName ?? 'write_file',
  toolUseId,
  toolInput: opts?.toolInput ?? { path: 'a.txt' },
  toolIntent: null,
  toolDisplayName: null,
});

export const toolResult = (
  sessionId: string,
  toolUseId: string,
  result: string,
  opts?: EventOptions & { toolName?: string; isError?: boolean },
): NewEventOf<'TOOL_RESULT'> => ({
  ...base(sessionId, opts),
  type: 'TOOL_RESULT',
  toolUseId,
  toolName: opts?.toolName ?? 'write_file',
  result,
  isError: opts?.isError ?? false,
});

export const permissionRequest = (
  sessionId: string,
  request: Partial<PermissionRequest> & { requestId: string },
  opts?: EventOptions,
): NewEventOf<'PERMISSION_REQUEST'> => ({
  ...base(sessionId, opts),
  type: 'PERMISSION_REQUEST',
  request: { toolName: 'write_file', command: null, description: null, expiresAt: null, ...request },
});

export const permissionResolved = (
  sessionId: string,
  requestId: string,
  allowed: boolean,
  opts?: EventOptions & { resolution?: PermissionResolution; alwaysAllow?: boolean },
): NewEventOf<'PERMISSION_RESOLVED'> => ({
  ...base(sessionId, opts),
  type: 'PERMISSION_RESOLVED',
  requestId,
  allowed,
  alwaysAllow: opts?.alwaysAllow ?? false,
  resolution: opts?.resolution ?? 'USER',
});

export const complete = (sessionId: string, opts?: EventOptions & { reason?: StopReason }): NewEventOf<'COMPLETE'> => ({
  ...base(sessionId, opts),
  type: 'COMPLETE',
  reason: opts?.reason ?? 'END_TURN',
  usage: null,
});

/** A new idle session record with no events. */
export const sessionRecord = (overrides: Partial<SessionRecord> & { id: string }): SessionRecord => ({
  userId: 'local',
  title: 'New session',
  model: 'demo',
  permissionMode: 'ASK',
  status: 'IDLE',
  lastSeq: 0,
  createdAt: AT,
  updatedAt: AT,
  ...overrides,
});
