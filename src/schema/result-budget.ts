import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { SwitchboardError } from '../errors.js';
import { jsonSize, ReadCapExceeded } from '../store/read-cap.js';

/**
 * How much one operation's result may hold (`MAX_RESPONSE_BYTES`), spent while it is built.
 *
 * Checking a size once a result is complete, or when each resolver starts, bounds nothing:
 * graphql-js starts every sibling resolver (30 aliases of `messages`) before any returns, so
 * all their reads would be in memory at once. Instead every large read of an operation goes
 * through its budget, one read at a time, capped by what is left (the store stops reading
 * past the cap) and charged with what it returned. Once the budget is spent, the read that
 * spent it and every later one fail, and `refusal()` replaces the operation's whole result:
 * one PAYLOAD_TOO_LARGE error, no partial data. What the process holds for a refused
 * operation is therefore about the budget, plus the one row that crossed it.
 *
 * One per operation (Context.budget); subscription events never read through it.
 */
export class ResultBudget {
  private used = 0;
  private spent = false;
  /**
   * The read before the next one: reads run one after another, never side by side. None
   * until the first read: a subscription's context (thousands idle) holds no promise for it.
   */
  private last: Promise<unknown> | undefined;

  /** @param maxBytes the bound, in bytes of JSON (about what the response will take) */
  constructor(readonly maxBytes: number) {}

  /** True once a read was refused: the operation's result must be `refusal()`. */
  get exceeded(): boolean {
    return this.spent;
  }

  /** Bytes charged so far. */
  get usedBytes(): number {
    return this.used;
  }

  /**
   * Runs `load` once the reads before it have returned, with what is left of the budget as
   * the cap it must pass to the store; charges what it returns (its JSON size). Rejects with
   * PAYLOAD_TOO_LARGE when that cap is crossed or the budget is spent.
   *
   * @example
   * resolve: (s, { last }, ctx) => ctx.budget.read((maxBytes) => ctx.store.listMessages(s.id, { last, maxBytes }))
   */
  read<T>(load: (maxBytes: number) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.spent) throw this.error();
      let value: T;
      try {
        value = await load(this.maxBytes - this.used);
      } catch (error) {
        if (error instanceof ReadCapExceeded) throw this.exhaust();
        throw error;
      }
      this.used += jsonSize(value);
      if (this.used > this.maxBytes) throw this.exhaust();
      return value;
    };
    const result = this.last ? this.last.then(run) : run();
    this.last = result.catch(() => {});
    return result;
  }

  /** The one error an operation that ran out of budget answers with, as its whole result. */
  refusal(): ExecutionResult {
    const { message } = this.error();
    return { data: null, errors: [new GraphQLError(message, { extensions: { code: 'PAYLOAD_TOO_LARGE' } })] };
  }

  private exhaust(): SwitchboardError {
    this.spent = true;
    return this.error();
  }

  private error(): SwitchboardError {
    return new SwitchboardError(
      'PAYLOAD_TOO_LARGE',
      `The result would be larger than ${this.maxBytes} bytes (MAX_RESPONSE_BYTES): ask for less (fewer aliases, a smaller limit or last), or page.`,
    );
  }
}

/** The operation's result, or the budget's refusal when it ran out while the result was built. */
export function withinBudget<R extends ExecutionResult>(budget: ResultBudget | undefined, result: R): R | ExecutionResult {
  return budget?.exceeded ? budget.refusal() : result;
}

/**
 * Yoga's side (HTTP, SSE in both modes): a query or mutation that ran out of budget answers
 * with the refusal alone. graphql-ws runs `execute` itself and applies `withinBudget` there.
 */
export function useResultBudget(): Plugin<{ budget?: ResultBudget }> {
  return {
    onExecute: () => ({
      onExecuteDone: ({ args, result, setResult }) => {
        if (Symbol.asyncIterator in result) return; // a subscription: events are not budgeted
        const budget = (args.contextValue as { budget?: ResultBudget }).budget;
        if (budget?.exceeded) setResult(budget.refusal());
      },
    }),
  };
}
