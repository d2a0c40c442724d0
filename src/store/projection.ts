import { permissionStatusOf, type NewSessionEvent, type SessionEvent, type SessionStatus } from '../events/types.js';
import type { MessageRecord, PermissionRecord, QueuedMessageRecord, ToolCallRecord } from './types.js';

/**
 * What appending one event changes besides the log itself. Every store applies these ops in
 * the same transaction as the append; keeping the mapping here, pure, makes every backend
 * derive exactly the same state from the same events.
 */
export type ProjectionOp =
  | { op: 'status'; status: SessionStatus }
  | { op: 'dequeue'; turnId: string }
  | { op: 'addMessage'; message: MessageRecord }
  /** Attach to the newest message if it is this turn's assistant message, else open one. */
  | { op: 'addToolCall'; turnId: string; toolCall: ToolCallRecord; newMessage: MessageRecord }
  | { op: 'toolResult'; toolUseId: string; result: string; isError: boolean }
  | { op: 'addPermission'; permission: PermissionRecord }
  | { op: 'resolvePermission'; requestId: string; status: PermissionRecord['status'] };

/** The USER_MESSAGE that starts a queued message's turn (Store.startTurn). */
export const userMessageOf = (sessionId: string, queued: QueuedMessageRecord, at: string): NewSessionEvent => ({
  type: 'USER_MESSAGE',
  sessionId,
  turnId: queued.turnId,
  at,
  messageId: queued.messageId,
  text: queued.text,
});

/** Id of an assistant message opened by the event with this seq: unique across sessions. */
export const assistantMessageId = (sessionId: string, seq: number) => `${sessionId}:${seq}`;

export function projectionOf(event: SessionEvent): ProjectionOp[] {
  const turnId = event.turnId ?? '';
  switch (event.type) {
    case 'USER_MESSAGE':
      return [
        { op: 'dequeue', turnId },
        { op: 'status', status: 'RUNNING' },
        {
          op: 'addMessage',
          message: {
            id: event.messageId,
            role: 'USER',
            text: event.text,
            turnId,
            createdAt: event.at,
            toolCalls: [],
          },
        },
      ];
    case 'TEXT_COMPLETE':
      return [
        {
          op: 'addMessage',
          message: {
            id: assistantMessageId(event.sessionId, event.seq),
            role: 'ASSISTANT',
            text: event.text,
            turnId,
            createdAt: event.at,
            toolCalls: [],
          },
        },
      ];
    case 'TOOL_START':
      return [
        {
          op: 'addToolCall',
          turnId,
          toolCall: {
            toolUseId: event.toolUseId,
            toolName: event.toolName,
            input: event.toolInput,
            result: null,
            isError: false,
          },
          newMessage: {
            id: assistantMessageId(event.sessionId, event.seq),
            role: 'ASSISTANT',
            text: '',
            turnId,
            createdAt: event.at,
            toolCalls: [],
          },
        },
      ];
    case 'TOOL_RESULT':
      return [{ op: 'toolResult', toolUseId: event.toolUseId, result: event.result, isError: event.isError }];
    case 'PERMISSION_REQUEST':
      return [
        { op: 'addPermission', permission: { request: event.request, turnId: event.turnId, status: 'PENDING' } },
        { op: 'status', status: 'AWAITING_PERMISSION' },
      ];
    case 'PERMISSION_RESOLVED':
      return [
        { op: 'resolvePermission', requestId: event.requestId, status: permissionStatusOf(event) },
        { op: 'status', status: 'RUNNING' },
      ];
    case 'COMPLETE':
      return [{ op: 'status', status: 'IDLE' }];
    case 'TEXT_DELTA':
    case 'ERROR':
      return [];
  }
}
