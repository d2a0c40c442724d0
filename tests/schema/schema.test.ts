import { readFile } from 'node:fs/promises';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../../codegen.js';
import { printedSchema } from '../../src/schema/print.js';

const root = new URL('../../', import.meta.url);

describe('committed artifacts are in step with the code', () => {
  it('schema.graphql is the printed Pothos schema (run `npm run schema`)', async () => {
    const committed = await readFile(new URL('schema.graphql', root), 'utf8');
    expect(printedSchema()).toBe(committed);
  });

  it('tests/gql is what codegen makes of schema.graphql and the operations (run `npm run codegen`)', async () => {
    const outputs = await generate({ ...codegenConfig, cwd: root.pathname, silent: true }, false);
    expect(outputs.length).toBeGreaterThan(0);
    for (const { filename, content } of outputs) {
      const committed = await readFile(new URL(filename, root), 'utf8');
      expect(content, filename).toBe(committed);
    }
  }, 60_000);
});
