import { randomUUID } from 'node:crypto';
import { sleep, systemClock, type Clock, type TimerHandle } from '../clock.js';
import { callTool, readFileTool, writeFileTool, type Tool, type ToolOutcome } from './tools/index.js';
import { AgentError, type Agent, type AgentEvent, type AgentTurn } from './types.js';

export interface DemoAgentOptions {
  /**
   * Paces the streams; tests pass a manual clock.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Pace of plain-text echoes (and of `/fail`'s words), in words per second; `Infinity`
   * streams them as fast as it can.
   * @default 40
   */
  wordsPerSecond?: number;
  /**
   * Model names this agent answers to; the first is the default. They all behave the same.
   * @default ['demo']
   */
  models?: readonly string[];
}

/** Most `/stream` tokens, so one message cannot keep a turn busy for hours. */
export const MAX_STREAM_TOKENS = 1_000_000;
/** Longest `/sleep` (a day), well inside what a timer can hold (about 24.8 days). */
export const MAX_SLEEP_MS = 86_400_000;

/**
 * Tokens emitted back to back before yielding to the macrotask queue. Without it a fast
 * stream resolves only microtasks, and timers, sockets and other sessions starve until it ends.
 */
const TOKENS_PER_YIELD = 64;

const FAIL_PREAMBLE = 'Something is about to go wrong';

type Emit = AsyncGenerator<AgentEvent, void, undefined>;

/** What every scripted reply needs besides the turn itself. */
interface Script {
  clock: Clock;
  wordsPerSecond: number;
}

/**
 * The embedded demo agent: a deterministic scripted model, with no network and no API key,
 * for trying the API, for tests and for benchmarks. Plain text is echoed as
 * `You said: <text>`; `/stream`, `/write`, `/read`, `/fail` and `/sleep` script the other
 * kinds of turn (see the contract's table). An unknown `/command` is echoed like plain text.
 *
 * @example
 * const agent = createDemoAgent({ wordsPerSecond: Infinity });
 * for await (const event of agent.chat(turn)) console.log(event);
 */
export function createDemoAgent(options: DemoAgentOptions = {}): Agent {
  const { clock = systemClock, wordsPerSecond = 40, models = ['demo'] } = options;
  if (!(wordsPerSecond > 0)) throw new RangeError(`wordsPerSecond must be > 0, got ${wordsPerSecond}`);
  if (models.length === 0) throw new RangeError('models must name at least one model');
  const script: Script = { clock, wordsPerSecond };
  return {
    models: Object.freeze([...models]),
    chat: (turn) => chat(script, turn),
  };
}

/**
 * The script's own generator, not one delegating to it: every level of `yield*` costs each
 * token more promises. Each script checks the signal first, so nothing runs (and nothing
 * throws) before the first `next()`.
 */
function chat(script: Script, turn: AgentTurn): Emit {
  const command = parseCommand(turn.text);
  switch (command?.name) {
    case 'stream':
      return stream(script, turn, command.args);
    case 'write':
      return write(turn, command.args);
    case 'read':
      return read(turn, command.args);
    case 'fail':
      return fail(script, turn, command.args);
    case 'sleep':
      return pause(script, turn, command.args);
    default:
      return echo(script, turn);
  }
}

/** `/name rest`: the rest is everything after the first run of whitespace, kept as typed. */
function parseCommand(text: string): { name: string; args: string } | null {
  const match = /^\/([a-z]+)(?:\s+([\s\S]*))?$/.exec(text);
  if (!match) return null;
  return { name: match[1]!, args: match[2] ?? '' };
}

function echo(script: Script, turn: AgentTurn): Emit {
  return textReply(script, turn, () => words(`You said: ${turn.text}`, script.wordsPerSecond));
}

function stream(script: Script, turn: AgentTurn, args: string): Emit {
  return textReply(script, turn, () => {
    const { count, rate } = parseStreamArgs(args);
    return { count, token: numberedToken, perSecond: rate };
  });
}

const STREAM_USAGE = `Usage: /stream N [R] (N: whole number of tokens, 1 to ${MAX_STREAM_TOKENS}; R: tokens per second, > 0, default as fast as possible)`;

function parseStreamArgs(args: string): { count: number; rate: number } {
  const [n, r, ...extra] = args.trim().split(/\s+/).filter(Boolean);
  if (n === undefined || extra.length > 0 || !/^\d+$/.test(n)) throw new AgentError(STREAM_USAGE);
  const count = Number(n);
  if (count < 1 || count > MAX_STREAM_TOKENS) throw new AgentError(STREAM_USAGE);
  const rate = r === undefined ? Infinity : Number(r);
  if (!(rate > 0) || (r !== undefined && !Number.isFinite(rate))) throw new AgentError(STREAM_USAGE);
  return { count, rate };
}

/** `/stream`'s token i (from 0): "t<i+1> ". */
const numberedToken = (i: number) => `t${i + 1} `;

const WRITE_USAGE = 'Usage: /write PATH TEXT';

/** PATH is one word; TEXT is everything after the one whitespace character that ends it, as typed. */
async function* write(turn: AgentTurn, args: string): Emit {
  turn.signal.throwIfAborted();
  const match = /^(\S+)(?:\s([\s\S]*))?$/.exec(args);
  if (!match) throw new AgentError(WRITE_USAGE);
  const input = { path: match[1]!, text: match[2] ?? '' };
  const toolUseId = newToolUseId();
  yield toolStart(writeFileTool, toolUseId, input);
  const outcome = await callTool(writeFileTool, input, { ...turn, toolUseId });
  yield toolResult(writeFileTool, toolUseId, outcome);
  if (outcome.denied) {
    yield { type: 'text', delta: 'Permission denied.' };
    yield { type: 'text_end' };
  }
  yield usage(turn, outcome.denied ? 1 : 0);
}

const READ_USAGE = 'Usage: /read PATH';

async function* read(turn: AgentTurn, args: string): Emit {
  turn.signal.throwIfAborted();
  const path = args.trim();
  if (path === '' || /\s/.test(path)) throw new AgentError(READ_USAGE);
  const input = { path };
  const toolUseId = newToolUseId();
  yield toolStart(readFileTool, toolUseId, input);
  yield toolResult(readFileTool, toolUseId, await callTool(readFileTool, input, { ...turn, toolUseId }));
  yield usage(turn, 0);
}

function fail(script: Script, turn: AgentTurn, args: string): Emit {
  return textReply(script, turn, () => ({
    ...words(FAIL_PREAMBLE, script.wordsPerSecond),
    failWith: args.trim() || 'The demo agent failed on purpose.',
  }));
}

const SLEEP_USAGE = `Usage: /sleep MS (a whole number of milliseconds, 0 to ${MAX_SLEEP_MS})`;

async function* pause(script: Script, turn: AgentTurn, args: string): Emit {
  turn.signal.throwIfAborted();
  const ms = args.trim();
  if (!/^\d+$/.test(ms) || Number(ms) > MAX_SLEEP_MS) throw new AgentError(SLEEP_USAGE);
  await sleep(script.clock, Number(ms), turn.signal);
  yield usage(turn, 0);
}

/** What a text reply streams: `count` tokens, `token(i)` each, at `perSecond`. */
interface TextPlan {
  count: number;
  token: (i: number) => string;
  perSecond: number;
  /** Ends the reply with usage (no text_end) and then this AgentError, as `/fail` does. */
  failWith?: string;
}

/**
 * A whole text reply (echo, `/stream`, `/fail`) in one generator, since every level of
 * `yield*` costs each token more promises: the plan (parsed lazily, so a usage error is
 * thrown by the first `next()`), the deltas, then text_end and usage.
 *
 * Yields each token as a text delta on an absolute schedule: token i (from 0) is due at
 * start + i / perSecond seconds, so the first goes out at once, and every token already due
 * at a wake goes out together; a coarse timer delays tokens but never slows the rate.
 *
 * One abort listener serves the whole stream (a paced token waits on a timer: `sleep` would
 * add and remove a listener per token), and it ends the pending wait at once.
 */
async function* textReply({ clock }: Script, turn: AgentTurn, plan: () => TextPlan): Emit {
  const { signal } = turn;
  signal.throwIfAborted();
  const { count, token, perSecond, failWith } = plan();
  const start = clock.now();
  const msPerToken = 1000 / perSecond;
  const ticks = ticksOf(clock);
  let sinceMacrotask = 0;
  /** The millisecond the pending wait is due at, or null. */
  let due: number | null = null;
  let wake: (() => void) | null = null;
  // Set by the listener: cheaper per token than signal.throwIfAborted() (a slow getter).
  let aborted = false;
  const onTimer = () => {
    due = null;
    wake?.();
  };
  const onAbort = () => {
    aborted = true;
    if (due !== null) ticks.cancel(due, onTimer);
    onTimer();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (let index = 0; index < count; index++) {
      if (aborted) throw signal.reason;
      const wait = start + index * msPerToken - clock.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          // Whole milliseconds, never early; every stream due in that millisecond shares it.
          due = ticks.at(Math.ceil(start + index * msPerToken), onTimer);
        });
        wake = null;
        sinceMacrotask = 0;
      } else if (sinceMacrotask >= TOKENS_PER_YIELD) {
        await new Promise((resolve) => setImmediate(resolve));
        sinceMacrotask = 0;
      }
      if (aborted) throw signal.reason;
      yield { type: 'text', delta: token(index) };
      sinceMacrotask++;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (due !== null) ticks.cancel(due, onTimer);
  }
  if (failWith === undefined) yield { type: 'text_end' };
  // On failure too, usage first: the failed turn still reports what it produced.
  yield usage(turn, count);
  if (failWith !== undefined) throw new AgentError(failWith);
}

interface Ticks {
  /** Calls `fn` once at the millisecond `ms` (or at once if past) and returns `ms`. */
  at(ms: number, fn: () => void): number;
  /** Forgets `fn` at `ms`; the last one gone clears that millisecond's timer. */
  cancel(ms: number, fn: () => void): void;
}

const ticksByClock = new WeakMap<Clock, Ticks>();

/**
 * One timer per millisecond for every paced stream on the clock, rather than one per token:
 * 1000 sessions at 100 tokens/s would otherwise set 100 000 timers a second, each an object,
 * an insertion and a callback of the timers' machinery; their tokens fall on whole
 * milliseconds, so at most 1000 a second are due.
 */
function ticksOf(clock: Clock): Ticks {
  let ticks = ticksByClock.get(clock);
  if (ticks) return ticks;
  const slots = new Map<number, { timer: TimerHandle; due: Set<() => void> }>();
  const fire = (ms: number) => {
    const slot = slots.get(ms);
    if (!slot) return;
    slots.delete(ms);
    for (const fn of slot.due) fn();
  };
  ticks = {
    at(ms, fn) {
      let slot = slots.get(ms);
      if (!slot) {
        slot = { timer: clock.setTimeout(() => fire(ms), Math.max(0, ms - clock.now())), due: new Set() };
        slots.set(ms, slot);
      }
      slot.due.add(fn);
      return ms;
    },
    cancel(ms, fn) {
      const slot = slots.get(ms);
      if (!slot || !slot.due.delete(fn) || slot.due.size > 0) return;
      clock.clearTimeout(slot.timer);
      slots.delete(ms);
    },
  };
  ticksByClock.set(clock, ticks);
  return ticks;
}

/** The words of a text (see `tokenize`) as a plan at the given pace. */
function words(text: string, perSecond: number): TextPlan {
  const tokens = tokenize(text);
  return { count: tokens.length, token: (i) => tokens[i]!, perSecond };
}

/** Splits text into words that keep their following whitespace, so the pieces join back exactly. */
function tokenize(text: string): string[] {
  return text.match(/^\s+|\S+\s*/g) ?? [];
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function usage(turn: AgentTurn, outputTokens: number): AgentEvent {
  return { type: 'usage', inputTokens: wordCount(turn.text), outputTokens };
}

function newToolUseId(): string {
  return `toolu_demo_${randomUUID()}`;
}

/** The same ToolStart a model agent yields for this tool and input. */
function toolStart<Input>(tool: Tool<Input>, toolUseId: string, input: Input): AgentEvent {
  return { type: 'tool_start', toolUseId, toolName: tool.spec.name, input, intent: tool.intent(input), displayName: tool.displayName };
}

function toolResult(tool: Tool, toolUseId: string, { result, isError }: ToolOutcome): AgentEvent {
  return { type: 'tool_result', toolUseId, toolName: tool.spec.name, result, isError };
}
