import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { createDemoAgent } from './demo.js';
import { createModelAgent } from './loop.js';
import type { ModelProvider } from './providers/types.js';
import type { Agent } from './types.js';

/** The models each real agent serves when `MODELS` is unset; the first is the default. */
export const DEFAULT_MODELS = {
  anthropic: ['claude-sonnet-5', 'claude-opus-5', 'claude-haiku-4-5'],
  openai: ['gpt-5.4-mini', 'gpt-5.5'],
} as const;

export type AgentConfig = Pick<
  Config,
  | 'agent'
  | 'models'
  | 'anthropicApiKey'
  | 'anthropicBaseUrl'
  | 'openaiApiKey'
  | 'openaiBaseUrl'
  | 'agentMaxTokens'
  | 'agentMaxSteps'
  | 'agentSystemPrompt'
>;

/**
 * The agent the configuration asks for (`AGENT`): the demo agent, or the tool loop over the
 * Anthropic or OpenAI-compatible provider, with `MODELS`, `AGENT_MAX_TOKENS`,
 * `AGENT_MAX_STEPS` and `AGENT_SYSTEM_PROMPT`. The API key is also handed to the loop as a
 * secret, so that no error message can carry it.
 */
export async function createAgentFromConfig(config: AgentConfig, options: { clock?: Clock } = {}): Promise<Agent> {
  const limits = {
    maxTokens: config.agentMaxTokens,
    maxSteps: config.agentMaxSteps,
    ...(config.agentSystemPrompt === null ? {} : { systemPrompt: config.agentSystemPrompt }),
    ...(options.clock ? { clock: options.clock } : {}),
  };
  switch (config.agent) {
    case 'demo':
      return createDemoAgent({ ...(options.clock ? { clock: options.clock } : {}), ...(config.models ? { models: config.models } : {}) });
    case 'anthropic': {
      const apiKey = config.anthropicApiKey;
      if (apiKey === null) throw new Error('AGENT=anthropic needs ANTHROPIC_API_KEY (loadConfig checks it)');
      // Loaded only when configured: the demo agent never loads HTTP clients it does not use.
      const { createAnthropicProvider } = await import('./providers/anthropic.js');
      return createModelAgent({
        provider: createAnthropicProvider({ apiKey, baseUrl: config.anthropicBaseUrl, ...(options.clock ? { clock: options.clock } : {}) }),
        models: config.models ?? DEFAULT_MODELS.anthropic,
        secrets: [apiKey],
        ...limits,
      });
    }
    case 'openai': {
      const apiKey = config.openaiApiKey;
      const { createOpenAIProvider } = await import('./providers/openai.js');
      return createModelAgent({
        provider: createOpenAIProvider({
          baseUrl: config.openaiBaseUrl,
          ...(apiKey === null ? {} : { apiKey }),
          ...(options.clock ? { clock: options.clock } : {}),
        }),
        models: config.models ?? DEFAULT_MODELS.openai,
        secrets: apiKey === null ? [] : [apiKey],
        ...limits,
      });
    }
  }
}
