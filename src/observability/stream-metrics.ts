import type { Plugin } from 'graphql-yoga';
import type { Metrics, Transport, TransportTally } from './metrics.js';

/**
 * Counts the subscriptions Yoga serves, over SSE (both graphql-sse modes: both run through
 * Yoga's envelop) and over multipart HTTP: open streams and the payloads they yield, which
 * Yoga then writes. graphql-ws operations do not come through here (transport/ws.ts runs them
 * on graphql-js itself); their socket writer counts them (transport/ws-adapter.ts).
 */
export function useStreamMetrics(metrics: Metrics): Plugin {
  return {
    onSubscribe({ args }) {
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return;
          const request = (args.contextValue as { request?: Request }).request;
          const tally = metrics.transports[transportOf(request)];
          setResult(new CountedStream(result[Symbol.asyncIterator](), tally));
        },
      };
    },
  };
}

function transportOf(request: Request | undefined): Transport {
  if (!request) return 'sse';
  // Yoga's own SSE asks for the event stream; graphql-sse's endpoint (both modes) is
  // /graphql/stream, where a single connection's operations come as POSTs without that Accept.
  if (request.headers.get('accept')?.includes('text/event-stream')) return 'sse';
  return new URL(request.url).pathname.endsWith('/stream') ? 'sse' : 'http';
}

/** A subscription's results as they were, counted: open once until its end, one per payload. */
class CountedStream<T> implements AsyncIterableIterator<T> {
  private open = true;

  constructor(
    private readonly source: AsyncIterator<T>,
    private readonly tally: TransportTally,
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
