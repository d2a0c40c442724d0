import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { ApiError, createApi, storedToken, storeToken } from './api.js';
import { print } from 'graphql';
import { graphql } from './gql/index.js';
import type { WebSessionsQuery } from './gql/graphql.js';
import { useRoute } from './route.js';
import { SessionPane } from './SessionPane.js';
import { applyTheme } from './theme.js';

const SessionsQuery = graphql(`
  query WebSessions {
    sessions(limit: 100) {
      id
      title
      status
      model
      updatedAt
    }
  }
`);

const CreateSessionMutation = graphql(`
  mutation WebCreateSession($input: CreateSessionInput) {
    createSession(input: $input) {
      id
      title
      status
      model
      updatedAt
    }
  }
`);

const ConfigQuery = graphql(`
  query WebConfig {
    config {
      theme
    }
  }
`);

const ConfigChangedSubscription = graphql(`
  subscription WebConfigChanged {
    configChanged {
      config {
        theme
      }
    }
  }
`);

type SessionSummary = WebSessionsQuery['sessions'][number];

export function App() {
  const [token, setToken] = useState(storedToken);
  const [needsToken, setNeedsToken] = useState(false);
  const api = useMemo(() => createApi(token), [token]);
  useEffect(() => () => api.dispose(), [api]);
  const [sessionId, navigate] = useRoute();
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  /** Every failed request comes here: UNAUTHENTICATED asks for a token, the rest is shown. */
  const fail = useCallback((e: unknown) => {
    if (e instanceof ApiError && e.code === 'UNAUTHENTICATED') {
      setNeedsToken(true);
      setError(token ? 'The server did not accept this token.' : null);
      return;
    }
    setError(e instanceof Error ? e.message : String(e));
  }, [token]);

  const refresh = useCallback(() => {
    api.request(SessionsQuery).then(
      (data) => {
        setSessions(data.sessions);
        setNeedsToken(false);
        setError(null);
      },
      fail,
    );
  }, [api, fail]);
  useEffect(refresh, [refresh]);
  // Other sessions' statuses are not followed live: coming back to the tab updates them.
  useEffect(() => {
    addEventListener('focus', refresh);
    return () => removeEventListener('focus', refresh);
  }, [refresh]);

  useEffect(() => {
    api.request(ConfigQuery).then((data) => applyTheme(data.config.theme), () => {});
    return api.ws.subscribe<{ configChanged: { config: { theme: unknown } } }>(
      { query: print(ConfigChangedSubscription) },
      { next: (result) => result.data && applyTheme(result.data.configChanged.config.theme), error: () => {}, complete: () => {} },
    );
  }, [api]);

  const create = async () => {
    try {
      const { createSession } = await api.request(CreateSessionMutation, { input: {} });
      setSessions((list) => [createSession, ...(list ?? []).filter((s) => s.id !== createSession.id)]);
      navigate(createSession.id);
    } catch (e) {
      fail(e);
    }
  };

  const saveToken = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = String(new FormData(event.currentTarget).get('token') ?? '').trim();
    storeToken(value);
    setToken(value);
  };

  return (
    <div className="app">
      <aside className="sidebar" aria-label="Sessions">
        <header className="brand">
          <span className="logo" aria-hidden="true">◆</span> Switchboard
        </header>
        <button type="button" className="primary new" onClick={create}>
          New session
        </button>
        <nav aria-label="Session list">
          <ul className="sessions">
            {sessions?.map((s) => (
              <li key={s.id}>
                <a
                  href={`/sessions/${encodeURIComponent(s.id)}`}
                  aria-current={s.id === sessionId ? 'page' : undefined}
                  onClick={(e) => {
                    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
                    e.preventDefault();
                    navigate(s.id);
                  }}
                >
                  <span className="title">{s.title || s.id}</span>
                  <span className="meta">{s.status === 'IDLE' ? s.model : s.status.toLowerCase().replace('_', ' ')}</span>
                </a>
              </li>
            ))}
          </ul>
          {sessions?.length === 0 && <p className="muted">No sessions yet.</p>}
        </nav>
        {(needsToken || token) && (
          <form className="token" onSubmit={saveToken}>
            <label htmlFor="token">Token</label>
            <input id="token" name="token" type="password" autoComplete="off" defaultValue={token} key={token} />
            <button type="submit">Use token</button>
          </form>
        )}
      </aside>
      <main className="main">
        {error && (
          <p role="alert" className="banner">
            {error}
          </p>
        )}
        {needsToken && !token ? (
          <div className="empty">
            <h1>Sign in</h1>
            <p>This server requires a token. Enter it in the Token box.</p>
          </div>
        ) : sessionId ? (
          <SessionPane key={`${sessionId}:${token}`} api={api} sessionId={sessionId} onError={fail} onStatus={refresh} />
        ) : (
          <div className="empty">
            <h1>Switchboard</h1>
            <p>Pick a session or start a new one.</p>
          </div>
        )}
      </main>
    </div>
  );
}
