import type { AssistantContent, ModelMessage } from './providers/types.js';
import type { ConversationMessage } from './types.js';

/** The result sent for a tool call that never got one (the turn was stopped while it ran). */
export const UNFINISHED_TOOL_RESULT = 'The tool call did not finish: the turn was stopped before it had a result.';

/**
 * The conversation a model sees, rebuilt from the session's stored messages, so that a turn
 * after a restart or on another instance sends exactly what one on this instance would.
 *
 * A stored assistant message holds the text of one text block and the tool calls that
 * followed it (see store/projection.ts); it becomes an assistant message with that text and
 * those calls, followed by their results in call order. Every call gets a result, since
 * providers refuse a tool call without one: a call the turn never finished gets an error
 * saying so. Empty assistant text is left out (Anthropic refuses empty text blocks), and an
 * assistant message with nothing left is dropped.
 *
 * Reasoning blocks are not stored, so they are not rebuilt: providers need them only within
 * the turn that made them, where the loop keeps them.
 */
export function conversationOf(history: readonly ConversationMessage[]): ModelMessage[] {
  const messages: ModelMessage[] = [];
  for (const message of history) {
    if (message.role === 'USER') {
      messages.push({ role: 'user', text: message.text });
      continue;
    }
    const content: AssistantContent[] = [];
    if (message.text !== '') content.push({ type: 'text', text: message.text });
    for (const call of message.toolCalls) {
      content.push({ type: 'tool_call', id: call.toolUseId, name: call.toolName, input: call.input });
    }
    if (content.length === 0) continue;
    messages.push({ role: 'assistant', content });
    if (message.toolCalls.length === 0) continue;
    messages.push({
      role: 'tool_results',
      results: message.toolCalls.map((call) => ({
        toolUseId: call.toolUseId,
        toolName: call.toolName,
        content: call.result ?? UNFINISHED_TOOL_RESULT,
        isError: call.result === null || call.isError,
      })),
    });
  }
  return messages;
}
