import type { SessionEvent } from './types.js';

/** What travels on a session's topic. */
export type SessionTopicMessage =
  | { kind: 'events'; events: SessionEvent[] }
  /** The session is gone: open subscriptions complete. */
  | { kind: 'deleted' }
  /** Messages may have been lost (pub/sub reconnect): read the store again. */
  | { kind: 'resync' };

export const sessionTopic = (sessionId: string) => `session:${sessionId}`;
export const configTopic = (userId: string) => `config:${userId}`;
