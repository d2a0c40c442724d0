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
  #data: string[] = [];
  #event: string | undefined;

  /** Takes the next piece of the stream; returns the events it completed, in order. */
  feed(text: string): SseEvent[] {
    this.#buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    const buffer = this.#buffer;
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
        next = buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf >= 0) {
        end = lf;
        next = lf + 1;
      } else break;
      this.#line(buffer.slice(start, end), events);
      start = next;
    }
    this.#buffer = buffer.slice(start);
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
    if (this.#buffer.endsWith('\r')) this.#line(this.#buffer.slice(0, -1), events);
    this.#buffer = '';
    this.#line('', events);
    return events;
  }

  #line(line: string, events: SseEvent[]) {
    if (line === '') {
      if (this.#data.length > 0) events.push({ event: this.#event, data: this.#data.join('\n') });
      this.#data = [];
      this.#event = undefined;
      return;
    }
    if (line.startsWith(':')) return; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    // `id` and `retry` concern reconnecting EventSources; a model response is never resumed.
  }
}

/**
 * The events of a response body, decoded as UTF-8 across chunk boundaries (a character
 * split between two reads is joined). Breaking out of the loop cancels the body, which
 * closes the connection.
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent, void, undefined> {
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  for await (const chunk of body) {
    yield* parser.feed(decoder.decode(chunk, { stream: true }));
  }
  yield* parser.feed(decoder.decode());
  yield* parser.end();
}
