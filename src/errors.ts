import { GraphQLError } from 'graphql';

/** The `extensions.code` values of the public contract. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  /** A per-user quota (sessions, stored bytes) is used up: the message names it and its value. */
  | 'QUOTA_EXCEEDED'
  /** A backing service (the database) is away for now: retry later. An addition to the contract's codes. */
  | 'SERVICE_UNAVAILABLE';

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

/**
 * The one place errors are mapped for clients (Yoga calls it for every error, on every
 * transport): a domain error anywhere in the chain keeps its message and code; GraphQL's own
 * errors (parse, validation, variable coercion) pass through, request-level ones tagged
 * BAD_USER_INPUT when they carry no code; everything else becomes a generic
 * INTERNAL_SERVER_ERROR and is logged with its cause.
 */
export function toGraphQLError(error: unknown, log: (err: unknown) => void): GraphQLError {
  const gql = error instanceof GraphQLError ? error : undefined;
  const at = { nodes: gql?.nodes, source: gql?.source, positions: gql?.positions, path: gql?.path };
  const domain = findDomainError(error);
  if (domain) {
    // Yoga answers an HTTP request that fails authentication with 401, and one whose backing
    // service is away (a key server, a database) with 503, and strips `http`.
    const status = HTTP_STATUS[domain.code];
    const http = status ? { http: { status } } : {};
    return new GraphQLError(domain.message, { ...at, extensions: { code: domain.code, ...http } });
  }
  if (gql && isGraphQLErrorChain(gql)) {
    // Yoga attaches the parser's own message as `originalError`; clients get none of it.
    const { originalError: _internal, ...extensions } = gql.extensions as Record<string, unknown>;
    const code = YOGA_CODES[extensions.code as string] ?? extensions.code ?? (gql.path ? undefined : 'BAD_USER_INPUT');
    if (code === 'BAD_REQUEST' && isHttp(extensions.http)) {
      // A body that is not JSON or not a GraphQL request keeps its 400 whatever the Accept
      // header. Yoga marks these `spec` (400 only for application/graphql-response+json) and
      // then answers 400 anyway while the parser's message sits in `originalError`, which is
      // removed above; without `spec` the status holds for every media type, SSE included.
      const { spec: _spec, ...http } = extensions.http;
      extensions.http = http;
    }
    return new GraphQLError(gql.message, { ...at, extensions: code ? { ...extensions, code } : extensions });
  }
  log(error);
  return new GraphQLError('Unexpected error.', { ...at, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

const isHttp = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The HTTP status of a request that fails with one of these codes (others: Yoga's choice). */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, SERVICE_UNAVAILABLE: 503 };

/** Yoga's own codes that the contract names differently. */
const YOGA_CODES: Record<string, ErrorCode> = { REQUEST_ENTITY_TOO_LARGE: 'PAYLOAD_TOO_LARGE' };

function findDomainError(error: unknown): SwitchboardError | undefined {
  for (let e = error, depth = 0; e && depth < 10; depth++) {
    if (e instanceof SwitchboardError) return e;
    e = e instanceof GraphQLError ? e.originalError : undefined;
  }
  return undefined;
}

/** True when the error and every error it wraps were made by GraphQL itself. */
function isGraphQLErrorChain(error: GraphQLError): boolean {
  let e: Error | undefined = error;
  while (e instanceof GraphQLError) e = e.originalError;
  return e === undefined;
}
