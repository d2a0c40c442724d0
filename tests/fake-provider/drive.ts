/** Driving a provider in a test: a request with defaults, and its parts collected. */
import type { ModelPart, ModelRequest } from '../../src/agents/providers/types.js';

export const TOOLS: ModelRequest['tools'] = [
  {
    name: 'read_file',
    description: 'Reads a file of the workspace.',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
];

/** A request with small defaults and a signal of its own (`abort` aborts it). */
export function modelRequest(overrides: Partial<ModelRequest> = {}): ModelRequest & { abort(reason?: unknown): void } {
  const controller = new AbortController();
  return {
    model: 'test-model',
    system: 'You are a test.',
    maxTokens: 256,
    tools: TOOLS,
    messages: [{ role: 'user', text: 'Hello' }],
    signal: controller.signal,
    abort: (reason?: unknown) => controller.abort(reason),
    ...overrides,
  };
}

/** Every part, or the error the stream threw with the parts before it. */
export async function drain(stream: AsyncIterable<ModelPart>): Promise<{ parts: ModelPart[]; error: unknown }> {
  const parts: ModelPart[] = [];
  try {
    for await (const part of stream) parts.push(part);
    return { parts, error: undefined };
  } catch (error) {
    return { parts, error };
  }
}

/** Every part; fails on an error. */
export async function collect(stream: AsyncIterable<ModelPart>): Promise<ModelPart[]> {
  const { parts, error } = await drain(stream);
  if (error !== undefined) throw error;
  return parts;
}

/** The text deltas joined. */
export const textOf = (parts: ModelPart[]) =>
  parts
    .filter((p): p is Extract<ModelPart, { type: 'text_delta' }> => p.type === 'text_delta')
    .map((p) => p.text)
    .join('');
