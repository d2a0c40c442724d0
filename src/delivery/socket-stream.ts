import type { Duplex } from 'node:stream';
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
 * and each message the same JSON behind a per-subscription prefix. Results in hand (see
 * InHandStream) are written at the end of the event loop's turn they are published in, with
 * no promise per message, and all that is in hand then (a turn's last delta,
 * TextCompleteEvent and CompleteEvent) leaves in one socket write: `wire`, the byte stream the WebSocket
 * writes to, is corked around them. A socket that has not taken its last write yet (a reader
 * that stops reading) gets nothing more until it has, so it holds its stream, not the
 * server's memory.
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
  wire: Duplex,
  id: string,
  prepare: (result: ExecutionResult) => ExecutionResult,
  tally: DeliveryTally = uncounted,
): AsyncIterableIterator<never> {
  return new SocketStream(source, socket, wire, `{"id":${JSON.stringify(id)},"type":"next","payload":`, prepare, tally);
}

/** Where an uncounted stream counts: one object for all, so writing never has to ask. */
const uncounted = new DeliveryTally();

/**
 * Streams a publish woke, written once the event loop's turn has run its course (one
 * setImmediate for all of them). Whatever else that turn publishes to the same subscription
 * (a turn's UserMessageEvent and its first delta, each published as soon as it is stored;
 * a turn's last delta, TextCompleteEvent and CompleteEvent) is then in hand too and leaves
 * in the same socket write, rather than one write per publish.
 */
let woken: Array<() => void> = [];

function writeWoken(): void {
  const streams = woken;
  woken = [];
  for (const drain of streams) drain();
}

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
    /**
     * What `socket` writes to (the upgrade request's socket, ws's own): corked while a burst
     * is written. ws's server leaves permessage-deflate off unless asked (ours does not ask);
     * with it, frames would be compressed and written later, outside the cork: still correct,
     * just not batched.
     */
    private readonly wire: Duplex,
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

  /** Called back by a publish: writes at the end of the event loop's turn (see `woken`). */
  private readonly wake = (): void => {
    if (woken.push(this.drain) === 1) setImmediate(writeWoken);
  };

  /**
   * Writes what is in hand, then waits for the next publish, or goes through next() when that
   * has work to do. Runs from `writeWoken` among every woken stream's, so it never throws.
   * What it writes in one go is one burst: corked, so that it leaves in one socket write
   * (a writev) at the end instead of one write per message.
   */
  private readonly drain = (): void => {
    let corked = false;
    try {
      const inHand = this.inHand;
      if (!inHand) {
        if (!this.outcome) this.pull();
        return;
      }
      while (!this.outcome) {
        const result = inHand.takeInHand();
        if (result === undefined) {
          if (!inHand.whenReady(this.wake)) this.pull();
          return;
        }
        if (result instanceof Promise) {
          result.then(
            (value) => this.write(value) && this.drain(),
            (error: unknown) => this.finish({ error }),
          );
          return;
        }
        // The burst's first write goes only to a socket that took everything before it (as
        // any write); the ones after it join it while the burst's bytes stay under the
        // socket's high-water mark, so a stalled reader is owed at most that plus one frame.
        let room = 0;
        if (corked) room = this.wire.writableHighWaterMark;
        else {
          this.wire.cork();
          corked = true;
        }
        if (!this.write(result, room)) return;
      }
    } catch (error) {
      this.finish({ error });
    } finally {
      if (corked) this.wire.uncork();
    }
  };

  /**
   * Writes one result. False when nothing more may be written now: the stream ended, or the
   * socket holds more than `room` bytes of earlier writes, in which case this write's
   * callback goes on.
   */
  private write(value: ExecutionResult, room = 0): boolean {
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
    // The common case: the kernel took every earlier write whole (or they are this burst's,
    // still corked). No callback then: a write callback costs a tick per message; a failed
    // write errors the socket, which closes it.
    this.tally.delivered++;
    if (socket.bufferedAmount <= room) {
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
