import { graphql } from './gql/index.js';

/**
 * The client library's own operations. codegen.ts turns them into typed documents under
 * src/client/gql (`npm run codegen`), separate from the tests' so the library ships only what
 * it uses.
 */

/** Every field of every SessionEvent member: what the reducer reads. */
export const SessionEventFields = graphql(`
  fragment SessionEventFields on SessionEvent {
    __typename
    ... on Event {
      sessionId
      seq
      turnId
      at
    }
    ... on UserMessageEvent {
      messageId
      text
    }
    ... on TextDeltaEvent {
      delta
    }
    ... on TextCompleteEvent {
      text
      isIntermediate
    }
    ... on ToolStartEvent {
      toolName
      toolUseId
      toolInput
      toolIntent
      toolDisplayName
    }
    ... on ToolResultEvent {
      toolUseId
      toolName
      result
      isError
    }
    ... on PermissionRequestEvent {
      request {
        requestId
        toolName
        command
        description
        expiresAt
      }
    }
    ... on PermissionResolvedEvent {
      requestId
      allowed
      alwaysAllow
      resolution
    }
    ... on CompleteEvent {
      reason
      usage {
        inputTokens
        outputTokens
      }
    }
    ... on ErrorEvent {
      error
      code
    }
  }
`);

/** What seeds a session view: the newest messages and the state events would have built. */
export const SessionSnapshotFields = graphql(`
  fragment SessionSnapshotFields on Session {
    id
    title
    status
    model
    permissionMode
    lastSeq
    messages(last: $last) {
      id
      role
      text
      turnId
      createdAt
      toolCalls {
        toolUseId
        toolName
        input
        result
        isError
      }
    }
    pendingPermissions {
      requestId
      toolName
      command
      description
      expiresAt
    }
    queuedMessages {
      turnId
      text
      createdAt
    }
  }
`);

/** One session for `seedView`; null when it does not exist (or is not the caller's). */
export const SessionSnapshotQuery = graphql(`
  query SessionSnapshot($id: ID!, $last: Int = 100) {
    session(id: $id) {
      ...SessionSnapshotFields
    }
  }
`);

export const SessionEventsSubscription = graphql(`
  subscription ClientSessionEvents($sessionId: ID!, $after: Int) {
    sessionEvents(sessionId: $sessionId, after: $after) {
      ...SessionEventFields
    }
  }
`);
