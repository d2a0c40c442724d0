/**
 * Server-sent events, as both providers stream them (WHATWG HTML "event stream
 * interpretation"). Written here rather than taken from `eventsource-parser`: its current
 * release wants Node 22, the format is a page of code, and owning it keeps every byte that
 * reaches a provider's translator visible.
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field, when the event had one (Anthropic names every event; OpenAI none). */
  event: string | undefined;
  /** The `data:` lines, joined with `\n`. */
  data: string;
}

/**
 * Incremental parser: feed it decoded text in pieces cut anywhere (inside a line, between
 * `\r` and `\n`) and it returns the events those pieces completed.
 */
export class SseParser {
  #buffer = '';
  /** The `data:` lines so far, joined with `\n`; undefined before the event's first one. */
  #data: string | undefined;
  #event: string | undefined;

  /** Takes the next piece of the stream; returns the events it completed, in order. */
  feed(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    // The common case, a piece that starts a line, is scanned where it lies: no copy of it.
    const buffer = this.#buffer === '' ? text : this.#buffer + text;
    let start = 0;
    // Where the next LF and CR are, looked up again only once passed (-1: none left), so a
    // piece with many lines and no CR is scanned once, not once per line.
    let lf = -2;
    let cr = -2;
    for (;;) {
      if (lf !== -1 && lf < start) lf = buffer.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF split across pieces.
        if (cr === buffer.length - 1) break;
        end = cr;
        next = buffer.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
      } else if (lf >= 0) {
        end = lf;
        next = lf + 1;
      } else break;
      this.#line(buffer, start, end, events);
      start = next;
    }
    this.#buffer = start === buffer.length ? '' : buffer.slice(start);
    return events;
  }

  /**
   * The stream ended. The standard drops an event without its closing blank line; we
   * dispatch it when its lines were complete, because some servers end their last event
   * (`data: [DONE]`) with a single newline, and a half line is dropped.
   */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    // A lone CR held back by feed() terminated the last line.
    const buffer = this.#buffer;
    if (buffer.endsWith('\r')) this.#line(buffer, 0, buffer.length - 1, events);
    this.#buffer = '';
    this.#line('', 0, 0, events);
    return events;
  }

  /** The line `text[start, end)`, read in place: only a field's value is copied out. */
  #line(text: string, start: number, end: number, events: SseEvent[]) {
    if (start === end) {
      if (this.#data !== undefined) events.push({ event: this.#event, data: this.#data });
      this.#data = undefined;
      this.#event = undefined;
      return;
    }
    const first = text.charCodeAt(start);
    if (first === COLON) return; // a comment (keep-alive)
    let colon = text.indexOf(':', start);
    if (colon < 0 || colon > end) colon = end;
    let from = colon + 1;
    if (from < end && text.charCodeAt(from) === SPACE) from++;
    const value = from >= end ? '' : text.slice(from, end);
    const length = colon - start;
    if (length === 4 && text.startsWith('data', start)) this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
    else if (length === 5 && text.startsWith('event', start)) this.#event = value;
    // `id` and `retry` concern reconnecting EventSources; a model response is never resumed.
  }
}

const LF = 10;
const COLON = 58;
const SPACE = 32;

/**
 * Bytes in, events out: UTF-8 decoded across chunk boundaries (a character split between two
 * reads is joined), then parsed. What a response body's reader feeds, chunk by chunk.
 */
export class SseDecoder {
  #decoder = new TextDecoder('utf-8');
  #parser = new SseParser();

  /** The events the chunk completed, in order. */
  feed(chunk: Uint8Array): SseEvent[] {
    return this.#parser.feed(this.#decoder.decode(chunk, { stream: true }));
  }

  /** The body ended: the events left (see SseParser.end). */
  end(): SseEvent[] {
    const events = this.#parser.feed(this.#decoder.decode());
    events.push(...this.#parser.end());
    return events;
  }
}

/**
 * The events of a response body. Breaking out of the loop cancels the body, which closes
 * the connection.
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent, void, undefined> {
  const decoder = new SseDecoder();
  for await (const chunk of body) yield* decoder.feed(chunk);
  yield* decoder.end();
}
