import { Redis, type RedisOptions, type RedisStatus } from 'ioredis';
import { PUBSUB_RESYNC, type PubSub, type Unsubscribe } from './types.js';

export interface RedisPubSubOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /**
   * Where connection errors, failed re-subscriptions, unreadable messages and throwing
   * listeners are reported. It never throws into ioredis. Repeats of one error of one
   * connection (a refused reconnect every two seconds during an outage) are reported once
   * per `errorIntervalMs`, with how many were held back. Required, with no logging default:
   * events/ imports nothing above it (the server passes `errorSink(log)`).
   */
  onError: (error: unknown) => void;
  /**
   * Prefix of every Redis channel; a topic `session:abc` travels on `switchboard:session:abc`.
   * Instances that serve the same sessions must use the same prefix.
   * @default 'switchboard:'
   */
  keyPrefix?: string;
  /**
   * A PUBLISH not answered by then rejects (the topic's listeners are then told to resync,
   * see `publish`). Also bounds a publish caught in flight by a dropped connection.
   * @default 2000
   */
  publishTimeoutMs?: number;
  /** How long `ping()` waits for both PINGs, and `close()` for each QUIT. @default 1000 */
  pingTimeoutMs?: number;
  /** Longest wait between reconnect attempts; they start at 50 ms and grow by 50 ms. @default 2000 */
  maxReconnectDelayMs?: number;
  /** Shortest time between two reports of the same error of one connection. @default 30000 */
  errorIntervalMs?: number;
  /** CLIENT SETNAME of the connections, suffixed `:pub` and `:sub` (shows in CLIENT LIST). @default 'switchboard' */
  connectionName?: string;
}

/** A channel body that is not JSON, so no payload can be mistaken for it: "read the store again". */
const RESYNC_BODY = '!resync';
/** Channels per SUBSCRIBE when re-subscribing after a reconnect. */
const SUBSCRIBE_BATCH = 1000;

interface Listener {
  readonly deliver: (payload: unknown) => void;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

interface Channel {
  readonly name: string;
  readonly listeners: Set<Listener>;
  /** SUBSCRIBE acknowledged on the current connection: a new listener is ready at once. */
  acked: boolean;
  /** `ready` of the listeners waiting for that acknowledgement. */
  readonly waiting: Set<Waiter>;
}

/**
 * Pub/sub across instances over Redis PUBLISH/SUBSCRIBE, with two connections: one publishes,
 * one is in subscriber mode. Each topic is one channel, subscribed while this instance has a
 * listener of it (the first listener subscribes, the last one unsubscribes), and each message
 * is fanned out locally to the topic's listeners in order. A listener's `ready` resolves once
 * Redis has acknowledged the channel's SUBSCRIBE; from then on every PUBLISH reaches it.
 *
 * Outages. Redis pub/sub keeps nothing, so whatever is published while a connection is down
 * is lost, and the store stays the source of truth:
 * - When the subscriber connection comes back, every channel is subscribed again (by this
 *   module, from its own listeners, rather than by ioredis' autoResubscribe, so that it knows
 *   when that is done) and then every local listener receives `PUBSUB_RESYNC`.
 * - `publish` fails fast instead of queueing while the publisher connection is down (no
 *   offline queue: a queue would hold the EventLog's commits hostage and deliver stale
 *   wake-ups later). A publish that fails, however, may leave listeners on other instances,
 *   still connected, without the wake-up they were due; so its topic is remembered, and as
 *   soon as the publisher works again it publishes a resync marker on it, which its listeners
 *   everywhere receive as `PUBSUB_RESYNC`.
 *
 * Connection errors go to `onError` (rate-limited); ioredis reconnects by itself, forever.
 *
 * @example
 * const pubsub = createRedisPubSub({ url: 'redis://127.0.0.1:6379', onError: console.error });
 * const stop = pubsub.subscribe('session:abc', (payload) => console.log(payload));
 * await stop.ready;
 * await pubsub.publish('session:abc', { kind: 'events', events: [] });
 */
export function createRedisPubSub(options: RedisPubSubOptions): PubSub {
  const prefix = options.keyPrefix ?? 'switchboard:';
  const pingTimeoutMs = options.pingTimeoutMs ?? 1000;
  const publishTimeoutMs = options.publishTimeoutMs ?? 2000;
  const maxReconnectDelayMs = options.maxReconnectDelayMs ?? 2000;
  const report = createReporter(options.onError, options.errorIntervalMs ?? 30_000);
  const name = options.connectionName ?? 'switchboard';

  const common: RedisOptions = {
    // Fail fast while disconnected: see "Outages" above. Nor is a command caught by a drop
    // sent again: a stale PUBLISH could overtake a newer state, and a stale SUBSCRIBE could
    // revive a channel that lost its listeners meanwhile. The subscriber subscribes every
    // channel that has listeners on ready; a publish caught by a drop times out.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    retryStrategy: (attempt) => Math.min(attempt * 50, maxReconnectDelayMs),
  };
  const publisher = new Redis(options.url, {
    ...common,
    connectionName: `${name}:pub`,
    commandTimeout: publishTimeoutMs,
  });
  const subscriber = new Redis(options.url, { ...common, connectionName: `${name}:sub` });

  const channels = new Map<string, Channel>();
  /** Channels whose publish failed: they owe their listeners a resync marker. */
  const owed = new Set<string>();
  let flushing = false;
  let closed = false;
  /** The subscriber connection was lost after being ready: listeners may have missed messages. */
  let lost = false;
  /** The subscriber has been ready once: a later close is an outage, not a failed first connect. */
  let everReady = false;
  /**
   * Publishes issued while the publisher first connects wait for it, for `publishTimeoutMs` at
   * most and all together (so they keep their order); later ones never wait.
   */
  let startupOver = false;
  let starting: Promise<void> | undefined;
  /** Publishes still in that wait: a later one queues behind them, whatever the state. */
  let startupWaiters = 0;
  let endStartup!: () => void;
  const publisherStarted = new Promise<void>((resolve) => (endStartup = resolve));
  /** Counts subscriber connections, so a late answer from an earlier one is ignored. */
  let epoch = 0;
  /** Counts publisher connections. */
  let publisherEpoch = 0;

  publisher.on('error', (error) => report('publisher', error));
  subscriber.on('error', (error) => report('subscriber', error));
  publisher.on('ready', () => {
    publisherEpoch++;
    report.recovered('publisher');
    startupOver = true;
    endStartup();
    flushOwed();
  });
  subscriber.on('ready', () => {
    report.recovered('subscriber');
    everReady = true;
    resubscribeAll();
  });
  subscriber.on('close', () => {
    if (everReady) lost = true;
    for (const channel of channels.values()) channel.acked = false;
  });
  subscriber.on('message', (channelName: string, body: string) => {
    const channel = channels.get(channelName);
    if (!channel) return; // unsubscribed meanwhile
    let payload: unknown;
    if (body === RESYNC_BODY) payload = PUBSUB_RESYNC;
    else {
      try {
        payload = JSON.parse(body);
      } catch (error) {
        report('message', new Error(`unreadable message on Redis channel ${channelName}`, { cause: error }));
        return;
      }
    }
    deliver(channel, payload);
  });

  function deliver(channel: Channel, payload: unknown) {
    // Copy: a listener may unsubscribe itself or another one while we iterate; one removed
    // meanwhile hears nothing more.
    for (const listener of [...channel.listeners]) {
      if (!channel.listeners.has(listener)) continue;
      try {
        listener.deliver(payload);
      } catch (error) {
        // ioredis would rethrow it on the next tick and crash the process.
        report('listener', error);
      }
    }
  }

  function acknowledge(channel: Channel) {
    if (closed || channels.get(channel.name) !== channel) return;
    channel.acked = true;
    for (const waiter of channel.waiting) waiter.resolve();
    channel.waiting.clear();
  }

  /** On every (re)connect: subscribes every channel with listeners, then resyncs after a loss. */
  function resubscribeAll() {
    const current = ++epoch;
    const all = [...channels.values()];
    const batches: Array<Promise<unknown>> = [];
    for (let i = 0; i < all.length; i += SUBSCRIBE_BATCH) {
      batches.push(subscriber.subscribe(...all.slice(i, i + SUBSCRIBE_BATCH).map((c) => c.name)));
    }
    Promise.all(batches).then(
      () => {
        if (current !== epoch || closed) return; // a newer connection does it again
        for (const channel of all) acknowledge(channel);
        if (!lost) return;
        lost = false;
        // Only now: a listener that reads the store on resync must miss nothing after its read.
        for (const channel of [...channels.values()]) deliver(channel, PUBSUB_RESYNC);
      },
      (error) => {
        // Dropped again: its next ready retries. Otherwise Redis refused, which is worth telling.
        if (current === epoch && subscriber.status === 'ready') {
          report('subscriber', new Error('Redis SUBSCRIBE after (re)connect failed', { cause: error }));
        }
      },
    );
  }

  function subscribeChannel(channel: Channel) {
    // Not ready: the ready handler subscribes every channel, this one included.
    if (subscriber.status !== 'ready') return;
    subscriber.subscribe(channel.name).then(
      () => acknowledge(channel),
      (error) => {
        if (subscriber.status === 'ready') report('subscriber', new Error(`Redis SUBSCRIBE ${channel.name} failed`, { cause: error }));
      },
    );
  }

  function unsubscribeChannel(name: string) {
    // Not ready: nothing to undo, the next connection subscribes only channels with listeners.
    if (subscriber.status !== 'ready') return;
    subscriber.unsubscribe(name).catch(() => {});
  }

  /**
   * Publishes the resync markers owed, once the publisher works; what fails stays owed, and
   * is tried again on the next successful publish or reconnect.
   */
  function flushOwed() {
    if (flushing || closed || owed.size === 0 || publisher.status !== 'ready') return;
    flushing = true;
    const connection = publisherEpoch;
    const names = [...owed];
    owed.clear();
    void Promise.all(
      names.map((name) =>
        publisher.publish(name, RESYNC_BODY).catch(() => {
          owed.add(name);
        }),
      ),
    ).finally(() => {
      flushing = false;
      // The publisher reconnected while these were out: its ready found us busy, so go again.
      if (publisherEpoch !== connection) flushOwed();
    });
  }

  function rejectAllWaiting(error: Error) {
    for (const channel of channels.values()) {
      for (const waiter of channel.waiting) waiter.reject(error);
      channel.waiting.clear();
    }
  }

  return {
    /**
     * Rejects at once while the publisher connection is down (no offline queue), or after
     * `publishTimeoutMs` without an answer. Only while the publisher first connects does a
     * publish wait for it (up to `publishTimeoutMs`), so that a server's start-up work is not
     * refused. When it fails, the topic's listeners on every instance receive `PUBSUB_RESYNC`
     * once the publisher works again, so a caller may log the failure and go on.
     */
    async publish(topic, payload) {
      if (closed) throw new Error('Redis pub/sub is closed');
      const body = JSON.stringify(payload);
      if (body === undefined) throw new TypeError(`pub/sub payload for ${topic} is not JSON-serializable`);
      const name = prefix + topic;
      if (!startupOver || startupWaiters > 0) {
        starting ??= withTimeout(publisherStarted, publishTimeoutMs)
          .catch(() => {})
          .finally(() => (startupOver = true));
        // Waiters of one promise resume in the order they began to wait: publishes stay in order.
        startupWaiters++;
        await starting;
        startupWaiters--;
      }
      try {
        // Issued with no await between here and the connection, so publishes keep their order.
        await publisher.publish(name, body);
      } catch (error) {
        if (closed) throw error;
        owed.add(name);
        // A timeout on a live connection: the marker can go now (it queues behind the publish).
        flushOwed();
        throw new Error(`Redis PUBLISH on ${name} failed; its listeners will be told to resync`, { cause: error });
      }
      if (owed.size > 0) flushOwed();
    },

    /**
     * `ready` resolves once Redis has acknowledged the SUBSCRIBE of the topic's channel (at
     * once if another listener already had it), waiting through an outage if need be; it
     * also resolves if the listener unsubscribes first, and rejects if the pub/sub closes
     * first. It never rejects unobserved.
     */
    subscribe(topic, listener): Unsubscribe {
      if (closed) {
        const ready = Promise.reject(new Error('Redis pub/sub is closed'));
        ready.catch(() => {});
        return Object.assign(() => {}, { ready });
      }
      const name = prefix + topic;
      let channel = channels.get(name);
      const isNew = !channel;
      if (!channel) {
        channel = { name, listeners: new Set(), acked: false, waiting: new Set() };
        channels.set(name, channel);
      }
      const own: Listener = { deliver: listener };
      channel.listeners.add(own);
      let waiter: Waiter | undefined;
      const ready = channel.acked
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiter = { resolve, reject };
            channel.waiting.add(waiter);
          });
      ready.catch(() => {});
      if (isNew) subscribeChannel(channel);

      const subscribed = channel;
      let active = true;
      return Object.assign(
        () => {
          if (!active) return;
          active = false;
          subscribed.listeners.delete(own);
          if (waiter && subscribed.waiting.delete(waiter)) waiter.resolve();
          if (subscribed.listeners.size === 0 && channels.get(name) === subscribed) {
            channels.delete(name);
            if (!closed) unsubscribeChannel(name);
          }
        },
        { ready },
      );
    },

    /** True when both connections are ready and answer PING within `pingTimeoutMs`. */
    async ping() {
      if (closed || publisher.status !== 'ready' || subscriber.status !== 'ready') return false;
      try {
        await withTimeout(Promise.all([publisher.ping(), subscriber.ping()]), pingTimeoutMs);
        return true;
      } catch {
        return false;
      }
    },

    /** QUITs both connections (or drops them if they do not answer), stopping reconnects. */
    async close() {
      if (closed) return;
      closed = true;
      endStartup();
      rejectAllWaiting(new Error('Redis pub/sub is closed'));
      channels.clear();
      owed.clear();
      await Promise.all([shut(publisher, pingTimeoutMs), shut(subscriber, pingTimeoutMs)]);
    },
  };
}

async function shut(connection: Redis, timeoutMs: number) {
  if (connection.status === 'ready') await withTimeout(connection.quit(), timeoutMs).catch(() => {});
  const status: RedisStatus = connection.status;
  if (status === 'end') return;
  if (status === 'reconnecting') {
    // Between attempts there is no socket, only the closed one, on which disconnect() would
    // arm its `disconnectTimeout` (2 s) anyway, never cleared since that socket closed long
    // ago. Let it forget that socket; if ioredis' internals differ, the timer merely runs out.
    const connector = (connection as unknown as { connector?: { stream?: { destroyed?: boolean } } }).connector;
    if (connector?.stream?.destroyed) connector.stream = undefined;
    connection.disconnect(); // clears the reconnect timer
    return;
  }
  const ended = new Promise((resolve) => connection.once('end', resolve));
  connection.disconnect();
  await withTimeout(ended, timeoutMs).catch(() => {});
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type Reporter = ((source: string, error: unknown) => void) & { recovered(source: string): void };

/**
 * Reports errors, holding back repeats of one message from one source for `intervalMs`;
 * a source that recovers reports its next error at once.
 */
function createReporter(onError: (error: unknown) => void, intervalMs: number): Reporter {
  const last = new Map<string, { message: string; at: number; held: number }>();
  const safe = (error: unknown) => {
    try {
      onError(error);
    } catch {
      // A reporter that throws must not take the connection down with it.
    }
  };
  return Object.assign(
    (source: string, error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      const now = Date.now();
      const previous = last.get(source);
      if (previous && previous.message === message && now - previous.at < intervalMs) {
        previous.held++;
        return;
      }
      last.set(source, { message, at: now, held: 0 });
      const held = previous && previous.message === message ? previous.held : 0;
      const label = `Redis pub/sub (${source}): ${message}${held > 0 ? ` (${held} more since last reported)` : ''}`;
      safe(new Error(label, { cause: error }));
    },
    {
      recovered(source: string) {
        last.delete(source);
      },
    },
  );
}
