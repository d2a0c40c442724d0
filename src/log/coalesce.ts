import type { Clock, TimerHandle } from '../clock.js';
import type { NewSessionEvent } from '../events/types.js';

export interface CoalescerOptions {
  clock: Clock;
  /**
   * How long deltas are joined after one is published.
   * @default 50
   */
  windowMs?: number;
  /**
   * A pending delta of this many UTF-8 bytes is published before its window closes.
   * @default 16384
   */
  maxBytes?: number;
  /** Receives events in their final order, synchronously. */
  emit: (topic: string, event: NewSessionEvent) => void;
}

export interface Coalescer {
  /** Feed one event of a topic; deltas may be held, anything else flushes the topic first. */
  push(topic: string, event: NewSessionEvent): void;
  /**
   * `push` of a TEXT_DELTA given by its fields: the event object is only made when it is
   * published or starts a pending delta, not for every token joined into one.
   */
  pushDelta(topic: string, sessionId: string, turnId: string | null, delta: string, at: string): void;
  /** Publish a topic's pending delta now (the window stays open). */
  flush(topic: string): void;
  /** Publish every pending delta and clear every timer. */
  dispose(): void;
}

type Delta = Extract<NewSessionEvent, { type: 'TEXT_DELTA' }>;

interface TopicState {
  timer: TimerHandle;
  /** The turn whose delta opened the window. */
  turnId: string | null;
  pending: Delta | null;
  pendingBytes: number;
}

/**
 * Per-topic leading-edge coalescing of text deltas.
 *
 * A delta on a quiet topic goes out at once, so time to first token is never delayed, and
 * opens a window; deltas inside the window are joined and go out when it closes, which opens
 * the next window; a window that closes with nothing pending leaves the topic quiet. Any
 * other event flushes the pending delta first, so order is always kept, and ends the window:
 * the delta after it (a turn's first, or the first after a tool call) is again a leading
 * edge. A delta of another turn than the window's does the same, so a turn's first delta
 * goes out at once even when the previous turn's window is still open.
 */
export function createCoalescer({ clock, windowMs = 50, maxBytes = 16384, emit }: CoalescerOptions): Coalescer {
  const topics = new Map<string, TopicState>();

  const openWindow = (topic: string, turnId: string | null): TopicState => {
    const state: TopicState = {
      timer: clock.setTimeout(() => closeWindow(topic), windowMs),
      turnId,
      pending: null,
      pendingBytes: 0,
    };
    topics.set(topic, state);
    return state;
  };

  const closeWindow = (topic: string) => {
    const state = topics.get(topic);
    if (!state) return;
    topics.delete(topic);
    if (state.pending) {
      const { pending } = state;
      openWindow(topic, pending.turnId);
      emit(topic, pending);
    }
  };

  const flush = (topic: string) => {
    const state = topics.get(topic);
    if (!state?.pending) return;
    const { pending } = state;
    state.pending = null;
    state.pendingBytes = 0;
    emit(topic, pending);
  };

  /** Flushes the topic and leaves it quiet: its next delta goes out at once. */
  const end = (state: TopicState, topic: string) => {
    clock.clearTimeout(state.timer);
    topics.delete(topic);
    if (state.pending) emit(topic, state.pending);
  };

  /** A delta, as its fields; `event`, when the caller has one, is what a leading edge emits. */
  const pushDelta = (topic: string, sessionId: string, turnId: string | null, delta: string, at: string, event?: Delta) => {
    let state = topics.get(topic);
    // Deltas of different turns are never joined (a turn boundary always has a
    // non-delta event between, but the guard keeps the invariant local).
    if (state && state.turnId !== turnId) {
      end(state, topic);
      state = undefined;
    }
    if (!state) {
      openWindow(topic, turnId);
      emit(topic, event ?? { type: 'TEXT_DELTA', delta, sessionId, turnId, at });
      return;
    }
    // `pending` is the coalescer's own object, so it grows in place: no object per token.
    if (state.pending) state.pending.delta += delta;
    else state.pending = { type: 'TEXT_DELTA', delta, sessionId, turnId, at };
    state.pendingBytes += Buffer.byteLength(delta, 'utf8');
    if (state.pendingBytes >= maxBytes) flush(topic);
  };

  return {
    push(topic, event) {
      if (event.type === 'TEXT_DELTA') return pushDelta(topic, event.sessionId, event.turnId, event.delta, event.at, event);
      const state = topics.get(topic);
      if (state) end(state, topic);
      emit(topic, event);
    },
    pushDelta: (topic, sessionId, turnId, delta, at) => pushDelta(topic, sessionId, turnId, delta, at),
    flush,
    dispose() {
      for (const [topic, state] of topics) {
        clock.clearTimeout(state.timer);
        flush(topic);
      }
      topics.clear();
    },
  };
}
