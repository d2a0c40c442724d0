import { setTimeoutAt, type Clock } from '../clock.js';
import type { ConfigChangedEvent, UserConfig } from '../user-config.js';
import { builder } from './builder.js';
import { ConfigChangeTypeEnum, PermissionModeEnum } from './enums.js';

const ConfigRef = builder.objectRef<UserConfig>('Config').implement({
  description: "The caller's settings: defaults for new sessions and the front end's theme.",
  fields: (t) => ({
    defaultModel: t.exposeString('defaultModel'),
    models: t.exposeStringList('models', { description: 'Models the agent serves.' }),
    permissionMode: t.field({ type: PermissionModeEnum, resolve: (c) => c.permissionMode }),
    theme: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.theme }),
  }),
});

const ConfigChangedEventRef = builder.objectRef<ConfigChangedEvent>('ConfigChangedEvent').implement({
  fields: (t) => ({
    changeType: t.field({ type: ConfigChangeTypeEnum, resolve: (e) => e.changeType }),
    config: t.field({ type: ConfigRef, resolve: (e) => e.config }),
  }),
});

const UpdateConfigInput = builder.inputType('UpdateConfigInput', {
  fields: (t) => ({
    defaultModel: t.string({ description: 'One of `Config.models`.' }),
    permissionMode: t.field({ type: PermissionModeEnum }),
    theme: t.field({ type: 'JSON', description: 'Any JSON; null clears it.' }),
  }),
});

builder.queryField('config', (t) =>
  t.field({
    type: ConfigRef,
    // A theme may be as large as a request: 30 aliases of it are a large read like any other.
    resolve: (_root, _args, ctx) => ctx.budget.read(() => ctx.config.get(ctx.userId)),
  }),
);

builder.mutationField('updateConfig', (t) =>
  t.field({
    type: ConfigRef,
    description: 'Changes the given fields; publishes configChanged when something changed.',
    args: { input: t.arg({ type: UpdateConfigInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.config.update(ctx.userId, input),
  }),
);

builder.subscriptionField('configChanged', (t) =>
  t.field({
    type: ConfigChangedEventRef,
    description: "The caller's config or theme changed (from any of the caller's clients).",
    subscribe: async (_root, _args, ctx) => {
      const changes = await ctx.config.changes(ctx.userId, ctx.shutdown);
      return ctx.expiresAt === null ? changes : endingAt(ctx.clock, ctx.expiresAt, changes);
    },
    resolve: (event) => event,
  }),
);

/**
 * The stream, completed at `time` (the caller's token expiry, over SSE): the client comes back
 * with a fresh token. Config changes are rare, so a wrapper costs nothing that matters here.
 */
function endingAt<T>(clock: Clock, time: number, stream: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  const cancel = setTimeoutAt(clock, time, () => void stream.return?.());
  const ending: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => ending,
    next: async () => {
      const result = await stream.next();
      if (result.done) cancel(); // ended otherwise (a server stop): the timer holds nothing till then
      return result;
    },
    return: () => {
      cancel();
      return stream.return?.() ?? Promise.resolve({ done: true, value: undefined });
    },
  };
  return ending;
}
