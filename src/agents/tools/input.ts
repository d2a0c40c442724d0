import type { ParsedInput } from './types.js';

/** A property of a tool's input object: its JSON type and whether the model must give it. */
export interface Field {
  type: 'string';
  required: boolean;
}

/**
 * Checks that a model's tool input is a JSON object with exactly the given fields, and says
 * what is wrong otherwise in words a model can act on. Unknown properties are refused too:
 * a misspelt optional one (`dir` for `path`) would otherwise be silently ignored.
 */
export function parseObject<Input>(toolName: string, input: unknown, fields: Record<string, Field>): ParsedInput<Input> {
  const wrong = (what: string): ParsedInput<Input> => ({ ok: false, error: `Invalid input for ${toolName}: ${what}` });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return wrong(`expected a JSON object, got ${jsonType(input)}.`);
  }
  const record = input as Record<string, unknown>;
  const names = Object.keys(fields);
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(fields, key)) {
      return wrong(`unknown property ${JSON.stringify(key)} (expected ${names.map((n) => JSON.stringify(n)).join(', ')}).`);
    }
  }
  for (const [name, field] of Object.entries(fields)) {
    const value = record[name];
    if (value === undefined) {
      if (field.required) return wrong(`${JSON.stringify(name)} is required (a ${field.type}).`);
      continue;
    }
    if (jsonType(value) !== field.type) return wrong(`${JSON.stringify(name)} must be a ${field.type}, got ${jsonType(value)}.`);
  }
  return { ok: true, input: record as Input };
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'object';
    default:
      return 'nothing';
  }
}
