import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { graphqlTypeName, type SessionEvent, type SessionEventType, type StopReason } from '../events/types.js';

/** What a scrape reads of one transport's subscriptions (delivery/tally.ts counts them). */
export interface TransportCounts {
  /** Subscriptions open now. */
  readonly active: number;
  /** Subscription payloads sent. */
  readonly delivered: number;
}

/** Where subscriptions are served: graphql-ws, or SSE (Yoga's own and both graphql-sse modes). */
export type Transport = 'ws' | 'sse';

const STOP_REASONS: readonly StopReason[] = ['END_TURN', 'CANCELLED', 'ERROR', 'INTERRUPTED'];

/**
 * prom-client's process metrics (CPU, memory, event loop lag, GC) belong to the process, not
 * to an app: registered once, however many apps one process (a test run) creates, since each
 * registration starts its own event-loop monitor and GC observer for good.
 */
let processRegistry: Registry | null = null;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The contract's metric families (CONTRACT.md, Operations) in a registry of the app's own, so
 * several apps in one process do not add into each other. Counted where things happen:
 * open subscriptions and delivered messages in delivery/ (its tallies, read here at a
 * scrape: delivery/tally.ts), events and completed turns at the log's append
 * (log/event-log.ts), turn timing in sessions/turn.ts, permission waits in sessions/permissions.ts,
 * model requests in the agents' loop (through `AgentTurn.onModelRequest`).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly events = Object.fromEntries(Object.keys(graphqlTypeName).map((type) => [type, 0])) as Record<SessionEventType, number>;
  private readonly turns = Object.fromEntries(STOP_REASONS.map((reason) => [reason, 0])) as Record<StopReason, number>;
  private readonly tokens = { input: 0, output: 0 };
  private readonly turnsActive: Gauge;
  private readonly turnDuration: Histogram;
  private readonly timeToFirstToken: Histogram;
  private readonly permissionsPending: Gauge;
  private readonly agentRequests: Counter<'outcome'>;
  private readonly fencedWrites: Counter;

  /** @param transports what delivery counts per transport (delivery/tally.ts), read at each scrape */
  constructor(private readonly transports: Readonly<Record<Transport, TransportCounts>>) {
    const registers = [this.registry];
    const { events, turns, tokens } = this;
    new Gauge({
      name: 'switchboard_subscriptions_active',
      help: 'Subscriptions open now, by transport.',
      labelNames: ['transport'],
      registers,
      collect() {
        for (const [transport, tally] of Object.entries(transports)) this.set({ transport }, tally.active);
      },
    });
    new Counter({
      name: 'switchboard_messages_delivered_total',
      help: 'Subscription payloads sent, by transport.',
      labelNames: ['transport'],
      registers,
      collect() {
        this.reset();
        for (const [transport, tally] of Object.entries(transports)) this.inc({ transport }, tally.delivered);
      },
    });
    new Counter({
      name: 'switchboard_events_total',
      help: 'Session events appended to the log, by GraphQL type.',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, count] of Object.entries(events)) this.inc({ type: graphqlTypeName[type as SessionEventType] }, count);
      },
    });
    new Counter({
      name: 'switchboard_turns_total',
      help: 'Turns ended, by CompleteEvent.reason.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(turns)) this.inc({ reason }, count);
      },
    });
    new Counter({
      name: 'switchboard_agent_tokens_total',
      help: "Tokens of ended turns (CompleteEvent.usage), by type: the model's input and output.",
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, count] of Object.entries(tokens)) this.inc({ type }, count);
      },
    });
    this.turnsActive = new Gauge({ name: 'switchboard_turns_active', help: 'Turns running on this instance now.', registers });
    this.turnDuration = new Histogram({
      name: 'switchboard_turn_duration_seconds',
      help: 'From a turn starting to its end.',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'switchboard_time_to_first_token_seconds',
      help: "From a turn starting to the agent's first text.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.permissionsPending = new Gauge({
      name: 'switchboard_permission_requests_pending',
      help: 'Permission requests waiting for an answer on this instance.',
      registers,
    });
    this.agentRequests = new Counter({
      name: 'switchboard_agent_requests_total',
      help: 'Model requests ended, by outcome: ok, or the failure code (after retries).',
      labelNames: ['outcome'],
      registers,
    });
    this.agentRequests.inc({ outcome: 'ok' }, 0);
    this.fencedWrites = new Counter({
      name: 'switchboard_fenced_writes_total',
      help: "Writes this instance sent that the store refused: the session's lease had gone to another instance (fencing).",
      registers,
    });
    processMetrics();
  }

  /** Stored events (a batch the log appended): events, and for each CompleteEvent its turn and tokens. */
  appended(stored: readonly SessionEvent[]): void {
    for (const event of stored) {
      this.events[event.type]++;
      if (event.type !== 'COMPLETE') continue;
      this.turns[event.reason]++;
      if (event.usage) {
        this.tokens.input += event.usage.inputTokens;
        this.tokens.output += event.usage.outputTokens;
      }
    }
  }

  /** The store refused a write of this instance's as fenced (an older lease's token). */
  fencedWrite(): void {
    this.fencedWrites.inc();
  }

  /** A turn started running on this instance. */
  turnStarted(): void {
    this.turnsActive.inc();
  }

  /** A turn that `turnStarted` counted has ended, however (its CompleteEvent is counted at append). */
  turnEnded(durationMs: number): void {
    this.turnsActive.dec();
    this.turnDuration.observe(durationMs / 1000);
  }

  /** A turn's first text arrived this long after it started. */
  firstToken(afterMs: number): void {
    this.timeToFirstToken.observe(afterMs / 1000);
  }

  permissionAsked(): void {
    this.permissionsPending.inc();
  }

  permissionSettled(): void {
    this.permissionsPending.dec();
  }

  /** A model request ended: `ok`, or the turn's failure code. Bound: handed to agents as is. */
  readonly modelRequest = (outcome: string): void => {
    this.agentRequests.inc({ outcome });
  };

  /** Prometheus text: this app's families, then the process's. */
  async exposition(): Promise<string> {
    const [own, process] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return `${own}\n${process}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
