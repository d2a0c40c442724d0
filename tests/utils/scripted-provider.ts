import type { ModelPart, ModelProvider, ModelRequest } from '../../src/agents/providers/types.js';
import { ProviderError, type ProviderFailureKind } from '../../src/agents/providers/types.js';

/**
 * One scripted response: the parts it streams, then optionally a failure; or a request that
 * hangs until its signal aborts (as fetch does, rejecting with the signal's reason).
 */
export type ScriptedResponse = ModelPart[] | { parts?: ModelPart[]; fail: ProviderError } | { hang: true };

/** A request as the provider got it: a snapshot (the loop goes on using its arrays), and its signal. */
export type RecordedRequest = Omit<ModelRequest, 'signal'> & { signal: AbortSignal };

export interface ScriptedProvider extends ModelProvider {
  /** Every request so far, in order. */
  readonly requests: RecordedRequest[];
  /** Adds responses to the end of the script. */
  script(...responses: ScriptedResponse[]): void;
  /** Resolves when the provider has received its `n`th request. */
  requested(n: number): Promise<void>;
}

/**
 * An in-memory ModelProvider that answers each request with the next scripted response: a
 * test double of our own seam (providers/types.ts), so the loop is tested without HTTP. The
 * real providers and a fake HTTP server are tested on their own.
 */
export function createScriptedProvider(name = 'scripted', ...responses: ScriptedResponse[]): ScriptedProvider {
  const queue = [...responses];
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    name,
    requests,
    script: (...more) => queue.push(...more),
    requested: (n) =>
      new Promise<void>((resolve) => {
        if (requests.length >= n) resolve();
        else waiters.push({ n, resolve });
      }),
    async *stream(request) {
      const { signal, ...rest } = request;
      requests.push({ ...structuredClone(rest), signal });
      for (const w of waiters.filter((w) => requests.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const response = queue.shift();
      if (!response) throw new Error(`the script has no response for request ${requests.length}`);
      if ('hang' in response) {
        await new Promise((_, reject) => {
          signal.throwIfAborted();
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
        return;
      }
      const parts = Array.isArray(response) ? response : (response.parts ?? []);
      for (const part of parts) {
        signal.throwIfAborted();
        yield part;
      }
      if (!Array.isArray(response)) throw response.fail;
    },
  };
}

/** A ProviderError as a provider throws it. */
export function providerError(
  kind: ProviderFailureKind,
  message: string,
  details: { status?: number; retryAfterMs?: number; streamed?: boolean } = {},
): ProviderError {
  return new ProviderError(message, kind, { streamed: false, ...details });
}

/** Parts of a plain text answer: the text in the given pieces, its end, usage and finish. */
export function answer(pieces: string[], usage = { inputTokens: 10, outputTokens: 5 }): ModelPart[] {
  return [
    ...pieces.map((text) => ({ type: 'text_delta', text }) as const),
    { type: 'text_end' },
    { type: 'usage', ...usage },
    { type: 'finish', reason: 'end_turn' },
  ];
}
