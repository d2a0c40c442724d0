import type { NewSessionEvent, PermissionStatus, SessionEvent } from '../events/types.js';
import { FencedError, isFenced } from './fenced.js';
import { projectionOf, userMessageOf, type ProjectionOp } from './projection.js';
import { jsonSize, takeWithin } from './read-cap.js';
import type {
  ClientMessageRecord,
  ConfigRecord,
  LeaseRecord,
  MessageRecord,
  PermissionRecord,
  QueuedMessageRecord,
  SessionRecord,
  StartedTurn,
  Store,
  ToolCallRecord,
  TurnOutcome,
  TurnRequest,
  UsageRecord,
} from './types.js';

interface SessionData {
  session: SessionRecord;
  /** Insertion order, to break createdAt ties in `listSessions`. */
  order: number;
  events: SessionEvent[];
  messages: MessageRecord[];
  permissions: Map<string, PermissionRecord>;
  rules: Set<string>;
  queue: QueuedMessageRecord[];
  clientMessages: Map<string, ClientMessageRecord>;
  /** What this session's events count in its owner's usage; freed when it is deleted. */
  storedBytes: number;
}

/**
 * A deep copy of an event, as `structuredClone` would make it, at a fraction of its cost: an
 * event's fields are mostly strings and numbers (a TEXT_DELTA's all are), so only the few
 * object fields (tool input, permission request, usage) are cloned.
 */
function copyEvent<T extends SessionEvent>(event: T): T {
  const copy = { ...event };
  for (const key in copy) {
    const value = copy[key];
    if (value !== null && typeof value === 'object') copy[key] = structuredClone(value);
  }
  return copy;
}

/** A deep copy of a message: only a tool call's input is of unknown shape. */
function copyMessage(message: MessageRecord): MessageRecord {
  return { ...message, toolCalls: message.toolCalls.map(copyToolCall) };
}

/** A queued message is strings all the way down: its attachments are its only objects. */
function copyQueued(message: QueuedMessageRecord): QueuedMessageRecord {
  return { ...message, attachments: message.attachments.map((a) => ({ ...a })) };
}

function copyToolCall(call: ToolCallRecord): ToolCallRecord {
  const input = call.input;
  return { ...call, input: input !== null && typeof input === 'object' ? structuredClone(input) : input };
}

/** items[from..to), lazily, oldest first or (`backwards`) newest first: a cap stops the walk. */
function* range<T>(items: readonly T[], from: number, to: number, backwards = false): Generator<T> {
  const end = Math.min(to, items.length);
  if (backwards) for (let i = end - 1; i >= from; i--) yield items[i]!;
  else for (let i = from; i < end; i++) yield items[i]!;
}

/**
 * Everything in process memory: for tests and for trying things out. Gone on restart.
 * Records are copied in and out so callers can never mutate stored state by accident.
 */
export function createMemoryStore(): Store {
  const sessions = new Map<string, SessionData>();
  const configs = new Map<string, ConfigRecord>();
  const leases = new Map<string, Omit<LeaseRecord, 'token'>>();
  /** Each session's fencing token (Store's class comment); outlives its lease. */
  const fences = new Map<string, number>();
  const checkFence = (sessionId: string, token: number | undefined) => {
    if (isFenced(token, fences.get(sessionId) ?? 0)) throw new FencedError(sessionId, token!);
  };
  const usage = new Map<string, UsageRecord>();
  let order = 0;

  const usageOf = (userId: string) => {
    let u = usage.get(userId);
    if (!u) usage.set(userId, (u = { sessions: 0, storedBytes: 0 }));
    return u;
  };

  const data = (id: string) => sessions.get(id);

  function apply(d: SessionData, op: ProjectionOp) {
    switch (op.op) {
      case 'status':
        d.session.status = op.status;
        return;
      case 'dequeue':
        d.queue = d.queue.filter((q) => q.turnId !== op.turnId);
        return;
      case 'addMessage':
        d.messages.push(copyMessage(op.message));
        return;
      case 'addToolCall': {
        const last = d.messages.at(-1);
        if (last && last.role === 'ASSISTANT' && last.turnId === op.turnId) {
          last.toolCalls.push(copyToolCall(op.toolCall));
        } else {
          d.messages.push({ ...copyMessage(op.newMessage), toolCalls: [copyToolCall(op.toolCall)] });
        }
        return;
      }
      case 'toolResult':
        for (let i = d.messages.length - 1; i >= 0; i--) {
          const call = d.messages[i]!.toolCalls.find((c) => c.toolUseId === op.toolUseId);
          if (call) {
            call.result = op.result;
            call.isError = op.isError;
            return;
          }
        }
        return;
      case 'addPermission':
        d.permissions.set(op.permission.request.requestId, structuredClone(op.permission));
        return;
      case 'resolvePermission': {
        const p = d.permissions.get(op.requestId);
        if (p) p.status = op.status;
        return;
      }
    }
  }

  /** appendEvents' work, once the session is found and the fence checked. */
  function append(d: SessionData, events: NewSessionEvent[]): SessionEvent[] {
    const stored: SessionEvent[] = [];
    let bytes = 0;
    for (const e of events) {
      const event = copyEvent({ ...e, seq: d.session.lastSeq + 1 } as SessionEvent);
      // Counted as the SQL stores count it: the size of the event's JSON.
      bytes += Buffer.byteLength(JSON.stringify(event));
      d.session.lastSeq = event.seq;
      d.session.updatedAt = event.at;
      d.events.push(event);
      for (const op of projectionOf(event)) apply(d, op);
      stored.push(copyEvent(event));
    }
    d.storedBytes += bytes;
    usageOf(d.session.userId).storedBytes += bytes;
    return stored;
  }

  /** startTurn, synchronously: nothing can interleave with it. */
  function startTurn(sessionId: string, request: TurnRequest): TurnOutcome {
    const d = data(sessionId);
    if (!d || (request.userId !== undefined && d.session.userId !== request.userId)) return { outcome: 'not-found' };
    const m = request.message;
    let record: ClientMessageRecord | null = null;
    if (m) {
      const first = m.clientMessageId != null ? d.clientMessages.get(m.clientMessageId) : undefined;
      if (first) return { outcome: 'duplicate', record: { ...first }, session: { ...d.session } };
      const usage = usageOf(d.session.userId);
      if ((m.maxStoredBytes ?? 0) > 0 && usage.storedBytes > m.maxStoredBytes!) return { outcome: 'over-quota', usage: { ...usage } };
      if (m.reject) return { outcome: 'rejected' };
      if ((m.maxQueued ?? 0) > 0 && d.queue.length >= m.maxQueued!) return { outcome: 'queue-full' };
    }
    const start = request.start && !(request.onlyIfIdle && d.session.status !== 'IDLE');
    const head = start ? (m && (m.front || d.queue.length === 0) ? m.record : d.queue[0]) : undefined;
    if (!m && !head) return { outcome: 'done', record: null, started: null, session: { ...d.session } };
    checkFence(sessionId, request.token);
    if (m) {
      if (m.front) d.queue.unshift(copyQueued(m.record));
      else d.queue.push(copyQueued(m.record));
      record = { turnId: m.record.turnId, queued: !m.front && head?.turnId !== m.record.turnId };
      if (m.clientMessageId != null) d.clientMessages.set(m.clientMessageId, { ...record });
    }
    let started: StartedTurn | null = null;
    if (head) {
      const history = d.messages.map(copyMessage);
      const [event] = append(d, [userMessageOf(sessionId, head, request.at)]);
      started = { event: event!, message: copyQueued(head), history };
    }
    return { outcome: 'done', record, started, session: { ...d.session } };
  }

  return {
    shared: false,
    async createSession(session, options) {
      const max = options?.maxSessionsPerUser ?? 0;
      const owner = usageOf(session.userId);
      if (max > 0 && owner.sessions >= max) return 'over-quota';
      if (sessions.has(session.id)) return 'exists';
      owner.sessions++;
      const { ownerUsage: _ignored, ...record } = session;
      sessions.set(session.id, {
        session: record,
        order: order++,
        events: [],
        messages: [],
        permissions: new Map(),
        rules: new Set(),
        queue: [],
        clientMessages: new Map(),
        storedBytes: 0,
      });
      return 'created';
    },
    async getSession(id, options) {
      const d = data(id);
      if (!d) return null;
      return options?.withUsage ? { ...d.session, ownerUsage: { ...usageOf(d.session.userId) } } : { ...d.session };
    },
    async getUsage(userId) {
      return { ...(usage.get(userId) ?? { sessions: 0, storedBytes: 0 }) };
    },
    async listSessions(userId, limit) {
      return [...sessions.values()]
        .filter((d) => d.session.userId === userId)
        .sort((a, b) => b.session.createdAt.localeCompare(a.session.createdAt) || b.order - a.order)
        .slice(0, limit)
        .map((d) => ({ ...d.session }));
    },
    async deleteSession(id) {
      const d = data(id);
      if (d) {
        const owner = usageOf(d.session.userId);
        owner.sessions--;
        owner.storedBytes -= d.storedBytes;
      }
      sessions.delete(id);
      leases.delete(id);
      fences.delete(id);
    },
    async listUnsettledSessions() {
      return [...sessions.values()]
        .filter((d) => d.session.status !== 'IDLE' || d.queue.length > 0)
        .map((d) => ({ ...d.session }));
    },

    async appendEvents(sessionId, events: NewSessionEvent[], token) {
      const d = data(sessionId);
      if (!d) throw new Error(`appendEvents: no session ${sessionId}`);
      checkFence(sessionId, token);
      return append(d, events);
    },
    async readEvents(sessionId, after, limit, cap) {
      const d = data(sessionId);
      if (!d) return [];
      // seq n sits at index n-1: the log has no holes.
      const from = Math.max(0, after);
      if (!cap) return d.events.slice(from, from + limit).map(copyEvent);
      return takeWithin(range(d.events, from, from + limit), jsonSize, cap.maxBytes).map(copyEvent);
    },

    async listMessages(sessionId, page = {}) {
      const messages = data(sessionId)?.messages ?? [];
      let end = messages.length;
      if (page.before != null) end = messages.findLastIndex((m) => m.id === page.before);
      if (end < 0) return [];
      const newestFirst = range(messages, Math.max(0, end - (page.last ?? end)), end, true);
      return takeWithin(newestFirst, jsonSize, page.maxBytes).reverse().map(copyMessage);
    },

    async getPermission(sessionId, requestId) {
      const p = data(sessionId)?.permissions.get(requestId);
      return p ? structuredClone(p) : null;
    },
    async listPermissions(sessionId, status?: PermissionStatus) {
      const all = [...(data(sessionId)?.permissions.values() ?? [])];
      return structuredClone(status ? all.filter((p) => p.status === status) : all);
    },
    async addPermissionRule(sessionId, toolName) {
      data(sessionId)?.rules.add(toolName);
    },
    async hasPermissionRule(sessionId, toolName) {
      return data(sessionId)?.rules.has(toolName) ?? false;
    },

    async enqueue(sessionId, message, front = false, token, clientMessage) {
      const d = data(sessionId);
      if (!d) throw new Error(`enqueue: no session ${sessionId}`);
      checkFence(sessionId, token);
      if (front) d.queue.unshift(copyQueued(message));
      else d.queue.push(copyQueued(message));
      if (clientMessage) d.clientMessages.set(clientMessage.id, { ...clientMessage.record });
    },
    async startTurn(sessionId, request) {
      return startTurn(sessionId, request);
    },
    async listQueue(sessionId, view = {}) {
      const bare = (m: QueuedMessageRecord): QueuedMessageRecord => ({ ...m, attachments: [] });
      const queue = (data(sessionId)?.queue ?? []).map(view.attachments === false ? bare : (m) => m);
      return takeWithin(queue, jsonSize, view.maxBytes).map(copyQueued);
    },
    async clearQueue(sessionId) {
      const d = data(sessionId);
      if (d) d.queue = [];
    },

    async getClientMessage(sessionId, clientMessageId) {
      const r = data(sessionId)?.clientMessages.get(clientMessageId);
      return r ? { ...r } : null;
    },
    async putClientMessage(sessionId, clientMessageId, record) {
      data(sessionId)?.clientMessages.set(clientMessageId, { ...record });
    },

    async getConfig(userId) {
      const c = configs.get(userId);
      return c ? structuredClone(c) : null;
    },
    async putConfig(userId, config) {
      configs.set(userId, structuredClone(config));
    },

    async claimLease(sessionId, holder, ttlMs, now) {
      const current = leases.get(sessionId);
      if (!current || current.holder === holder || current.expiresAt < now) {
        if (current?.holder !== holder) fences.set(sessionId, (fences.get(sessionId) ?? 0) + 1);
        leases.set(sessionId, { holder, expiresAt: now + ttlMs });
      }
      return { ...leases.get(sessionId)!, token: fences.get(sessionId) ?? 0 };
    },
    async releaseLease(sessionId, holder) {
      if (leases.get(sessionId)?.holder === holder) leases.delete(sessionId);
    },
    async getLease(sessionId) {
      const lease = leases.get(sessionId);
      return lease ? { ...lease, token: fences.get(sessionId) ?? 0 } : null;
    },

    async ping() {
      return true;
    },
    async close() {},
  };
}
