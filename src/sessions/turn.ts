import type { Clock } from '../clock.js';
import { AgentError, type Agent, type AgentEvent, type AgentTurn } from '../agents/types.js';
import type { EventLog } from '../log/event-log.js';
import type { Metrics } from '../observability/metrics.js';
import type { NewSessionEvent, SessionEventBody, StopReason, Usage } from '../events/types.js';
import type { Logger } from '../observability/logger.js';
import type { PermissionGate } from './permissions.js';

export interface TurnRun {
  turn: Omit<AgentTurn, 'signal' | 'requestPermission'>;
  agent: Agent;
  log: EventLog;
  clock: Clock;
  gate: PermissionGate;
  controller: AbortController;
  /**
   * Why the turn was aborted, read when it ends: CANCELLED (cancel, interrupt), INTERRUPTED
   * (server stop), or null when this instance lost the session to another, which ends the
   * turn in the log itself: then nothing more is emitted here.
   */
  stopReason: () => StopReason | null;
  onError: (error: unknown) => void;
  /** The turn's own (bound to its sessionId and turnId): start at debug, end at info. */
  logger: Logger;
  /** Counts running turns, their duration, time to first token and model requests. @default not counted */
  metrics?: Pick<Metrics, 'turnStarted' | 'turnEnded' | 'firstToken' | 'modelRequest'>;
}

/**
 * Drives one turn of an agent to its end and maps what it yields to SessionEvents. Always
 * ends with exactly one CompleteEvent, whatever the agent does: returns, throws, hangs past
 * an abort or ignores the signal (the abort races every step, so a cancel is prompt).
 */
export async function runTurn(run: TurnRun): Promise<void> {
  const { metrics, clock } = run;
  const startedAt = clock.now();
  metrics?.turnStarted();
  try {
    await playTurn(run, startedAt);
  } finally {
    metrics?.turnEnded(clock.now() - startedAt);
  }
}

async function playTurn(run: TurnRun, startedAt: number): Promise<void> {
  const { turn, log, clock, gate, controller, metrics } = run;
  const signal = controller.signal;
  const now = isoClock(clock);
  const { sessionId, turnId } = turn;
  run.logger.debug({ model: turn.model }, 'turn started');
  const emit = (body: SessionEventBody) => log.emit({ ...body, sessionId, turnId, at: now() } as NewSessionEvent);

  let text = '';
  let inText = false;
  let usage: Usage | null = null;
  let reason: StopReason | null = 'END_TURN';
  let errorCode: string | null = null;
  let awaitingFirstToken = metrics !== undefined;

  const onEvent = (event: AgentEvent) => {
    switch (event.type) {
      case 'text':
        if (!event.delta) break;
        if (awaitingFirstToken) {
          awaitingFirstToken = false;
          metrics!.firstToken(clock.now() - startedAt);
        }
        inText = true;
        text += event.delta;
        // The hot path (one per token): no event object unless the coalescer needs one.
        log.emitDelta(sessionId, turnId, event.delta, now());
        break;
      case 'text_end':
        emit({ type: 'TEXT_COMPLETE', text, isIntermediate: event.isIntermediate ?? false });
        text = '';
        inText = false;
        break;
      case 'tool_start':
        emit({
          type: 'TOOL_START',
          toolName: event.toolName,
          toolUseId: event.toolUseId,
          toolInput: event.input ?? null,
          toolIntent: event.intent ?? null,
          toolDisplayName: event.displayName ?? null,
        });
        break;
      case 'tool_result':
        emit({
          type: 'TOOL_RESULT',
          toolUseId: event.toolUseId,
          toolName: event.toolName,
          result: event.result,
          isError: event.isError,
        });
        break;
      case 'usage':
        usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens };
        break;
    }
  };

  let iterator: AsyncIterator<AgentEvent> | undefined;
  try {
    // Inside the try: an agent whose chat() throws before returning an iterable (a plain
    // function, not a generator) ends its turn with an ErrorEvent like any other failure.
    iterator = run.agent
      .chat({ ...turn, signal, requestPermission: (ask) => gate.request(ask), onModelRequest: metrics?.modelRequest })
      [Symbol.asyncIterator]();
    await drive(iterator, signal, onEvent);
    if (signal.aborted) reason = run.stopReason();
    else if (inText) emit({ type: 'TEXT_COMPLETE', text, isIntermediate: false });
  } catch (error) {
    if (signal.aborted) {
      reason = run.stopReason();
    } else {
      reason = 'ERROR';
      if (!(error instanceof AgentError)) run.onError(error);
      else errorCode = error.code;
      emit({
        type: 'ERROR',
        error: error instanceof AgentError ? error.message : 'The agent failed unexpectedly.',
        code: error instanceof AgentError ? error.code : null,
      });
    }
  } finally {
    if (signal.aborted) {
      // Let the agent clean up, but never wait for it: it may ignore the signal.
      void Promise.resolve()
        .then(() => iterator?.return?.())
        .catch(() => {});
    }
  }
  if (reason === null) {
    run.logger.info({ durationMs: clock.now() - startedAt }, 'turn left to the instance that took the session over');
    return gate.abandon();
  }
  gate.cancelAll();
  emit({ type: 'COMPLETE', reason, usage });
  // Counts and codes only: an agent's error message may quote the model's or the user's text.
  const tokens = usage as Usage | null;
  run.logger.info(
    {
      reason,
      durationMs: clock.now() - startedAt,
      inputTokens: tokens?.inputTokens ?? null,
      outputTokens: tokens?.outputTokens ?? null,
      ...(errorCode !== null && { errorCode }),
    },
    'turn ended',
  );
  await log.settled(turn.sessionId);
}

/**
 * Feeds every event of the agent to `onEvent` until it ends (resolves), throws (rejects with
 * its error) or the turn is aborted (resolves at once, whatever step is pending: an agent
 * that hangs or ignores the signal cannot hold the turn).
 *
 * A pump rather than an awaited loop racing each step: a step costs the agent's promise and
 * one reaction on it, with no promise of its own and no listener to add and remove per token.
 * One abort listener serves the whole turn, and nothing is left behind per step on a
 * long-lived promise (a turn of 100 000 tokens would otherwise hold 100 000 reactions).
 */
function drive(iterator: AsyncIterator<AgentEvent>, signal: AbortSignal, onEvent: (event: AgentEvent) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let over = false;
    const end = () => {
      if (over) return false;
      over = true;
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    const finish = () => {
      if (end()) resolve();
    };
    const onAbort = finish;
    const onError = (error: unknown) => {
      if (end()) reject(error);
    };
    const onStep = (step: IteratorResult<AgentEvent>) => {
      // A step that settles after the abort is dropped (and its rejection, above, handled).
      if (over) return;
      if (step.done) return finish();
      try {
        onEvent(step.value);
      } catch (error) {
        return onError(error);
      }
      pull();
    };
    const pull = () => {
      // \`over\` rather than signal.aborted (a slow getter, once per token): the abort
      // listener sets it, synchronously, whenever the signal is aborted.
      if (over) return;
      let next: Promise<IteratorResult<AgentEvent>>;
      try {
        next = iterator.next();
      } catch (error) {
        return onError(error);
      }
      next.then(onStep, onError);
    };
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    pull();
  });
}

const isoClocks = new WeakMap<Clock, () => string>();

/**
 * ISO-8601 of a clock's now, computed once per millisecond: every token carries one. Shared
 * by every turn on the clock: a paced turn's tokens are milliseconds apart, so a cache per
 * turn would format a date per token, while across 1000 streaming sessions one millisecond
 * holds ~100 tokens.
 */
function isoClock(clock: Clock): () => string {
  let now = isoClocks.get(clock);
  if (!now) {
    let lastMs = Number.NaN;
    let lastIso = '';
    now = () => {
      const ms = clock.now();
      if (ms !== lastMs) {
        lastMs = ms;
        lastIso = new Date(ms).toISOString();
      }
      return lastIso;
    };
    isoClocks.set(clock, now);
  }
  return now;
}
