import type { ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import { isInHandStream, type InHandStream } from './in-hand.js';
import { DeliveryTally } from './tally.js';

/** A result's JSON, made once however many subscribers it goes to. */
const serialized = new WeakMap<object, string>();

function resultJson(result: ExecutionResult): string {
  let json = serialized.get(result);
  if (json === undefined) {
    json = JSON.stringify(result);
    serialized.set(result, json);
  }
  return json;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Writes a subscription's results to its socket as graphql-ws `next` messages, each result
 * serialized once for all its subscribers (results are shared: delivery/shared-execution.ts)
 * and each message the same JSON behind a per-subscription prefix, one socket write each.
 * Results in hand (see InHandStream) are written in the turn they are published in, with no
 * promise per message; a socket that has not taken its last write yet (a reader that stops
 * reading) gets nothing more until it has, so it holds its stream, not the server's memory.
 * What it returns is what graphql-ws iterates instead: it yields nothing, ends when the
 * stream has been written (graphql-ws then sends `complete`), rethrows the stream's error
 * (graphql-ws sends `error`), and `return()` (the client's `complete`, the socket's close)
 * stops the stream. Per message this skips graphql-ws's hook calls, message object,
 * validation and JSON.stringify. `tally` counts the stream while it is open and each message
 * written (a field increment per message).
 */
export function streamToSocket(
  source: AsyncIterator<ExecutionResult>,
  socket: WebSocket,
  id: string,
  prepare: (result: ExecutionResult) => ExecutionResult,
  tally: DeliveryTally = uncounted,
): AsyncIterableIterator<never> {
  return new SocketStream(source, socket, `{"id":${JSON.stringify(id)},"type":"next","payload":`, prepare, tally);
}

/** Where an uncounted stream counts: one object for all, so writing never has to ask. */
const uncounted = new DeliveryTally();

/**
 * Written with callbacks rather than as an async loop: thousands of idle subscriptions each
 * wait here, and a registered callback is a fraction of a suspended async frame.
 */
class SocketStream implements AsyncIterableIterator<never> {
  private stopped = false;
  /** How the stream ended, once it has. */
  private outcome: 'done' | { error: unknown } | null = null;
  /** graphql-ws's pending next(). */
  private waiting: { resolve: (result: IteratorResult<never>) => void; reject: (error: unknown) => void } | null = null;
  private readonly inHand: InHandStream<ExecutionResult | Promise<ExecutionResult>> | null;

  constructor(
    private readonly source: AsyncIterator<ExecutionResult>,
    private readonly socket: WebSocket,
    private readonly prefix: string,
    private readonly prepare: (result: ExecutionResult) => ExecutionResult,
    private readonly tally: DeliveryTally,
  ) {
    tally.active++;
    this.inHand = isInHandStream<ExecutionResult | Promise<ExecutionResult>>(source) ? source : null;
    this.pull();
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  next(): Promise<IteratorResult<never>> {
    const outcome = this.outcome;
    if (outcome) return outcome === 'done' ? Promise.resolve(DONE) : Promise.reject(outcome.error);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<never>> {
    this.stopped = true;
    await this.source.return?.();
    this.finish('done');
    return DONE;
  }

  /** The source's next() (a store read, the first event, the end, a source without InHandStream). */
  private pull() {
    this.source.next().then(
      (step) => (step.done ? this.finish('done') : this.write(step.value) && this.drain()),
      (error: unknown) => this.finish({ error }),
    );
  }

  /**
   * Writes what is in hand, then waits for the next publish, or goes through next() when that
   * has work to do. Runs inside the publish (the cursor calls it back), so it never throws.
   */
  private readonly drain = (): void => {
    try {
      const inHand = this.inHand;
      if (!inHand) {
        if (!this.outcome) this.pull();
        return;
      }
      while (!this.outcome) {
        const result = inHand.takeInHand();
        if (result === undefined) {
          if (!inHand.whenReady(this.drain)) this.pull();
          return;
        }
        if (result instanceof Promise) {
          result.then(
            (value) => this.write(value) && this.drain(),
            (error: unknown) => this.finish({ error }),
          );
          return;
        }
        if (!this.write(result)) return;
      }
    } catch (error) {
      this.finish({ error });
    }
  };

  /**
   * Writes one result. False when nothing more may be written now: the stream ended, or the
   * socket still holds earlier writes, in which case this write's callback goes on.
   */
  private write(value: ExecutionResult): boolean {
    const socket = this.socket;
    if (this.stopped || socket.readyState !== socket.OPEN) {
      this.finish('done');
      return false;
    }
    let message: string;
    try {
      const result = this.prepare(value);
      message = this.prefix + (result === value ? resultJson(result) : JSON.stringify(result)) + '}';
    } catch (error) {
      this.finish({ error });
      return false;
    }
    // The common case: the kernel took every earlier write whole. No callback then: a write
    // callback costs a tick per message; a failed write errors the socket, which closes it.
    this.tally.delivered++;
    if (socket.bufferedAmount === 0) {
      socket.send(message);
      return true;
    }
    socket.send(message, (error) => (error ? this.finish({ error }) : this.drain()));
    return false;
  }

  private finish(outcome: 'done' | { error: unknown }) {
    if (this.outcome) return;
    this.outcome = outcome;
    this.tally.active--;
    const waiting = this.waiting;
    this.waiting = null;
    if (!waiting) return;
    if (outcome === 'done') waiting.resolve(DONE);
    else waiting.reject(outcome.error);
  }
}
