/**
 * A capped read found more than it may return (`ReadCap`, `MessagePage.maxBytes`). The store
 * stops reading at the row that crossed the cap, so what was read stays about the cap's size;
 * the caller (the result budget, schema/result-budget.ts) turns it into PAYLOAD_TOO_LARGE.
 */
export class ReadCapExceeded extends Error {
  override name = 'ReadCapExceeded';
  constructor(readonly maxBytes: number) {
    super(`the read would return more than ${maxBytes} bytes`);
  }
}

/**
 * Takes rows from `rows` (a lazy iterator: a statement's cursor) until they are exhausted or
 * their `size`s add up past `maxBytes`, which throws ReadCapExceeded without reading further.
 */
export function takeWithin<R>(rows: Iterable<R>, size: (row: R) => number, maxBytes: number | undefined): R[] {
  const taken: R[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (maxBytes !== undefined) {
      bytes += size(row);
      // Leaving the loop closes the iterator: better-sqlite3 resets the statement.
      if (bytes > maxBytes) throw new ReadCapExceeded(maxBytes);
    }
    taken.push(row);
  }
  return taken;
}

/**
 * About how many bytes `value` takes as JSON (strings counted in UTF-16 units, numbers as
 * 8), without building that JSON: a walk over its fields, so it costs per field, not per byte.
 * What the memory store caps by and the result budget charges.
 */
export function jsonSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
    case 'boolean':
    case 'bigint':
      return 8;
    case 'object': {
      if (value === null) return 4;
      let size = 2;
      if (Array.isArray(value)) {
        for (const item of value) size += jsonSize(item) + 1;
      } else {
        for (const key in value) size += key.length + 4 + jsonSize((value as Record<string, unknown>)[key]);
      }
      return size;
    }
    default:
      return 0;
  }
}
