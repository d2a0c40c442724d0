import type {
  PermissionResolution,
  SessionEventFieldsFragment,
  SessionStatus,
  StopReason,
} from './gql/graphql.js';

/** One session event as the client's documents select it (a union on `__typename`). */
export type ClientEvent = SessionEventFieldsFragment;

export type { PermissionResolution, SessionStatus, StopReason };

/** A permission request's outcome, as the schema's PermissionStatus. */
export type PermissionStatus = 'PENDING' | 'ALLOWED' | 'DENIED' | 'EXPIRED' | 'CANCELLED';

interface ItemBase {
  /** Stable and unique in the view: a list key for a UI. */
  readonly key: string;
  /** Null for an item seeded from a snapshot that does not say (a pending permission). */
  readonly turnId: string | null;
}

export interface UserItem extends ItemBase {
  readonly kind: 'user';
  readonly messageId: string;
  readonly text: string;
  readonly at: string;
}

export interface TextItem extends ItemBase {
  readonly kind: 'text';
  readonly text: string;
  /** A block the model followed with tool calls (TextCompleteEvent.isIntermediate). */
  readonly isIntermediate: boolean;
  /**
   * `streaming` while deltas arrive; `complete` once TextCompleteEvent confirmed it (its text
   * replaces the deltas'); `cut` when the turn went on without completing it (error, cancel).
   */
  readonly state: 'streaming' | 'complete' | 'cut';
}

export interface ToolItem extends ItemBase {
  readonly kind: 'tool';
  readonly toolUseId: string;
  readonly toolName: string;
  readonly input: unknown;
  readonly intent: string | null;
  readonly displayName: string | null;
  /** Null until ToolResultEvent. */
  readonly result: string | null;
  readonly isError: boolean;
}

export interface PermissionItem extends ItemBase {
  readonly kind: 'permission';
  readonly requestId: string;
  /** Null for a rule's resolution that no tool call in the view precedes. */
  readonly toolName: string | null;
  readonly command: string | null;
  readonly description: string | null;
  readonly expiresAt: string | null;
  /** PENDING until resolved; EXPIRED for a TIMEOUT, CANCELLED for a cancel, else ALLOWED/DENIED. */
  readonly status: PermissionStatus;
  /** Null while pending. RULE: an earlier "always allow" answered it without asking. */
  readonly resolution: PermissionResolution | null;
  readonly alwaysAllow: boolean;
}

export interface ErrorItem extends ItemBase {
  readonly kind: 'error';
  readonly error: string;
  readonly code: string | null;
}

export interface CompleteItem extends ItemBase {
  readonly kind: 'complete';
  readonly reason: StopReason;
  readonly usage: Usage | null;
}

export type ConversationItem = UserItem | TextItem | ToolItem | PermissionItem | ErrorItem | CompleteItem;

export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface QueuedItem {
  readonly turnId: string;
  readonly text: string;
  readonly createdAt: string;
}

/** The running turn, or the last one that ran. */
export interface TurnView {
  readonly turnId: string;
  readonly running: boolean;
  /** Set by CompleteEvent. */
  readonly reason: StopReason | null;
  readonly usage: Usage | null;
  readonly errors: readonly ErrorItem[];
}

/**
 * What a chat UI shows of one session. Every update is a new object sharing what did not
 * change, so `===` tells a UI what to re-render.
 */
export interface SessionView {
  readonly sessionId: string | null;
  /** The seq of the newest event applied; the `after` to resume from. */
  readonly lastSeq: number;
  readonly status: SessionStatus;
  /**
   * The conversation, oldest first, without the text block still streaming (`streaming`,
   * shown after these): a delta then touches only that block, never this array.
   */
  readonly items: readonly ConversationItem[];
  readonly streaming: TextItem | null;
  /** Requests waiting for an answer, oldest first (also in `items`, with their outcome). */
  readonly pendingPermissions: readonly PermissionItem[];
  /** Messages waiting for the running turn, in order. */
  readonly queued: readonly QueuedItem[];
  readonly turn: TurnView | null;
}

export const emptyView: SessionView = Object.freeze({
  sessionId: null,
  lastSeq: 0,
  status: 'IDLE',
  items: Object.freeze([]) as readonly ConversationItem[],
  streaming: null,
  pendingPermissions: Object.freeze([]) as readonly PermissionItem[],
  queued: Object.freeze([]) as readonly QueuedItem[],
  turn: null,
});

/** The whole conversation in order, the streaming block last: what to render. */
export function conversationOf(view: SessionView): readonly ConversationItem[] {
  return view.streaming ? [...view.items, view.streaming] : view.items;
}
