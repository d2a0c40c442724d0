import { GraphQLError } from 'graphql';

/** The `extensions.code` values of the public contract. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE';

/**
 * A domain error: safe to show to a client as is. Anything else that escapes a resolver is
 * masked (see `toGraphQLError`), so internal messages, SQL and stack traces stay on the server.
 */
export class SwitchboardError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SwitchboardError';
  }
}

export const notFound = (what: string) => new SwitchboardError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new SwitchboardError('CONFLICT', message);
export const badInput = (message: string) => new SwitchboardError('BAD_USER_INPUT', message);

/** HTTP status a top-level error of this code maps to, where a transport has statuses. */
export const httpStatusOf: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
};

/**
 * The one place errors are mapped for clients: domain errors keep their message and code,
 * GraphQL's own (validation, coercion) pass through, everything else becomes a generic
 * INTERNAL_SERVER_ERROR and is logged with its cause.
 */
export function toGraphQLError(error: unknown, log: (err: unknown) => void): GraphQLError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof SwitchboardError) {
    return new GraphQLError(original.message, {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: original.code },
    });
  }
  if (error instanceof GraphQLError && !error.originalError) return error;
  log(error);
  return new GraphQLError('Unexpected error.', {
    nodes: error instanceof GraphQLError ? error.nodes : undefined,
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}
