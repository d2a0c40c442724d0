import { print } from 'graphql';
import { SessionEventFields, SessionSnapshotQuery } from 'switchboard/client';

/** The app's operations beside the client library's (which seed and follow a session). */

export interface SessionSummary {
  id: string;
  title: string;
  status: string;
  model: string;
  updatedAt: string;
}

export const SESSIONS = `query WebSessions { sessions(limit: 100) { id title status model updatedAt } }`;

export const CREATE_SESSION = `mutation WebCreateSession($input: CreateSessionInput) {
  createSession(input: $input) { id title status model updatedAt }
}`;

export const SNAPSHOT = print(SessionSnapshotQuery);

export const RECENT_EVENTS = `query WebRecentEvents($id: ID!, $after: Int!) {
  session(id: $id) { events(after: $after, limit: 1000) { ...SessionEventFields } }
}
${print(SessionEventFields)}`;

export const SEND_MESSAGE = `mutation WebSendMessage($input: SendMessageInput!) {
  sendMessage(input: $input) { turnId queued }
}`;

export const RESPOND = `mutation WebRespond($input: RespondToPermissionInput!) {
  respondToPermission(input: $input) { requestId status }
}`;

export const CANCEL = `mutation WebCancel($id: ID!) { cancelTurn(sessionId: $id) { id status } }`;

export const CONFIG = `query WebConfig { config { theme } }`;

export const CONFIG_CHANGED = `subscription WebConfigChanged { configChanged { config { theme } } }`;

/** The page of messages before `before` (oldest first), for "Show earlier messages". */
export const EARLIER_MESSAGES = `query WebEarlierMessages($id: ID!, $before: ID!, $last: Int!) {
  session(id: $id) {
    messages(last: $last, before: $before) {
      id role text turnId createdAt
      toolCalls { toolUseId toolName input result isError }
    }
  }
}`;
