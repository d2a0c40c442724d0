import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import {
  conversationOf,
  emptyView,
  fromGraphqlWs,
  reduceAll,
  seedView,
  SessionSnapshotQuery,
  sessionEvents,
  type ClientEvent,
  type ConversationItem,
  type SessionSnapshotFieldsFragment,
  type SessionView,
} from 'switchboard/client';
import { newId, type Api } from './api.js';
import { graphql } from './gql/index.js';
import { Row, type Respond } from './Row.js';

/** How many of the newest messages a session opens with. */
const SEED_MESSAGES = 200;
/** Events fetched to rebuild a turn that is streaming when the session opens. */
const SEED_EVENTS = 1000;
/** Events arriving within this many milliseconds are applied in one render. */
const BATCH_MS = 16;

/** The events of a turn streaming when the session opens (seedView rebuilds it from them). */
const RecentEventsQuery = graphql(`
  query WebRecentEvents($id: ID!, $after: Int!, $limit: Int!) {
    session(id: $id) {
      events(after: $after, limit: $limit) {
        ...SessionEventFields
      }
    }
  }
`);

/** The page of messages before `before` (oldest first), for "Show earlier messages". */
const EarlierMessagesQuery = graphql(`
  query WebEarlierMessages($id: ID!, $before: ID!, $last: Int!) {
    session(id: $id) {
      messages(last: $last, before: $before) {
        id
        role
        text
        turnId
        createdAt
        toolCalls {
          toolUseId
          toolName
          input
          result
          isError
        }
      }
    }
  }
`);

const SendMessageMutation = graphql(`
  mutation WebSendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      turnId
      queued
    }
  }
`);

const RespondMutation = graphql(`
  mutation WebRespond($input: RespondToPermissionInput!) {
    respondToPermission(input: $input) {
      requestId
      status
    }
  }
`);

const CancelMutation = graphql(`
  mutation WebCancel($id: ID!) {
    cancelTurn(sessionId: $id) {
      id
      status
    }
  }
`);

interface Meta {
  title: string;
  model: string;
}

interface LocalQueued {
  turnId: string;
  text: string;
}

const statusText: Record<string, string> = {
  IDLE: 'Idle',
  RUNNING: 'Running',
  AWAITING_PERMISSION: 'Waiting for permission',
};

export function SessionPane({
  api,
  sessionId,
  onError,
  onStatus,
}: {
  api: Api;
  sessionId: string;
  onError(error: unknown): void;
  onStatus(): void;
}) {
  const [view, setView] = useState<SessionView>(emptyView);
  const [meta, setMeta] = useState<Meta | null>(null);
  const [missing, setMissing] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [localQueued, setLocalQueued] = useState<LocalQueued[]>([]);
  const [text, setText] = useState('');
  // Pages of older messages the reader asked for, oldest first, and where the next one ends.
  const [earlier, setEarlier] = useState<readonly ConversationItem[]>([]);
  const [oldest, setOldest] = useState<string | null>(null);
  const snapshot = useRef<SessionSnapshotFieldsFragment | null>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const atEnd = useRef(true);
  const onErrorRef = useRef(onError);
  onErrorRef.current = onError;

  // Seed from a snapshot (plus the events of a turn streaming right now), then follow the
  // events after the snapshot's last seq: nothing missing, nothing twice.
  useEffect(() => {
    const abort = new AbortController();
    let pending: ClientEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      timer = null;
      const batch = pending;
      pending = [];
      setView((v) => reduceAll(v, batch));
    };
    (async () => {
      const { session } = await api.request(SessionSnapshotQuery, { id: sessionId, last: SEED_MESSAGES });
      if (abort.signal.aborted) return;
      if (!session) return setMissing(true);
      let recent: ClientEvent[] | undefined;
      if (session.status !== 'IDLE') {
        const after = Math.max(0, session.lastSeq - SEED_EVENTS);
        const data = await api.request(RecentEventsQuery, { id: sessionId, after, limit: SEED_EVENTS });
        if (abort.signal.aborted) return;
        recent = data.session?.events;
      }
      const seeded = seedView(session, recent);
      snapshot.current = session;
      setOldest(session.messages.length >= SEED_MESSAGES ? session.messages[0]!.id : null);
      setMeta({ title: session.title, model: session.model });
      setView(seeded);
      setLoaded(true);
      sessionEvents(fromGraphqlWs(api.ws), sessionId, {
        after: seeded.lastSeq,
        signal: abort.signal,
        onEvent(event) {
          pending.push(event);
          timer ??= setTimeout(flush, BATCH_MS);
        },
        onError(error) {
          if (error.code === 'NOT_FOUND') setMissing(true);
          else onErrorRef.current(error);
        },
      });
    })().catch((e) => abort.signal.aborted || onErrorRef.current(e));
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [api, sessionId]);

  const status = view.status;
  const onStatusRef = useRef(onStatus);
  onStatusRef.current = onStatus;
  useEffect(() => {
    if (loaded) onStatusRef.current();
  }, [status, loaded]);

  const started = useMemo(() => new Set(view.items.flatMap((item) => (item.kind === 'user' && item.turnId ? [item.turnId] : []))), [view.items]);
  const queued = useMemo(() => {
    const known = new Set(view.queued.map((q) => q.turnId));
    return [...view.queued, ...localQueued.filter((q) => !known.has(q.turnId) && !started.has(q.turnId))];
  }, [view.queued, localQueued, started]);

  const showEarlier = async () => {
    if (!oldest || !snapshot.current) return;
    try {
      const data = await api.request(EarlierMessagesQuery, {
        id: sessionId,
        before: oldest,
        last: SEED_MESSAGES,
      });
      const messages = data.session?.messages ?? [];
      // The same rows a snapshot of those messages alone would seed.
      const page = seedView({ ...snapshot.current, status: 'IDLE', lastSeq: 0, messages, pendingPermissions: [], queuedMessages: [] });
      setEarlier((list) => [...page.items, ...list]);
      setOldest(messages.length >= SEED_MESSAGES ? messages[0]!.id : null);
    } catch (e) {
      onError(e);
    }
  };

  const send = async () => {
    const message = text.trim();
    if (!message) return;
    setText('');
    atEnd.current = true; // one's own message brings the conversation's end back into view
    try {
      const { sendMessage } = await api.request(SendMessageMutation, {
        input: { sessionId, text: message, clientMessageId: newId() },
      });
      if (sendMessage.queued) setLocalQueued((list) => [...list, { turnId: sendMessage.turnId, text: message }]);
    } catch (e) {
      setText((current) => current || message);
      onError(e);
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  const stop = () => void api.request(CancelMutation, { id: sessionId }).catch(onError);

  const respond: Respond = useCallback(
    (requestId, allowed, alwaysAllow) => {
      // The buttons go once answered: keep the keyboard where the next thing to do is.
      document.getElementById('message')?.focus();
      void api.request(RespondMutation, { input: { sessionId, requestId, allowed, alwaysAllow } }).catch((e) => onErrorRef.current(e));
    },
    [api, sessionId],
  );

  // Follow the conversation's end while the reader is there; leave them be when scrolled up.
  const items = conversationOf(view);
  useLayoutEffect(() => {
    const log = logRef.current;
    if (log && atEnd.current) log.scrollTop = log.scrollHeight;
  });

  if (missing) {
    return (
      <div className="empty">
        <h1>Session not found</h1>
        <p>It was deleted, or it belongs to someone else.</p>
      </div>
    );
  }

  const running = status !== 'IDLE';
  return (
    <section className="session" aria-label={meta?.title || sessionId}>
      <header className="session-head">
        <h1>{meta?.title || sessionId}</h1>
        <dl className="facts">
          <div>
            <dt>Status</dt>
            <dd className={`status status-${status.toLowerCase()}`} role="status" aria-label="Session status">{loaded ? statusText[status] ?? status : 'Loading…'}</dd>
          </div>
          <div>
            <dt>Model</dt>
            <dd>{meta?.model ?? '…'}</dd>
          </div>
        </dl>
      </header>
      <div
        className="log"
        role="log"
        aria-label="Conversation"
        ref={logRef}
        onScroll={(e) => {
          const el = e.currentTarget;
          atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {loaded && items.length === 0 && earlier.length === 0 && <p className="muted hint">Say something. Try /stream, /write notes.txt hello, or /sleep 5.</p>}
        {oldest && (
          <button type="button" className="earlier" onClick={showEarlier}>
            Show earlier messages
          </button>
        )}
        {earlier.map((item) => (
          <Row key={item.key} item={item} respond={respond} />
        ))}
        {items.map((item) => (
          <Row key={item.key} item={item} respond={respond} />
        ))}
      </div>
      {queued.length > 0 && (
        <section className="queued" aria-label="Queued messages">
          <h2>Queued</h2>
          <ul>
            {queued.map((q) => (
              <li key={q.turnId}>{q.text}</li>
            ))}
          </ul>
        </section>
      )}
      <form
        className="composer"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label htmlFor="message" className="visually-hidden">
          Message
        </label>
        <textarea
          id="message"
          rows={2}
          value={text}
          placeholder="Message (Enter sends, Shift+Enter for a new line)"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          autoFocus
        />
        <div className="actions">
          {running && (
            <button type="button" className="stop" onClick={stop}>
              Stop
            </button>
          )}
          <button type="submit" className="primary" disabled={!loaded}>
            Send
          </button>
        </div>
      </form>
    </section>
  );
}
