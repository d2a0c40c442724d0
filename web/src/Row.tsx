import { memo } from 'react';
import type { ConversationItem, PermissionItem, ToolItem } from 'switchboard/client';

export type Respond = (requestId: string, allowed: boolean, alwaysAllow: boolean) => void;

/**
 * One conversation item. Memoized: the reducer keeps unchanged items identical (`===`), so a
 * streaming delta re-renders only the streaming block, however long the session.
 */
export const Row = memo(function Row({ item, respond }: { item: ConversationItem; respond: Respond }) {
  switch (item.kind) {
    case 'user':
      return (
        <article className="row user" aria-label="You">
          <p className="text">{item.text}</p>
        </article>
      );
    case 'text':
      return (
        <article className={`row assistant ${item.state}`} aria-label="Assistant" aria-busy={item.state === 'streaming'}>
          <p className="text">{item.text}</p>
          {item.state === 'cut' && <p className="note">(interrupted)</p>}
        </article>
      );
    case 'tool':
      return <Tool item={item} />;
    case 'permission':
      return <Permission item={item} respond={respond} />;
    case 'error':
      return (
        <article className="row error" aria-label="Error">
          <p>
            <strong>Error{item.code ? ` (${item.code})` : ''}:</strong> {item.error}
          </p>
        </article>
      );
    case 'complete':
      return item.reason === 'END_TURN' ? null : (
        <p className="row ended">Turn ended: {item.reason === 'CANCELLED' ? 'stopped' : item.reason.toLowerCase().replace('_', ' ')}</p>
      );
  }
});

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

function Tool({ item }: { item: ToolItem }) {
  const name = item.displayName || item.toolName;
  return (
    <article className={`row tool${item.isError ? ' failed' : ''}`} aria-label={`Tool call ${name}`}>
      <p className="tool-name">
        <span aria-hidden="true">⚙ </span>
        {name}
        {item.intent && <span className="muted"> · {item.intent}</span>}
        <span className="muted"> · {item.result === null ? 'running…' : item.isError ? 'failed' : 'done'}</span>
      </p>
      <details>
        <summary>Input</summary>
        <pre>{show(item.input)}</pre>
      </details>
      {item.result !== null && (
        <div className="result">
          <span className="visually-hidden">{item.isError ? 'Error' : 'Result'}: </span>
          <pre>{item.result}</pre>
        </div>
      )}
    </article>
  );
}

const outcome: Record<string, string> = {
  ALLOWED: 'Allowed',
  DENIED: 'Denied',
  EXPIRED: 'Expired: nobody answered in time',
  CANCELLED: 'Cancelled',
};

function Permission({ item, respond }: { item: PermissionItem; respond: Respond }) {
  const pending = item.status === 'PENDING';
  return (
    <article className={`row permission ${item.status.toLowerCase()}`} aria-label="Permission request">
      <p className="ask">
        <strong>{item.toolName ?? 'A tool'}</strong> asks for permission
      </p>
      {item.command && <pre className="command">{item.command}</pre>}
      {item.description && <p>{item.description}</p>}
      {pending ? (
        <div className="choices">
          <button type="button" className="primary" onClick={() => respond(item.requestId, true, false)}>
            Allow
          </button>
          <button type="button" onClick={() => respond(item.requestId, true, true)}>
            Always allow
          </button>
          <button type="button" className="danger" onClick={() => respond(item.requestId, false, false)}>
            Deny
          </button>
        </div>
      ) : (
        <p className="outcome">
          {outcome[item.status] ?? item.status}
          {item.alwaysAllow && item.status === 'ALLOWED' ? ' (always)' : ''}
          {item.resolution === 'RULE' ? ' by an earlier “always allow”' : ''}
        </p>
      )}
    </article>
  );
}
