import { describe, expect, it } from 'vitest';
import { foldRepeats, RepeatedError } from '../../src/observability/fold.js';
import { createManualClock } from '../utils/manual-clock.js';

function setup(windowMs?: number) {
  const clock = createManualClock();
  const reported: unknown[] = [];
  const fold = foldRepeats((error) => reported.push(error), { clock, windowMs });
  return { clock, reported, fold };
}

describe('foldRepeats', () => {
  it('reports an error at once, then its repeats within the window as one count when the window ends', () => {
    const { clock, reported, fold } = setup();
    const first = new Error('Invalid WebSocket frame');
    fold(first);
    expect(reported).toEqual([first]);
    for (let i = 0; i < 1999; i++) fold(new Error('Invalid WebSocket frame'));
    clock.advance(999);
    expect(reported).toHaveLength(1);
    clock.advance(1);
    expect(reported).toHaveLength(2);
    const folded = reported[1] as RepeatedError;
    expect(folded).toBeInstanceOf(RepeatedError);
    expect(folded.count).toBe(1999);
    expect(folded.message).toBe('Error: Invalid WebSocket frame (repeated 1999 more times within 1000 ms)');
    expect((folded.cause as Error).message).toBe('Invalid WebSocket frame');
  });

  it('reports nothing more when an error was not repeated, and starts over after its window', () => {
    const { clock, reported, fold } = setup(100);
    fold(new Error('once'));
    clock.advance(100);
    expect(reported).toHaveLength(1);
    fold(new Error('once'));
    expect(reported).toHaveLength(2);
    expect(reported[1]).not.toBeInstanceOf(RepeatedError);
  });

  it('keeps different errors apart: by message, by code, and values that are not errors', () => {
    const { clock, reported, fold } = setup();
    const coded = (code: string) => Object.assign(new Error('write failed'), { code });
    fold(new Error('a'));
    fold(new Error('b'));
    fold(coded('EPIPE'));
    fold(coded('EACCES'));
    fold('a');
    expect(reported).toHaveLength(5);
    fold(coded('EPIPE'));
    fold('a');
    clock.advance(1000);
    expect(reported.slice(5).map((e) => (e as RepeatedError).message)).toEqual([
      'Error: write failed (repeated 1 more time within 1000 ms)',
      'a (repeated 1 more time within 1000 ms)',
    ]);
  });

  it('flush reports what is held back and leaves no timer', () => {
    const { clock, reported, fold } = setup();
    fold(new Error('x'));
    fold(new Error('x'));
    fold(new Error('y'));
    fold.flush();
    expect(reported.map(String)).toEqual([
      'Error: x',
      'Error: y',
      'RepeatedError: Error: x (repeated 1 more time within 1000 ms)',
    ]);
    expect(clock.pending()).toBe(0);
  });

  it('survives a sink that throws', () => {
    const clock = createManualClock();
    const fold = foldRepeats(() => {
      throw new Error('sink down');
    }, { clock });
    expect(() => fold(new Error('z'))).not.toThrow();
  });
});
