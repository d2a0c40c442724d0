import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/**
 * The variables src/config.ts reads: it is the only reader of process.env, and it names each
 * variable as a string literal in capitals (`int('PORT', …)`, LIMIT_VARIABLES' `name`s) or as
 * `env.NAME`.
 */
function variablesRead(): string[] {
  const source = read('src/config.ts');
  const literals = source.match(/'[A-Z][A-Z0-9_]+'/g)!.map((literal) => literal.slice(1, -1));
  const properties = [...source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!);
  const names = new Set([...literals, ...properties]);
  return [...names].sort();
}

/** The names in backticks in the first column of the tables of the section under `heading`. */
function tableNames(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`${heading}\n`);
  const end = markdown.indexOf('\n## ', start + heading.length);
  const table = markdown.slice(start, end === -1 ? undefined : end).split('\n').filter((line) => line.startsWith('| `'));
  return table.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
}

describe('the configuration tables (README, docs/operations.md)', () => {
  // The README keeps a one-line table and docs/operations.md the full one: a variable added to
  // config.ts must reach both, and neither may list one the server does not read.
  for (const [file, heading] of [
    ['README.md', '## Configuration'],
    ['docs/operations.md', '## Configuration'],
  ] as const) {
    it(`${file} lists every variable src/config.ts reads, and no other`, () => {
      const listed = tableNames(read(file), heading);
      expect(variablesRead().length).toBeGreaterThan(40);
      expect([...new Set(listed)].sort()).toEqual(variablesRead());
    });
  }
});
