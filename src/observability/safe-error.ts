/** What of an error goes into a log line: enough to find the fault, nothing a user wrote. */
export interface SafeError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  /** A GraphQL error's path in the result (field names and list indices). */
  path?: ReadonlyArray<string | number>;
  /** `cause`, or a GraphQL error's `originalError`. */
  cause?: SafeError;
  /** An AggregateError's errors (the first ten). */
  errors?: SafeError[];
}

/**
 * Serializes an error for the log by keeping only its type, message, stack, `code` and cause
 * chain. Everything else an error object carries is left out, because errors carry what
 * users wrote: PostgreSQL's `detail` and `where` quote the row or value that failed (a
 * message's text among them), GraphQL errors hold the document's source and extensions, and
 * other libraries attach requests and their bodies. pino's own serializer copies every
 * enumerable field; this one names what it keeps. A JSON.parse failure's message quotes the
 * input (V8: `Unexpected token 'x', "…" is not valid JSON`): the quote is cut out.
 */
export function safeError(error: unknown, depth = 0): SafeError {
  if (!(error instanceof Error)) return { type: typeof error, message: unquoted(String(error)) };
  const safe: SafeError = { type: error.name, message: unquoted(error.message) };
  if (error.stack !== undefined) safe.stack = unquoted(error.stack);
  const { code, path } = error as { code?: unknown; path?: unknown };
  if (typeof code === 'string' || typeof code === 'number') safe.code = code;
  if (Array.isArray(path) && path.every((p) => typeof p === 'string' || typeof p === 'number')) safe.path = path;
  if (depth >= 5) return safe;
  const cause = error.cause ?? (error as { originalError?: unknown }).originalError;
  if (cause !== undefined && cause !== null && cause !== error) safe.cause = safeError(cause, depth + 1);
  if (error instanceof AggregateError && Array.isArray(error.errors)) {
    safe.errors = error.errors.slice(0, 10).map((e: unknown) => safeError(e, depth + 1));
  }
  return safe;
}

/** V8's JSON.parse messages quote (part of) the input: `"…" is not valid JSON`. */
const QUOTED_JSON = /(?:\.\.\.)?"[^\n]*(\s+is not valid JSON)/g;

function unquoted(text: string): string {
  return text.includes('is not valid JSON') ? text.replace(QUOTED_JSON, '(input left out)$1') : text;
}
