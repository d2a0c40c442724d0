import { describe, expect, it } from 'vitest';
import { readSse, SseParser, type SseEvent } from '../../src/agents/providers/sse.js';
import { fixture, FIXTURES, type FixtureName } from '../fake-provider/fixtures/index.js';
import { splitBytes } from '../fake-provider/wire.js';

async function parse(pieces: Uint8Array[]): Promise<SseEvent[]> {
  async function* body() {
    yield* pieces;
  }
  const events: SseEvent[] = [];
  for await (const event of readSse(body())) events.push(event);
  return events;
}

const bytes = (text: string) => [new Uint8Array(Buffer.from(text, 'utf8'))];

describe('SSE parser', () => {
  it('reads named and unnamed events, joins data lines, skips comments and unknown fields', async () => {
    const text = ': keep-alive\n\nevent: ping\ndata: {"type": "ping"}\n\ndata: a\ndata:b\nid: 7\nretry: 10\n\ndata\n\n';
    expect(await parse(bytes(text))).toEqual([
      { event: 'ping', data: '{"type": "ping"}' },
      { event: undefined, data: 'a\nb' },
      { event: undefined, data: '' },
    ]);
  });

  it('takes CRLF and CR line ends, even with CR and LF in different pieces', async () => {
    const text = 'event: x\r\ndata: 1\r\n\r\ndata: 2\r\rdata: 3\n\n';
    const expected = [
      { event: 'x', data: '1' },
      { event: undefined, data: '2' },
      { event: undefined, data: '3' },
    ];
    expect(await parse(bytes(text))).toEqual(expected);
    expect(await parse(splitBytes(text, 1))).toEqual(expected);
  });

  it('joins a UTF-8 character cut between two reads', async () => {
    const text = 'data: 925 ÷ 5 = 185 ✓ 🙂\n\n';
    expect(await parse(splitBytes(text, 1))).toEqual([{ event: undefined, data: '925 ÷ 5 = 185 ✓ 🙂' }]);
  });

  it('dispatches a last event whose lines were complete but that missed its blank line, and drops a half line', () => {
    const parser = new SseParser();
    expect(parser.feed('data: [DONE]\n')).toEqual([]);
    expect(parser.end()).toEqual([{ event: undefined, data: '[DONE]' }]);
    const cut = new SseParser();
    expect(cut.feed('data: {"a":1}\n\ndata: {"trunc')).toEqual([{ event: undefined, data: '{"a":1}' }]);
    expect(cut.end()).toEqual([]);
  });

  it.each(Object.keys(FIXTURES) as FixtureName[])('reads %s the same whole, in 1-byte, 7-byte and random pieces', async (name) => {
    const text = fixture(name);
    const whole = await parse(bytes(text));
    expect(whole.length).toBeGreaterThan(3);
    for (const pieces of [splitBytes(text, 1), splitBytes(text, 7), splitBytes(text, { seed: 42 }), splitBytes(text, { seed: 7 })]) {
      expect(await parse(pieces)).toEqual(whole);
    }
  });
});
