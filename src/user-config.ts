import { badInput } from './errors.js';
import { logError } from './observability/error-sink.js';
import type { PubSub } from './events/pubsub/types.js';
import { topicStream } from './events/topic-stream.js';
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
    /** Where a failed publish is reported; the change itself is stored. @default logged at `error` */
    private readonly onError: (error: unknown) => void = logError,
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
    await this.store.putConfig(userId, next);
    const config = { ...next, models: this.models };
    const changeType = changeTypeOf(current, config);
    if (changeType) {
      const event: ConfigChangedEvent = { changeType, config };
      // Stored is what counts: a lost publish is made up for by the subscribers' resync.
      await this.pubsub.publish(configTopic(userId), event).catch(this.onError);
    }
    return config;
  }

  /**
   * A user's configChanged events. After a pub/sub outage, in which changes made through
   * other instances may have been missed, the config is read again and one event is
   * delivered if it differs from the last one this stream knew.
   */
  async changes(userId: string, signal?: AbortSignal): Promise<AsyncIterableIterator<ConfigChangedEvent>> {
    let last: UserConfig = await this.get(userId);
    const stream = topicStream<ConfigChangedEvent>({
      pubsub: this.pubsub,
      topic: configTopic(userId),
      signal,
      onResync: async () => {
        const now = await this.get(userId);
        const changeType = changeTypeOf(last, now);
        return changeType ? { changeType, config: now } : undefined;
      },
    });
    const changes: AsyncIterableIterator<ConfigChangedEvent> = {
      [Symbol.asyncIterator]: () => changes,
      async next() {
        const result = await stream.next();
        if (!result.done) last = result.value.config;
        return result;
      },
      return: () => stream.return!(),
    };
    return changes;
  }
}

/** THEME when only the theme differs, CONFIG when anything else does, null when nothing does. */
function changeTypeOf(before: ConfigRecord, after: ConfigRecord): ConfigChangeType | null {
  if (before.defaultModel !== after.defaultModel || before.permissionMode !== after.permissionMode) return 'CONFIG';
  return JSON.stringify(before.theme) !== JSON.stringify(after.theme) ? 'THEME' : null;
}
