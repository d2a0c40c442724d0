import { badInput } from './errors.js';
import type { PubSub } from './events/pubsub/types.js';
import { configTopic } from './events/topics.js';
import type { PermissionMode } from './events/types.js';
import type { ConfigRecord, Store } from './store/types.js';

export interface UserConfig extends ConfigRecord {
  models: readonly string[];
}

export type ConfigChangeType = 'CONFIG' | 'THEME';

export interface ConfigChangedEvent {
  changeType: ConfigChangeType;
  config: UserConfig;
}

export interface UpdateConfigInput {
  defaultModel?: string | null;
  permissionMode?: PermissionMode | null;
  theme?: unknown;
}

/** Per-user settings: defaults for new sessions and a free-form theme for the front end. */
export class UserConfigService {
  constructor(
    private readonly store: Store,
    private readonly pubsub: PubSub,
    private readonly models: readonly string[],
  ) {}

  async get(userId: string): Promise<UserConfig> {
    const stored = await this.store.getConfig(userId);
    const config = stored ?? { defaultModel: this.models[0] ?? 'demo', permissionMode: 'ASK', theme: null };
    // A model the agent no longer serves falls back to the first one it does.
    if (!this.models.includes(config.defaultModel)) config.defaultModel = this.models[0] ?? config.defaultModel;
    return { ...config, models: this.models };
  }

  /**
   * Applies the given fields. Publishes one configChanged when something changed: THEME when
   * only the theme did, CONFIG otherwise; an update that changes nothing publishes nothing.
   */
  async update(userId: string, input: UpdateConfigInput): Promise<UserConfig> {
    const current = await this.get(userId);
    if (input.defaultModel != null && !this.models.includes(input.defaultModel)) {
      throw badInput(`Unknown model "${input.defaultModel}"; available: ${this.models.join(', ')}.`);
    }
    const next: ConfigRecord = {
      defaultModel: input.defaultModel ?? current.defaultModel,
      permissionMode: input.permissionMode ?? current.permissionMode,
      theme: input.theme === undefined ? current.theme : input.theme,
    };
    const configChanged =
      next.defaultModel !== current.defaultModel || next.permissionMode !== current.permissionMode;
    const themeChanged = JSON.stringify(next.theme) !== JSON.stringify(current.theme);
    await this.store.putConfig(userId, next);
    const config = { ...next, models: this.models };
    if (configChanged || themeChanged) {
      const event: ConfigChangedEvent = { changeType: configChanged ? 'CONFIG' : 'THEME', config };
      await this.pubsub.publish(configTopic(userId), event);
    }
    return config;
  }
}
