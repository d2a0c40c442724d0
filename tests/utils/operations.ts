import { graphql } from '../gql/index.js';

/** Every field of every SessionEvent member: what a chat front end would select. */
export const EventFields = graphql(`
  fragment EventFields on SessionEvent {
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

export const SessionFields = graphql(`
  fragment SessionFields on Session {
    id
    title
    status
    model
    permissionMode
    createdAt
    updatedAt
    lastSeq
    pendingPermissions {
      requestId
      toolName
      command
      expiresAt
    }
    queuedMessages {
      turnId
      text
      createdAt
    }
  }
`);

export const SessionEventsSubscription = graphql(`
  subscription SessionEvents($sessionId: ID!, $after: Int) {
    sessionEvents(sessionId: $sessionId, after: $after) {
      ...EventFields
    }
  }
`);

export const ConfigChangedSubscription = graphql(`
  subscription ConfigChanged {
    configChanged {
      changeType
      config {
        defaultModel
        models
        permissionMode
        theme
      }
    }
  }
`);

export const CreateSessionMutation = graphql(`
  mutation CreateSession($input: CreateSessionInput) {
    createSession(input: $input) {
      ...SessionFields
    }
  }
`);

export const SendMessageMutation = graphql(`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      turnId
      queued
      session {
        ...SessionFields
      }
    }
  }
`);

export const RespondToPermissionMutation = graphql(`
  mutation RespondToPermission($input: RespondToPermissionInput!) {
    respondToPermission(input: $input) {
      requestId
      status
      session {
        ...SessionFields
      }
    }
  }
`);

export const CancelTurnMutation = graphql(`
  mutation CancelTurn($sessionId: ID!) {
    cancelTurn(sessionId: $sessionId) {
      ...SessionFields
    }
  }
`);

export const DeleteSessionMutation = graphql(`
  mutation DeleteSession($id: ID!) {
    deleteSession(id: $id)
  }
`);

export const UpdateConfigMutation = graphql(`
  mutation UpdateConfig($input: UpdateConfigInput!) {
    updateConfig(input: $input) {
      defaultModel
      models
      permissionMode
      theme
    }
  }
`);

export const SessionQuery = graphql(`
  query Session($id: ID!, $after: Int, $limit: Int) {
    session(id: $id) {
      ...SessionFields
      messages {
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
      events(after: $after, limit: $limit) {
        ...EventFields
      }
    }
  }
`);

export const SessionsQuery = graphql(`
  query Sessions($limit: Int) {
    sessions(limit: $limit) {
      id
      title
      createdAt
    }
  }
`);

export const ConfigQuery = graphql(`
  query Config {
    config {
      defaultModel
      models
      permissionMode
      theme
    }
  }
`);
