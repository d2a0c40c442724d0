import { beforeEach, describe, expect, it } from 'vitest';
import { createCoalescer, type CoalescerOptions } from '../../src/log/coalesce.js';
import type { NewSessionEvent } from '../../src/events/types.js';
import { complete, delta, textComplete, userMessage } from '../utils/events.js';
import { createManualClock, type ManualClock } from '../utils/manual-clock.js';

let clock: ManualClock;
/** Everything the coalescer emitted, in order, as [topic, event]. */
let out: Array<[string, NewSessionEvent]>;

beforeEach(() => {
  clock = createManualClock(1_000_000);
  out = [];
});

function coalescer(options: Partial<Omit<CoalescerOptions, 'clock' | 'emit'>> = {}) {
  return createCoalescer({ clock, emit: (topic, event) => out.push([topic, event]), ...options });
}

/** What was emitted, in a compact form: deltas as their text, other events as their type. */
const summary = (topic = 's1') =>
  out.filter(([t]) => t === topic).map(([, e]) => (e.type === 'TEXT_DELTA' ? e.delta : e.type));

describe('createCoalescer', () => {
  it('emits the first delta on a quiet topic at once, synchronously', () => {
    const c = coalescer();
    c.push('s1', delta('s1', 'Hello'));
    expect(summary()).toEqual(['Hello']);
  });

  it('joins the deltas that arrive inside the window and emits them when it closes', () => {
    const c = coalescer();
    c.push('s1', delta('s1', 'a'));
    clock.advance(10);
    c.push('s1', delta('s1', 'b'));
    clock.advance(10);
    c.push('s1', delta('s1', 'c'));
    clock.advance(29);
    expect(summary()).toEqual(['a']);

    clock.advance(1); // 50 ms after the first delta
    expect(summary()).toEqual(['a', 'bc']);
    expect(out[1]![1]).toMatchObject({ type: 'TEXT_DELTA', sessionId: 's1', turnId: 't1' });
  });

  it('opens the next window with the flush at the end of a window', () => {
    const c = coalescer();
    c.push('s1', delta('s1', 'a'));
    c.push('s1', delta('s1', 'b'));
    clock.advance(50); // 'b' goes out and a new window opens
    clock.advance(10);
    c.push('s1', delta('s1', 'c'));
    expect(summary()).toEqual(['a', 'b']);

    clock.advance(39);
    expect(summary()).toEqual(['a', 'b']);
    clock.advance(1); // 50 ms after the flush, not after 'c'
    expect(summary()).toEqual(['a', 'b', 'c']);
  });

  it('leaves the topic quiet when a window closes with nothing pending', () => {
    const c = coalescer();
    c.push('s1', delta('s1', 'a'));
    clock.advance(50);
    expect(clock.pending()).toBe(0);

    c.push('s1', delta('s1', 'b'));
    expect(summary()).toEqual(['a', 'b']);
  });

  it('flushes the pending delta before any other event, keeping order', () => {
    const c = coalescer();
    c.push('s1', delta('s1', 'a'));
    c.push('s1', delta('s1', 'b'));
    c.push('s1', delta('s1', 'c'));
    c.push('s1', textComplete('s1', 'abc'));
    c.push('s1', complete('s1'));
    expect(summary()).toEqual(['a', 'bc', 'TEXT_COMPLETE', 'COMPLETE']);

    // Nothing is left for the window to emit.
    clock.advance(50);
    expect(summary()).toEqual(['a', 'bc', 'TEXT_COMPLETE', 'COMPLETE']);
  });

  it('flushes early once the pending delta reaches maxBytes UTF-8 bytes', () => {
    const c = coalescer({ maxBytes: 10 });
    c.push('s1', delta('s1', 'x'));
    // 'é' is 1 UTF-16 unit but 2 bytes: four of them are 8 bytes, still under the limit.
    for (let i = 0; i < 4; i++) c.push('s1', delta('s1', 'é'));
    expect(summary()).toEqual(['x']);
    c.push('s1', delta('s1', 'é')); // 10 bytes, 5 characters
    expect(summary()).toEqual(['x', 'ééééé']);

    // The window stays open: the next delta is held until it closes.
    c.push('s1', delta('s1', '😀')); // 4 bytes, 2 UTF-16 units
    c.push('s1', delta('s1', '😀'));
    expect(summary()).toEqual(['x', 'ééééé']);
    c.push('s1', delta('s1', '🙂')); // 12 bytes, 6 UTF-16 units
    expect(summary()).toEqual(['x', 'ééééé', '😀😀🙂']);
  });

  it('keeps topics independent', () => {
    const c = coalescer();
    c.push('s1', delta('s1', 'a1'));
    c.push('s2', delta('s2', 'a2')); // s2 is quiet, whatever s1 does
    c.push('s1', delta('s1', 'b1'));
    c.push('s2', delta('s2', 'b2'));
    expect(summary('s1')).toEqual(['a1']);
    expect(summary('s2')).toEqual(['a2']);

    c.push('s1', complete('s1')); // flushes s1 only
    expect(summary('s1')).toEqual(['a1', 'b1', 'COMPLETE']);
    expect(summary('s2')).toEqual(['a2']);

    clock.advance(50);
    expect(summary('s2')).toEqual(['a2', 'b2']);
    expect(out.every(([topic, event]) => event.sessionId === topic)).toBe(true);
  });

  it('never joins deltas of different turns, and sends a new turn\'s first delta at once', () => {
    const c = coalescer();
    c.push('s1', delta('s1', 'a', { turnId: 't1' }));
    c.push('s1', delta('s1', 'b', { turnId: 't1' }));
    c.push('s1', delta('s1', 'c', { turnId: 't2' }));
    c.push('s1', delta('s1', 'd', { turnId: 't2' }));
    expect(summary()).toEqual(['a', 'b', 'c']);
    clock.advance(50);
    expect(out.map(([, e]) => [e.turnId, e.type === 'TEXT_DELTA' ? e.delta : e.type])).toEqual([
      ['t1', 'a'],
      ['t1', 'b'],
      ['t2', 'c'],
      ['t2', 'd'],
    ]);
    expect(clock.pending()).toBe(1);
  });

  it('sends the first delta after any other event at once, even inside an open window', () => {
    const c = coalescer();
    // Turn t1 streams, ends; turn t2 starts 10 ms later, inside t1's window.
    c.push('s1', delta('s1', 'a', { turnId: 't1' }));
    c.push('s1', delta('s1', 'b', { turnId: 't1' }));
    c.push('s1', complete('s1', { turnId: 't1' }));
    expect(clock.pending()).toBe(0);
    clock.advance(10);
    c.push('s1', userMessage('s1', 'next', { turnId: 't2' }));
    c.push('s1', delta('s1', 'c', { turnId: 't2' }));
    expect(summary()).toEqual(['a', 'b', 'COMPLETE', 'USER_MESSAGE', 'c']);

    // Mid-turn too: after a tool call the text resumes at once, then is coalesced again.
    c.push('s1', delta('s1', 'd', { turnId: 't2' }));
    c.push('s1', textComplete('s1', 'cd', { turnId: 't2' }));
    c.push('s1', delta('s1', 'e', { turnId: 't2' }));
    c.push('s1', delta('s1', 'f', { turnId: 't2' }));
    expect(summary()).toEqual(['a', 'b', 'COMPLETE', 'USER_MESSAGE', 'c', 'd', 'TEXT_COMPLETE', 'e']);
    clock.advance(50);
    expect(summary()).toEqual(['a', 'b', 'COMPLETE', 'USER_MESSAGE', 'c', 'd', 'TEXT_COMPLETE', 'e', 'f']);
  });

  it('pushDelta() behaves as push() of the same TEXT_DELTA', () => {
    const c = coalescer();
    c.pushDelta('s1', 's1', 't1', 'a', '2024-01-01T00:00:00.000Z');
    c.pushDelta('s1', 's1', 't1', 'b', '2024-01-01T00:00:00.010Z');
    c.push('s1', delta('s1', 'c'));
    clock.advance(50);
    c.pushDelta('s1', 's1', 't1', 'd', '2024-01-01T00:00:00.060Z');
    c.push('s1', complete('s1'));
    expect(out.map(([, e]) => e)).toEqual([
      { type: 'TEXT_DELTA', sessionId: 's1', turnId: 't1', at: '2024-01-01T00:00:00.000Z', delta: 'a' },
      { type: 'TEXT_DELTA', sessionId: 's1', turnId: 't1', at: '2024-01-01T00:00:00.010Z', delta: 'bc' },
      { type: 'TEXT_DELTA', sessionId: 's1', turnId: 't1', at: '2024-01-01T00:00:00.060Z', delta: 'd' },
      complete('s1'),
    ]);
  });

  it('respects the windowMs option', () => {
    const c = coalescer({ windowMs: 200 });
    c.push('s1', delta('s1', 'a'));
    c.push('s1', delta('s1', 'b'));
    clock.advance(199);
    expect(summary()).toEqual(['a']);
    clock.advance(1);
    expect(summary()).toEqual(['a', 'b']);
  });

  it('flush() emits the pending delta now and keeps the window open', () => {
    const c = coalescer();
    c.push('s1', delta('s1', 'a'));
    c.push('s1', delta('s1', 'b'));
    c.flush('s1');
    expect(summary()).toEqual(['a', 'b']);
    c.push('s1', delta('s1', 'c'));
    expect(summary()).toEqual(['a', 'b']);
    clock.advance(50);
    expect(summary()).toEqual(['a', 'b', 'c']);
  });

  it('dispose() emits every pending delta and leaves no timer', () => {
    const c = coalescer();
    c.push('s1', delta('s1', 'a1'));
    c.push('s1', delta('s1', 'b1'));
    c.push('s2', delta('s2', 'a2'));
    c.push('s2', delta('s2', 'b2'));
    expect(clock.pending()).toBe(2);

    c.dispose();
    expect(summary('s1')).toEqual(['a1', 'b1']);
    expect(summary('s2')).toEqual(['a2', 'b2']);
    expect(clock.pending()).toBe(0);

    clock.advance(1000);
    expect(out).toHaveLength(4);
  });

  it('emits deltas whose concatenation is the input, in order, for random sequences', () => {
    const pieces = ['a', 'bc', ' ', 'déf', '😀', '日本', 'xyz ', '\n', 'ñ'];
    for (let seed = 1; seed <= 200; seed++) {
      const random = mulberry32(seed);
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
      out = [];
      clock = createManualClock(1_000_000);
      const c = coalescer({ windowMs: 1 + Math.floor(random() * 100), maxBytes: 1 + Math.floor(random() * 24) });

      // The input, per topic, as segments of text separated by a non-delta event.
      const input = new Map<string, string[]>([['s1', ['']], ['s2', ['']]]);
      for (let step = 0; step < 60; step++) {
        const topic = pick(['s1', 's2']);
        const segments = input.get(topic)!;
        const r = random();
        if (r < 0.65) {
          const text = pick(pieces);
          c.push(topic, delta(topic, text));
          segments[segments.length - 1] += text;
        } else if (r < 0.75) {
          c.push(topic, textComplete(topic, ''));
          segments.push('');
        } else {
          clock.advance(Math.floor(random() * 120));
        }
      }
      // Close every window in a random way: let them run out, or dispose.
      if (random() < 0.5) clock.advance(1000);
      else c.dispose();
      expect(clock.pending(), `seed ${seed}`).toBe(0);

      for (const [topic, segments] of input) {
        const emitted = [''];
        for (const [t, e] of out) {
          if (t !== topic) continue;
          if (e.type === 'TEXT_DELTA') emitted[emitted.length - 1] += e.delta;
          else emitted.push('');
        }
        expect(emitted, `seed ${seed}, ${topic}`).toEqual(segments);
      }
    }
  });
});

/** A small seeded PRNG, so a failing case can be replayed by its seed. */
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
