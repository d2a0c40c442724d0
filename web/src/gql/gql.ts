/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment SessionEventFields on SessionEvent {\n    __typename\n    ... on Event {\n      sessionId\n      seq\n      turnId\n      at\n    }\n    ... on UserMessageEvent {\n      messageId\n      text\n    }\n    ... on TextDeltaEvent {\n      delta\n    }\n    ... on TextCompleteEvent {\n      text\n      isIntermediate\n    }\n    ... on ToolStartEvent {\n      toolName\n      toolUseId\n      toolInput\n      toolIntent\n      toolDisplayName\n    }\n    ... on ToolResultEvent {\n      toolUseId\n      toolName\n      result\n      isError\n    }\n    ... on PermissionRequestEvent {\n      request {\n        requestId\n        toolName\n        command\n        description\n        expiresAt\n      }\n    }\n    ... on PermissionResolvedEvent {\n      requestId\n      allowed\n      alwaysAllow\n      resolution\n    }\n    ... on CompleteEvent {\n      reason\n      usage {\n        inputTokens\n        outputTokens\n      }\n    }\n    ... on ErrorEvent {\n      error\n      code\n    }\n  }\n": typeof types.SessionEventFieldsFragmentDoc,
    "\n  fragment SessionSnapshotFields on Session {\n    id\n    title\n    status\n    model\n    permissionMode\n    lastSeq\n    messages(last: $last) {\n      id\n      role\n      text\n      turnId\n      createdAt\n      toolCalls {\n        toolUseId\n        toolName\n        input\n        result\n        isError\n      }\n    }\n    pendingPermissions {\n      requestId\n      toolName\n      command\n      description\n      expiresAt\n    }\n    queuedMessages {\n      turnId\n      text\n      createdAt\n    }\n  }\n": typeof types.SessionSnapshotFieldsFragmentDoc,
    "\n  query SessionSnapshot($id: ID!, $last: Int = 100) {\n    session(id: $id) {\n      ...SessionSnapshotFields\n    }\n  }\n": typeof types.SessionSnapshotDocument,
    "\n  subscription ClientSessionEvents($sessionId: ID!, $after: Int) {\n    sessionEvents(sessionId: $sessionId, after: $after) {\n      ...SessionEventFields\n    }\n  }\n": typeof types.ClientSessionEventsDocument,
    "\n  query WebSessions {\n    sessions(limit: 100) {\n      id\n      title\n      status\n      model\n      updatedAt\n    }\n  }\n": typeof types.WebSessionsDocument,
    "\n  mutation WebCreateSession($input: CreateSessionInput) {\n    createSession(input: $input) {\n      id\n      title\n      status\n      model\n      updatedAt\n    }\n  }\n": typeof types.WebCreateSessionDocument,
    "\n  query WebConfig {\n    config {\n      theme\n    }\n  }\n": typeof types.WebConfigDocument,
    "\n  subscription WebConfigChanged {\n    configChanged {\n      config {\n        theme\n      }\n    }\n  }\n": typeof types.WebConfigChangedDocument,
    "\n  query WebRecentEvents($id: ID!, $after: Int!, $limit: Int!) {\n    session(id: $id) {\n      events(after: $after, limit: $limit) {\n        ...SessionEventFields\n      }\n    }\n  }\n": typeof types.WebRecentEventsDocument,
    "\n  query WebEarlierMessages($id: ID!, $before: ID!, $last: Int!) {\n    session(id: $id) {\n      messages(last: $last, before: $before) {\n        id\n        role\n        text\n        turnId\n        createdAt\n        toolCalls {\n          toolUseId\n          toolName\n          input\n          result\n          isError\n        }\n      }\n    }\n  }\n": typeof types.WebEarlierMessagesDocument,
    "\n  mutation WebSendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      turnId\n      queued\n    }\n  }\n": typeof types.WebSendMessageDocument,
    "\n  mutation WebRespond($input: RespondToPermissionInput!) {\n    respondToPermission(input: $input) {\n      requestId\n      status\n    }\n  }\n": typeof types.WebRespondDocument,
    "\n  mutation WebCancel($id: ID!) {\n    cancelTurn(sessionId: $id) {\n      id\n      status\n    }\n  }\n": typeof types.WebCancelDocument,
};
const documents: Documents = {
    "\n  fragment SessionEventFields on SessionEvent {\n    __typename\n    ... on Event {\n      sessionId\n      seq\n      turnId\n      at\n    }\n    ... on UserMessageEvent {\n      messageId\n      text\n    }\n    ... on TextDeltaEvent {\n      delta\n    }\n    ... on TextCompleteEvent {\n      text\n      isIntermediate\n    }\n    ... on ToolStartEvent {\n      toolName\n      toolUseId\n      toolInput\n      toolIntent\n      toolDisplayName\n    }\n    ... on ToolResultEvent {\n      toolUseId\n      toolName\n      result\n      isError\n    }\n    ... on PermissionRequestEvent {\n      request {\n        requestId\n        toolName\n        command\n        description\n        expiresAt\n      }\n    }\n    ... on PermissionResolvedEvent {\n      requestId\n      allowed\n      alwaysAllow\n      resolution\n    }\n    ... on CompleteEvent {\n      reason\n      usage {\n        inputTokens\n        outputTokens\n      }\n    }\n    ... on ErrorEvent {\n      error\n      code\n    }\n  }\n": types.SessionEventFieldsFragmentDoc,
    "\n  fragment SessionSnapshotFields on Session {\n    id\n    title\n    status\n    model\n    permissionMode\n    lastSeq\n    messages(last: $last) {\n      id\n      role\n      text\n      turnId\n      createdAt\n      toolCalls {\n        toolUseId\n        toolName\n        input\n        result\n        isError\n      }\n    }\n    pendingPermissions {\n      requestId\n      toolName\n      command\n      description\n      expiresAt\n    }\n    queuedMessages {\n      turnId\n      text\n      createdAt\n    }\n  }\n": types.SessionSnapshotFieldsFragmentDoc,
    "\n  query SessionSnapshot($id: ID!, $last: Int = 100) {\n    session(id: $id) {\n      ...SessionSnapshotFields\n    }\n  }\n": types.SessionSnapshotDocument,
    "\n  subscription ClientSessionEvents($sessionId: ID!, $after: Int) {\n    sessionEvents(sessionId: $sessionId, after: $after) {\n      ...SessionEventFields\n    }\n  }\n": types.ClientSessionEventsDocument,
    "\n  query WebSessions {\n    sessions(limit: 100) {\n      id\n      title\n      status\n      model\n      updatedAt\n    }\n  }\n": types.WebSessionsDocument,
    "\n  mutation WebCreateSession($input: CreateSessionInput) {\n    createSession(input: $input) {\n      id\n      title\n      status\n      model\n      updatedAt\n    }\n  }\n": types.WebCreateSessionDocument,
    "\n  query WebConfig {\n    config {\n      theme\n    }\n  }\n": types.WebConfigDocument,
    "\n  subscription WebConfigChanged {\n    configChanged {\n      config {\n        theme\n      }\n    }\n  }\n": types.WebConfigChangedDocument,
    "\n  query WebRecentEvents($id: ID!, $after: Int!, $limit: Int!) {\n    session(id: $id) {\n      events(after: $after, limit: $limit) {\n        ...SessionEventFields\n      }\n    }\n  }\n": types.WebRecentEventsDocument,
    "\n  query WebEarlierMessages($id: ID!, $before: ID!, $last: Int!) {\n    session(id: $id) {\n      messages(last: $last, before: $before) {\n        id\n        role\n        text\n        turnId\n        createdAt\n        toolCalls {\n          toolUseId\n          toolName\n          input\n          result\n          isError\n        }\n      }\n    }\n  }\n": types.WebEarlierMessagesDocument,
    "\n  mutation WebSendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      turnId\n      queued\n    }\n  }\n": types.WebSendMessageDocument,
    "\n  mutation WebRespond($input: RespondToPermissionInput!) {\n    respondToPermission(input: $input) {\n      requestId\n      status\n    }\n  }\n": types.WebRespondDocument,
    "\n  mutation WebCancel($id: ID!) {\n    cancelTurn(sessionId: $id) {\n      id\n      status\n    }\n  }\n": types.WebCancelDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment SessionEventFields on SessionEvent {\n    __typename\n    ... on Event {\n      sessionId\n      seq\n      turnId\n      at\n    }\n    ... on UserMessageEvent {\n      messageId\n      text\n    }\n    ... on TextDeltaEvent {\n      delta\n    }\n    ... on TextCompleteEvent {\n      text\n      isIntermediate\n    }\n    ... on ToolStartEvent {\n      toolName\n      toolUseId\n      toolInput\n      toolIntent\n      toolDisplayName\n    }\n    ... on ToolResultEvent {\n      toolUseId\n      toolName\n      result\n      isError\n    }\n    ... on PermissionRequestEvent {\n      request {\n        requestId\n        toolName\n        command\n        description\n        expiresAt\n      }\n    }\n    ... on PermissionResolvedEvent {\n      requestId\n      allowed\n      alwaysAllow\n      resolution\n    }\n    ... on CompleteEvent {\n      reason\n      usage {\n        inputTokens\n        outputTokens\n      }\n    }\n    ... on ErrorEvent {\n      error\n      code\n    }\n  }\n"): (typeof documents)["\n  fragment SessionEventFields on SessionEvent {\n    __typename\n    ... on Event {\n      sessionId\n      seq\n      turnId\n      at\n    }\n    ... on UserMessageEvent {\n      messageId\n      text\n    }\n    ... on TextDeltaEvent {\n      delta\n    }\n    ... on TextCompleteEvent {\n      text\n      isIntermediate\n    }\n    ... on ToolStartEvent {\n      toolName\n      toolUseId\n      toolInput\n      toolIntent\n      toolDisplayName\n    }\n    ... on ToolResultEvent {\n      toolUseId\n      toolName\n      result\n      isError\n    }\n    ... on PermissionRequestEvent {\n      request {\n        requestId\n        toolName\n        command\n        description\n        expiresAt\n      }\n    }\n    ... on PermissionResolvedEvent {\n      requestId\n      allowed\n      alwaysAllow\n      resolution\n    }\n    ... on CompleteEvent {\n      reason\n      usage {\n        inputTokens\n        outputTokens\n      }\n    }\n    ... on ErrorEvent {\n      error\n      code\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment SessionSnapshotFields on Session {\n    id\n    title\n    status\n    model\n    permissionMode\n    lastSeq\n    messages(last: $last) {\n      id\n      role\n      text\n      turnId\n      createdAt\n      toolCalls {\n        toolUseId\n        toolName\n        input\n        result\n        isError\n      }\n    }\n    pendingPermissions {\n      requestId\n      toolName\n      command\n      description\n      expiresAt\n    }\n    queuedMessages {\n      turnId\n      text\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  fragment SessionSnapshotFields on Session {\n    id\n    title\n    status\n    model\n    permissionMode\n    lastSeq\n    messages(last: $last) {\n      id\n      role\n      text\n      turnId\n      createdAt\n      toolCalls {\n        toolUseId\n        toolName\n        input\n        result\n        isError\n      }\n    }\n    pendingPermissions {\n      requestId\n      toolName\n      command\n      description\n      expiresAt\n    }\n    queuedMessages {\n      turnId\n      text\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SessionSnapshot($id: ID!, $last: Int = 100) {\n    session(id: $id) {\n      ...SessionSnapshotFields\n    }\n  }\n"): (typeof documents)["\n  query SessionSnapshot($id: ID!, $last: Int = 100) {\n    session(id: $id) {\n      ...SessionSnapshotFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ClientSessionEvents($sessionId: ID!, $after: Int) {\n    sessionEvents(sessionId: $sessionId, after: $after) {\n      ...SessionEventFields\n    }\n  }\n"): (typeof documents)["\n  subscription ClientSessionEvents($sessionId: ID!, $after: Int) {\n    sessionEvents(sessionId: $sessionId, after: $after) {\n      ...SessionEventFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebSessions {\n    sessions(limit: 100) {\n      id\n      title\n      status\n      model\n      updatedAt\n    }\n  }\n"): (typeof documents)["\n  query WebSessions {\n    sessions(limit: 100) {\n      id\n      title\n      status\n      model\n      updatedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebCreateSession($input: CreateSessionInput) {\n    createSession(input: $input) {\n      id\n      title\n      status\n      model\n      updatedAt\n    }\n  }\n"): (typeof documents)["\n  mutation WebCreateSession($input: CreateSessionInput) {\n    createSession(input: $input) {\n      id\n      title\n      status\n      model\n      updatedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebConfig {\n    config {\n      theme\n    }\n  }\n"): (typeof documents)["\n  query WebConfig {\n    config {\n      theme\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WebConfigChanged {\n    configChanged {\n      config {\n        theme\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription WebConfigChanged {\n    configChanged {\n      config {\n        theme\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebRecentEvents($id: ID!, $after: Int!, $limit: Int!) {\n    session(id: $id) {\n      events(after: $after, limit: $limit) {\n        ...SessionEventFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query WebRecentEvents($id: ID!, $after: Int!, $limit: Int!) {\n    session(id: $id) {\n      events(after: $after, limit: $limit) {\n        ...SessionEventFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WebEarlierMessages($id: ID!, $before: ID!, $last: Int!) {\n    session(id: $id) {\n      messages(last: $last, before: $before) {\n        id\n        role\n        text\n        turnId\n        createdAt\n        toolCalls {\n          toolUseId\n          toolName\n          input\n          result\n          isError\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query WebEarlierMessages($id: ID!, $before: ID!, $last: Int!) {\n    session(id: $id) {\n      messages(last: $last, before: $before) {\n        id\n        role\n        text\n        turnId\n        createdAt\n        toolCalls {\n          toolUseId\n          toolName\n          input\n          result\n          isError\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebSendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      turnId\n      queued\n    }\n  }\n"): (typeof documents)["\n  mutation WebSendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      turnId\n      queued\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebRespond($input: RespondToPermissionInput!) {\n    respondToPermission(input: $input) {\n      requestId\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation WebRespond($input: RespondToPermissionInput!) {\n    respondToPermission(input: $input) {\n      requestId\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation WebCancel($id: ID!) {\n    cancelTurn(sessionId: $id) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation WebCancel($id: ID!) {\n    cancelTurn(sessionId: $id) {\n      id\n      status\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;