/**
 * The one internal SessionEvent type. GraphQL types (schema/events.ts), the store's rows and
 * the wire all derive from it: add a member here and the compiler points at every place that
 * must learn about it.
 */

export type SessionStatus = 'IDLE' | 'RUNNING' | 'AWAITING_PERMISSION';
export type PermissionMode = 'ASK' | 'ALLOW_ALL' | 'DENY_ALL';
export type PermissionStatus = 'PENDING' | 'ALLOWED' | 'DENIED' | 'EXPIRED' | 'CANCELLED';
export type PermissionResolution = 'USER' | 'RULE' | 'TIMEOUT' | 'CANCELLED';
export type StopReason = 'END_TURN' | 'CANCELLED' | 'ERROR' | 'INTERRUPTED';

export interface PermissionRequest {
  requestId: string;
  toolName: string;
  command: string | null;
  description: string | null;
  /** ISO-8601; null when requests never expire. */
  expiresAt: string | null;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** Fields every event has. `seq` is assigned when the event is appended to its session's log. */
export interface EventBase {
  sessionId: string;
  seq: number;
  /** Null only for events outside a turn. */
  turnId: string | null;
  /** ISO-8601 time the event was produced. */
  at: string;
}

export type SessionEventBody =
  | { type: 'USER_MESSAGE'; messageId: string; text: string }
  | { type: 'TEXT_DELTA'; delta: string }
  | { type: 'TEXT_COMPLETE'; text: string; isIntermediate: boolean }
  | {
      type: 'TOOL_START';
      toolName: string;
      toolUseId: string;
      toolInput: unknown;
      toolIntent: string | null;
      toolDisplayName: string | null;
    }
  | { type: 'TOOL_RESULT'; toolUseId: string; toolName: string; result: string; isError: boolean }
  | { type: 'PERMISSION_REQUEST'; request: PermissionRequest }
  | {
      type: 'PERMISSION_RESOLVED';
      requestId: string;
      allowed: boolean;
      alwaysAllow: boolean;
      resolution: PermissionResolution;
    }
  | { type: 'COMPLETE'; reason: StopReason; usage: Usage | null }
  | { type: 'ERROR'; error: string; code: string | null };

export type SessionEventType = SessionEventBody['type'];

/** An event as stored and delivered. */
export type SessionEvent = EventBase & SessionEventBody;

/** An event before the log has given it a seq. */
export type NewSessionEvent = Omit<EventBase, 'seq'> & SessionEventBody;

/** Narrow a union member by its `type`. */
export type EventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;

/** The GraphQL object type name of each member; the schema's union resolves by it. */
export const graphqlTypeName = {
  USER_MESSAGE: 'UserMessageEvent',
  TEXT_DELTA: 'TextDeltaEvent',
  TEXT_COMPLETE: 'TextCompleteEvent',
  TOOL_START: 'ToolStartEvent',
  TOOL_RESULT: 'ToolResultEvent',
  PERMISSION_REQUEST: 'PermissionRequestEvent',
  PERMISSION_RESOLVED: 'PermissionResolvedEvent',
  COMPLETE: 'CompleteEvent',
  ERROR: 'ErrorEvent',
} as const satisfies Record<SessionEventType, string>;

/** The permission status a resolution leaves its request in. */
export function permissionStatusOf(
  event: Pick<EventOf<'PERMISSION_RESOLVED'>, 'allowed' | 'resolution'>,
): PermissionStatus {
  switch (event.resolution) {
    case 'TIMEOUT':
      return 'EXPIRED';
    case 'CANCELLED':
      return 'CANCELLED';
    default:
      return event.allowed ? 'ALLOWED' : 'DENIED';
  }
}
