/**
 * The fake model provider (tests/fake-provider/server.ts: a real HTTP server speaking the
 * Anthropic Messages and OpenAI Chat Completions streaming APIs) in a process of its own, for
 * the `agents` scenario, so that its CPU time is not the server's:
 *
 *   node --import tsx bench/provider.ts
 *
 * Prints `fake provider listening on <origin>` (`ANTHROPIC_BASE_URL`; `OPENAI_BASE_URL` is
 * `<origin>/v1`). Every request whose last user message is `/stream N [R] [#tag]` is answered
 * as the demo agent answers `/stream N [R]`: tokens `t1 ` … `tN `, one SSE event and one write
 * each (Anthropic `content_block_delta`, OpenAI `chat.completion.chunk`), token i (from 0) due
 * i / R s after the response began, on an absolute schedule as the demo agent's (a late wake
 * sends what is due at once; it never slows the pace), or all at once without R. `#tag` (the
 * bench's session id) names the stream in the report; anything else is answered with HTTP 400.
 *
 * IPC: `{type: 'usage'}` → `ProviderUsage`: CPU time so far, and the streams sent since the
 * previous `usage` (each one's tag and the wall-clock time its first token was written), with
 * how late its tokens went out behind its own schedule. `{type: 'stop'}` closes the server.
 */
import { performance } from 'node:perf_hooks';
import { startFakeProvider, type RecordedRequest, type Script, type Step } from '../tests/fake-provider/server.js';
import {
  anthropicFrame,
  blockStop,
  chunk,
  messageDelta,
  messageStart,
  messageStop,
  openaiFrame,
  ping,
  textDelta,
  textStart,
  usageChunk,
} from '../tests/fake-provider/wire.js';
import { fatal, onParentMessage, sendToParent } from './lib/processes.js';
import { sortedPercentile } from './lib/stats.js';

/** What one stream sent: for the bench's time to first token, measured from the provider's send. */
export interface SentStream {
  /** The `#tag` of its message (the session id), or null. */
  tag: string | null;
  tokens: number;
  /** Wall-clock ms (performance.timeOrigin + now, the load generator's clock) just before its first token was written. */
  firstTokenAt: number;
}

export interface ProviderUsage {
  type: 'usage';
  userMicros: number;
  systemMicros: number;
  /** Streams whose first token went out since the previous `usage`. */
  streams: SentStream[];
  /**
   * Per paced token of those streams: when it was written − when it was due (ms); how far the
   * fake provider itself fell behind its schedule (null when no paced token was sent).
   */
  lateMs: { p50: number; p99: number; max: number; count: number } | null;
}

const wallNow = () => performance.timeOrigin + performance.now();
const STREAM = /^\/stream\s+(\d+)(?:\s+(\d+(?:\.\d+)?))?(?:\s+#(\S+))?\s*$/;

let streams: SentStream[] = [];
let late: number[] = [];

/** The text of the request's last user message, in either API's shape. */
function lastUserText(body: unknown): string | null {
  const messages = (body as { messages?: unknown } | undefined)?.messages;
  if (!Array.isArray(messages)) return null;
  const last = [...messages].reverse().find((m) => (m as { role?: unknown })?.role === 'user') as { content?: unknown } | undefined;
  if (typeof last?.content === 'string') return last.content;
  if (Array.isArray(last?.content)) {
    const texts = last.content.filter((b) => (b as { type?: unknown })?.type === 'text') as { text: string }[];
    return texts.at(-1)?.text ?? null;
  }
  return null;
}

/**
 * One stream's steps: `head` (the frames before the text), then for token i its due time
 * (paced only), a note of how late it is (and, for the first, when it goes out) and its
 * frame, then `tail`. The first step notes when the stream began, as the server counts `atMs`.
 */
function streamSteps(head: string[], count: number, rate: number | null, tag: string | null, frame: (text: string) => string, tail: string[]): Step[] {
  const msPerToken = rate === null ? 0 : 1000 / rate;
  let began = NaN;
  const steps: Step[] = [() => void (began = performance.now()), ...head];
  for (let i = 0; i < count; i++) {
    if (rate !== null) steps.push({ atMs: i * msPerToken });
    if (i === 0) {
      steps.push(() => {
        streams.push({ tag, tokens: count, firstTokenAt: wallNow() });
        if (rate !== null) late.push(performance.now() - began);
      });
    } else if (rate !== null) {
      steps.push(() => void late.push(performance.now() - (began + i * msPerToken)));
    }
    steps.push(frame(`t${i + 1} `));
  }
  steps.push(...tail);
  return steps;
}

function answer(endpoint: 'anthropic' | 'openai', request: RecordedRequest): Script {
  const text = lastUserText(request.body);
  const match = text === null ? null : STREAM.exec(text);
  if (!match) {
    return { type: 'error', status: 400, body: { error: { type: 'invalid_request_error', message: `the bench's fake provider only answers /stream N [R] [#tag], got ${JSON.stringify(text)}` } } };
  }
  const count = Number(match[1]);
  const rate = match[2] === undefined ? null : Number(match[2]);
  const tag = match[3] ?? null;
  if (endpoint === 'anthropic') {
    // As the API sends it: message_start, a ping, the text block, message_delta, message_stop.
    const head = [messageStart({ input_tokens: 10, output_tokens: 1 }), textStart(0), ping()].map(anthropicFrame);
    const tail = [blockStop(0), messageDelta('end_turn', count), messageStop()].map(anthropicFrame);
    return { type: 'stream', steps: streamSteps(head, count, rate, tag, (t) => anthropicFrame(textDelta(0, t)), tail) };
  }
  // The OpenAI provider asks for `stream_options.include_usage`: the usage chunk comes last.
  const head = [openaiFrame(chunk({ role: 'assistant', content: '' }))];
  const tail = [openaiFrame(chunk({}, 'stop')), openaiFrame(usageChunk(10, count)), openaiFrame('[DONE]')];
  return { type: 'stream', steps: streamSteps(head, count, rate, tag, (t) => openaiFrame(chunk({ content: t })), tail) };
}

const fake = await startFakeProvider();
fake.anthropic.fallback((request) => answer('anthropic', request));
fake.openai.fallback((request) => answer('openai', request));

onParentMessage(async (message) => {
  if (message.type === 'usage') {
    const cpu = process.cpuUsage();
    const sorted = Float64Array.from(late).sort();
    const usage: ProviderUsage = {
      type: 'usage',
      userMicros: cpu.user,
      systemMicros: cpu.system,
      streams,
      lateMs: sorted.length === 0 ? null : { p50: sortedPercentile(sorted, 50), p99: sortedPercentile(sorted, 99), max: sorted[sorted.length - 1]!, count: sorted.length },
    };
    streams = [];
    late = [];
    sendToParent(usage as unknown as { type: string });
  } else if (message.type === 'stop') {
    await fake.close();
    process.exit(0);
  }
});
process.on('unhandledRejection', fatal);
console.log(`fake provider listening on ${fake.origin}`);
