import type { Plugin } from 'graphql-yoga';
import type { DeliveryTally } from './tally.js';

/**
 * Counts the subscriptions Yoga serves, all over SSE (Yoga's own, graphql-sse's distinct
 * connections mode, and its single connection mode, whose plugin runs operations through
 * Yoga's envelop too; Yoga answers multipart subscriptions with 406 here): open streams and
 * the payloads they yield, which Yoga then writes. graphql-ws operations do not come through
 * here (transport/ws.ts runs them on graphql-js itself); their socket writer counts them
 * (delivery/socket-stream.ts).
 */
export function useStreamMetrics(tally: DeliveryTally): Plugin {
  return {
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (Symbol.asyncIterator in result) setResult(new CountedStream(result[Symbol.asyncIterator](), tally));
        },
      };
    },
  };
}

/** A subscription's results as they were, counted: open once until its end, one per payload. */
class CountedStream<T> implements AsyncIterableIterator<T> {
  private open = true;

  constructor(
    private readonly source: AsyncIterator<T>,
    private readonly tally: DeliveryTally,
  ) {
    tally.active++;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    return this.source.next().then(
      (step) => {
        if (step.done) this.close();
        else this.tally.delivered++;
        return step;
      },
      (error: unknown) => {
        this.close();
        throw error;
      },
    );
  }

  return(value?: unknown): Promise<IteratorResult<T>> {
    this.close();
    return this.source.return ? this.source.return(value) : Promise.resolve({ done: true, value: undefined });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.close();
    return this.source.throw ? this.source.throw(error) : Promise.reject(error);
  }

  private close() {
    if (!this.open) return;
    this.open = false;
    this.tally.active--;
  }
}
