import type { SessionStatus } from '../events/types.js';
import type { MessageRecord, SessionRecord, ToolCallRecord } from './types.js';

/**
 * The row shapes the SQL stores share (SQLite and PostgreSQL have the same columns), and
 * their mapping to records. Tool calls are a JSON string in SQLite and JSONB in PostgreSQL.
 */
export interface SessionRow {
  id: string;
  user_id: string;
  title: string;
  model: string;
  permission_mode: SessionRecord['permissionMode'];
  status: SessionStatus;
  last_seq: number;
  created_at: string;
  updated_at: string;
}

export interface MessageRow<ToolCalls = ToolCallRecord[] | string> {
  position: number;
  id: string;
  role: MessageRecord['role'];
  text: string;
  turn_id: string;
  created_at: string;
  tool_calls: ToolCalls;
}

export const toSession = (r: SessionRow): SessionRecord => ({
  id: r.id,
  userId: r.user_id,
  title: r.title,
  model: r.model,
  permissionMode: r.permission_mode,
  status: r.status,
  lastSeq: r.last_seq,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toMessage = (r: MessageRow): MessageRecord => ({
  id: r.id,
  role: r.role,
  text: r.text,
  turnId: r.turn_id,
  createdAt: r.created_at,
  toolCalls: typeof r.tool_calls === 'string' ? (JSON.parse(r.tool_calls) as ToolCallRecord[]) : r.tool_calls,
});
