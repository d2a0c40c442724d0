import type { ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../src/errors.js';
import { ResultBudget, withinBudget } from '../../src/schema/result-budget.js';
import { jsonSize, ReadCapExceeded } from '../../src/store/read-cap.js';

/** A promise the test settles. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const tooLarge = { code: 'PAYLOAD_TOO_LARGE' };

describe('ResultBudget', () => {
  it('runs reads one at a time, each capped by what the ones before it left', async () => {
    const budget = new ResultBudget(1000);
    const first = deferred<string>();
    const caps: number[] = [];
    const a = budget.read(async (maxBytes) => {
      caps.push(maxBytes);
      return first.promise;
    });
    const b = budget.read(async (maxBytes) => {
      caps.push(maxBytes);
      return 'y'.repeat(100);
    });
    await new Promise((resolve) => setImmediate(resolve));
    // The second read has not started: the first one has not returned.
    expect(caps).toEqual([1000]);
    first.resolve('x'.repeat(298));
    expect(await a).toHaveLength(298);
    expect(await b).toHaveLength(100);
    // The first was charged as JSON: 298 characters and two quotes.
    expect(caps).toEqual([1000, 700]);
    expect(budget.usedBytes).toBe(300 + 102);
    expect(budget.exceeded).toBe(false);
  });

  it('refuses the read that spends it and every later one, which never starts', async () => {
    const budget = new ResultBudget(100);
    let loads = 0;
    const read = (text: string) =>
      budget.read(async () => {
        loads++;
        return text;
      });
    await expect(read('x'.repeat(50))).resolves.toHaveLength(50);
    await expect(read('x'.repeat(50))).rejects.toMatchObject(tooLarge);
    expect(budget.exceeded).toBe(true);
    await expect(read('')).rejects.toMatchObject(tooLarge);
    expect(loads).toBe(2);
  });

  it("takes a store's ReadCapExceeded as spent, and lets other errors through as they are", async () => {
    const budget = new ResultBudget(100);
    const boom = new Error('boom');
    await expect(budget.read(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(budget.exceeded).toBe(false);
    await expect(budget.read((maxBytes) => Promise.reject(new ReadCapExceeded(maxBytes)))).rejects.toBeInstanceOf(SwitchboardError);
    expect(budget.exceeded).toBe(true);
  });

  it('replaces a result by one PAYLOAD_TOO_LARGE error once spent, and only then', async () => {
    const budget = new ResultBudget(10);
    const result = { data: { a: 1 } };
    expect(withinBudget(budget, result)).toBe(result);
    expect(withinBudget(undefined, result)).toBe(result);
    await budget.read(async () => 'more than ten bytes').catch(() => {});
    const refused: ExecutionResult = withinBudget(budget, result);
    expect(refused.data).toBeNull();
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors![0]!.extensions).toEqual(tooLarge);
    expect(refused.errors![0]!.message).toContain('10 bytes');
  });
});

describe('jsonSize', () => {
  it('is about the length of the JSON (not less), without making it', () => {
    const values = [
      'plain',
      { id: 'm1', text: 'hello'.repeat(100), toolCalls: [{ input: { path: 'a', n: 12, ok: true, none: null } }] },
      [1, 2, 3, 'four'],
    ];
    for (const value of values) {
      const json = JSON.stringify(value).length;
      expect(jsonSize(value)).toBeGreaterThanOrEqual(json);
      expect(jsonSize(value)).toBeLessThan(json * 2 + 10);
    }
  });
});
