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
    "\n  fragment EventFields on SessionEvent {\n    __typename\n    ... on Event {\n      sessionId\n      seq\n      turnId\n      at\n    }\n    ... on UserMessageEvent {\n      messageId\n      text\n    }\n    ... on TextDeltaEvent {\n      delta\n    }\n    ... on TextCompleteEvent {\n      text\n      isIntermediate\n    }\n    ... on ToolStartEvent {\n      toolName\n      toolUseId\n      toolInput\n      toolIntent\n      toolDisplayName\n    }\n    ... on ToolResultEvent {\n      toolUseId\n      toolName\n      result\n      isError\n    }\n    ... on PermissionRequestEvent {\n      request {\n        requestId\n        toolName\n        command\n        description\n        expiresAt\n      }\n    }\n    ... on PermissionResolvedEvent {\n      requestId\n      allowed\n      alwaysAllow\n      resolution\n    }\n    ... on CompleteEvent {\n      reason\n      usage {\n        inputTokens\n        outputTokens\n      }\n    }\n    ... on ErrorEvent {\n      error\n      code\n    }\n  }\n": typeof types.EventFieldsFragmentDoc,
    "\n  fragment SessionFields on Session {\n    id\n    title\n    status\n    model\n    permissionMode\n    createdAt\n    updatedAt\n    lastSeq\n    pendingPermissions {\n      requestId\n      toolName\n      command\n      expiresAt\n    }\n    queuedMessages {\n      turnId\n      text\n      createdAt\n    }\n  }\n": typeof types.SessionFieldsFragmentDoc,
    "\n  subscription SessionEvents($sessionId: ID!, $after: Int) {\n    sessionEvents(sessionId: $sessionId, after: $after) {\n      ...EventFields\n    }\n  }\n": typeof types.SessionEventsDocument,
    "\n  subscription ConfigChanged {\n    configChanged {\n      changeType\n      config {\n        defaultModel\n        models\n        permissionMode\n        theme\n      }\n    }\n  }\n": typeof types.ConfigChangedDocument,
    "\n  mutation CreateSession($input: CreateSessionInput) {\n    createSession(input: $input) {\n      ...SessionFields\n    }\n  }\n": typeof types.CreateSessionDocument,
    "\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      turnId\n      queued\n      session {\n        ...SessionFields\n      }\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  mutation RespondToPermission($input: RespondToPermissionInput!) {\n    respondToPermission(input: $input) {\n      requestId\n      status\n      session {\n        ...SessionFields\n      }\n    }\n  }\n": typeof types.RespondToPermissionDocument,
    "\n  mutation CancelTurn($sessionId: ID!) {\n    cancelTurn(sessionId: $sessionId) {\n      ...SessionFields\n    }\n  }\n": typeof types.CancelTurnDocument,
    "\n  mutation DeleteSession($id: ID!) {\n    deleteSession(id: $id)\n  }\n": typeof types.DeleteSessionDocument,
    "\n  mutation UpdateConfig($input: UpdateConfigInput!) {\n    updateConfig(input: $input) {\n      defaultModel\n      models\n      permissionMode\n      theme\n    }\n  }\n": typeof types.UpdateConfigDocument,
    "\n  query Session($id: ID!, $after: Int, $limit: Int) {\n    session(id: $id) {\n      ...SessionFields\n      messages {\n        id\n        role\n        text\n        turnId\n        createdAt\n        toolCalls {\n          toolUseId\n          toolName\n          input\n          result\n          isError\n        }\n      }\n      events(after: $after, limit: $limit) {\n        ...EventFields\n      }\n    }\n  }\n": typeof types.SessionDocument,
    "\n  query Sessions($limit: Int) {\n    sessions(limit: $limit) {\n      id\n      title\n      createdAt\n    }\n  }\n": typeof types.SessionsDocument,
    "\n  query Config {\n    config {\n      defaultModel\n      models\n      permissionMode\n      theme\n    }\n  }\n": typeof types.ConfigDocument,
};
const documents: Documents = {
    "\n  fragment EventFields on SessionEvent {\n    __typename\n    ... on Event {\n      sessionId\n      seq\n      turnId\n      at\n    }\n    ... on UserMessageEvent {\n      messageId\n      text\n    }\n    ... on TextDeltaEvent {\n      delta\n    }\n    ... on TextCompleteEvent {\n      text\n      isIntermediate\n    }\n    ... on ToolStartEvent {\n      toolName\n      toolUseId\n      toolInput\n      toolIntent\n      toolDisplayName\n    }\n    ... on ToolResultEvent {\n      toolUseId\n      toolName\n      result\n      isError\n    }\n    ... on PermissionRequestEvent {\n      request {\n        requestId\n        toolName\n        command\n        description\n        expiresAt\n      }\n    }\n    ... on PermissionResolvedEvent {\n      requestId\n      allowed\n      alwaysAllow\n      resolution\n    }\n    ... on CompleteEvent {\n      reason\n      usage {\n        inputTokens\n        outputTokens\n      }\n    }\n    ... on ErrorEvent {\n      error\n      code\n    }\n  }\n": types.EventFieldsFragmentDoc,
    "\n  fragment SessionFields on Session {\n    id\n    title\n    status\n    model\n    permissionMode\n    createdAt\n    updatedAt\n    lastSeq\n    pendingPermissions {\n      requestId\n      toolName\n      command\n      expiresAt\n    }\n    queuedMessages {\n      turnId\n      text\n      createdAt\n    }\n  }\n": types.SessionFieldsFragmentDoc,
    "\n  subscription SessionEvents($sessionId: ID!, $after: Int) {\n    sessionEvents(sessionId: $sessionId, after: $after) {\n      ...EventFields\n    }\n  }\n": types.SessionEventsDocument,
    "\n  subscription ConfigChanged {\n    configChanged {\n      changeType\n      config {\n        defaultModel\n        models\n        permissionMode\n        theme\n      }\n    }\n  }\n": types.ConfigChangedDocument,
    "\n  mutation CreateSession($input: CreateSessionInput) {\n    createSession(input: $input) {\n      ...SessionFields\n    }\n  }\n": types.CreateSessionDocument,
    "\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      turnId\n      queued\n      session {\n        ...SessionFields\n      }\n    }\n  }\n": types.SendMessageDocument,
    "\n  mutation RespondToPermission($input: RespondToPermissionInput!) {\n    respondToPermission(input: $input) {\n      requestId\n      status\n      session {\n        ...SessionFields\n      }\n    }\n  }\n": types.RespondToPermissionDocument,
    "\n  mutation CancelTurn($sessionId: ID!) {\n    cancelTurn(sessionId: $sessionId) {\n      ...SessionFields\n    }\n  }\n": types.CancelTurnDocument,
    "\n  mutation DeleteSession($id: ID!) {\n    deleteSession(id: $id)\n  }\n": types.DeleteSessionDocument,
    "\n  mutation UpdateConfig($input: UpdateConfigInput!) {\n    updateConfig(input: $input) {\n      defaultModel\n      models\n      permissionMode\n      theme\n    }\n  }\n": types.UpdateConfigDocument,
    "\n  query Session($id: ID!, $after: Int, $limit: Int) {\n    session(id: $id) {\n      ...SessionFields\n      messages {\n        id\n        role\n        text\n        turnId\n        createdAt\n        toolCalls {\n          toolUseId\n          toolName\n          input\n          result\n          isError\n        }\n      }\n      events(after: $after, limit: $limit) {\n        ...EventFields\n      }\n    }\n  }\n": types.SessionDocument,
    "\n  query Sessions($limit: Int) {\n    sessions(limit: $limit) {\n      id\n      title\n      createdAt\n    }\n  }\n": types.SessionsDocument,
    "\n  query Config {\n    config {\n      defaultModel\n      models\n      permissionMode\n      theme\n    }\n  }\n": types.ConfigDocument,
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
export function graphql(source: "\n  fragment EventFields on SessionEvent {\n    __typename\n    ... on Event {\n      sessionId\n      seq\n      turnId\n      at\n    }\n    ... on UserMessageEvent {\n      messageId\n      text\n    }\n    ... on TextDeltaEvent {\n      delta\n    }\n    ... on TextCompleteEvent {\n      text\n      isIntermediate\n    }\n    ... on ToolStartEvent {\n      toolName\n      toolUseId\n      toolInput\n      toolIntent\n      toolDisplayName\n    }\n    ... on ToolResultEvent {\n      toolUseId\n      toolName\n      result\n      isError\n    }\n    ... on PermissionRequestEvent {\n      request {\n        requestId\n        toolName\n        command\n        description\n        expiresAt\n      }\n    }\n    ... on PermissionResolvedEvent {\n      requestId\n      allowed\n      alwaysAllow\n      resolution\n    }\n    ... on CompleteEvent {\n      reason\n      usage {\n        inputTokens\n        outputTokens\n      }\n    }\n    ... on ErrorEvent {\n      error\n      code\n    }\n  }\n"): (typeof documents)["\n  fragment EventFields on SessionEvent {\n    __typename\n    ... on Event {\n      sessionId\n      seq\n      turnId\n      at\n    }\n    ... on UserMessageEvent {\n      messageId\n      text\n    }\n    ... on TextDeltaEvent {\n      delta\n    }\n    ... on TextCompleteEvent {\n      text\n      isIntermediate\n    }\n    ... on ToolStartEvent {\n      toolName\n      toolUseId\n      toolInput\n      toolIntent\n      toolDisplayName\n    }\n    ... on ToolResultEvent {\n      toolUseId\n      toolName\n      result\n      isError\n    }\n    ... on PermissionRequestEvent {\n      request {\n        requestId\n        toolName\n        command\n        description\n        expiresAt\n      }\n    }\n    ... on PermissionResolvedEvent {\n      requestId\n      allowed\n      alwaysAllow\n      resolution\n    }\n    ... on CompleteEvent {\n      reason\n      usage {\n        inputTokens\n        outputTokens\n      }\n    }\n    ... on ErrorEvent {\n      error\n      code\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment SessionFields on Session {\n    id\n    title\n    status\n    model\n    permissionMode\n    createdAt\n    updatedAt\n    lastSeq\n    pendingPermissions {\n      requestId\n      toolName\n      command\n      expiresAt\n    }\n    queuedMessages {\n      turnId\n      text\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  fragment SessionFields on Session {\n    id\n    title\n    status\n    model\n    permissionMode\n    createdAt\n    updatedAt\n    lastSeq\n    pendingPermissions {\n      requestId\n      toolName\n      command\n      expiresAt\n    }\n    queuedMessages {\n      turnId\n      text\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription SessionEvents($sessionId: ID!, $after: Int) {\n    sessionEvents(sessionId: $sessionId, after: $after) {\n      ...EventFields\n    }\n  }\n"): (typeof documents)["\n  subscription SessionEvents($sessionId: ID!, $after: Int) {\n    sessionEvents(sessionId: $sessionId, after: $after) {\n      ...EventFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConfigChanged {\n    configChanged {\n      changeType\n      config {\n        defaultModel\n        models\n        permissionMode\n        theme\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ConfigChanged {\n    configChanged {\n      changeType\n      config {\n        defaultModel\n        models\n        permissionMode\n        theme\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateSession($input: CreateSessionInput) {\n    createSession(input: $input) {\n      ...SessionFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateSession($input: CreateSessionInput) {\n    createSession(input: $input) {\n      ...SessionFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      turnId\n      queued\n      session {\n        ...SessionFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      turnId\n      queued\n      session {\n        ...SessionFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RespondToPermission($input: RespondToPermissionInput!) {\n    respondToPermission(input: $input) {\n      requestId\n      status\n      session {\n        ...SessionFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation RespondToPermission($input: RespondToPermissionInput!) {\n    respondToPermission(input: $input) {\n      requestId\n      status\n      session {\n        ...SessionFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelTurn($sessionId: ID!) {\n    cancelTurn(sessionId: $sessionId) {\n      ...SessionFields\n    }\n  }\n"): (typeof documents)["\n  mutation CancelTurn($sessionId: ID!) {\n    cancelTurn(sessionId: $sessionId) {\n      ...SessionFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteSession($id: ID!) {\n    deleteSession(id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteSession($id: ID!) {\n    deleteSession(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateConfig($input: UpdateConfigInput!) {\n    updateConfig(input: $input) {\n      defaultModel\n      models\n      permissionMode\n      theme\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateConfig($input: UpdateConfigInput!) {\n    updateConfig(input: $input) {\n      defaultModel\n      models\n      permissionMode\n      theme\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Session($id: ID!, $after: Int, $limit: Int) {\n    session(id: $id) {\n      ...SessionFields\n      messages {\n        id\n        role\n        text\n        turnId\n        createdAt\n        toolCalls {\n          toolUseId\n          toolName\n          input\n          result\n          isError\n        }\n      }\n      events(after: $after, limit: $limit) {\n        ...EventFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query Session($id: ID!, $after: Int, $limit: Int) {\n    session(id: $id) {\n      ...SessionFields\n      messages {\n        id\n        role\n        text\n        turnId\n        createdAt\n        toolCalls {\n          toolUseId\n          toolName\n          input\n          result\n          isError\n        }\n      }\n      events(after: $after, limit: $limit) {\n        ...EventFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Sessions($limit: Int) {\n    sessions(limit: $limit) {\n      id\n      title\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  query Sessions($limit: Int) {\n    sessions(limit: $limit) {\n      id\n      title\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Config {\n    config {\n      defaultModel\n      models\n      permissionMode\n      theme\n    }\n  }\n"): (typeof documents)["\n  query Config {\n    config {\n      defaultModel\n      models\n      permissionMode\n      theme\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;