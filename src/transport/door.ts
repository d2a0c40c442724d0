import type { IncomingHttpHeaders } from 'node:http';

/**
 * Who may come in, decided once for every path and the WebSocket upgrade, before Yoga,
 * graphql-ws or graphql-sse see a byte (app.ts calls it first).
 *
 * A server on a laptop is reachable from every web page its user opens, and a browser sends
 * a page's requests with the user's network position. Two checks keep those pages out:
 *
 * - **Origin.** A browser names the page's origin on every cross-origin request and on every
 *   WebSocket upgrade (which CORS does not cover at all). A request that carries one is
 *   served only if it is the server's own (the page came from here: the web app, GraphiQL)
 *   or listed. Requests without one (curl, server-side clients) are not browsers' and pass.
 * - **Host** (DNS rebinding). A page can make its own host name resolve to 127.0.0.1; its
 *   requests are then same-origin and carry no foreign Origin, but they still name the
 *   attacker's host in `Host`. Without authentication only local names are served. With
 *   authentication a rebound page has no token, so the check is off (a public deployment
 *   is reached under names the server cannot know).
 */
export interface DoorOptions {
  /**
   * Exact origins (`https://app.example.com`, `null`) served besides the server's own;
   * `*` serves every origin, which only makes sense when every request needs a token.
   * @default []
   */
  allowedOrigins?: readonly string[];
  /** Host names served besides the local ones and `listenHost` (without authentication). @default [] */
  allowedHosts?: readonly string[];
  /** The HOST the server listens on: a name it is reached by. @default '127.0.0.1' */
  listenHost?: string;
  /** Whether every request needs a token; turns the Host check off. @default false */
  authenticated?: boolean;
}

/** What the door looks at: an IncomingMessage, or anything with its headers. */
export interface Knock {
  headers: IncomingHttpHeaders;
}

export interface Door {
  /** Why the request may not come in (the 403's message), or null when it may. */
  refusal(req: Knock): string | null;
  /**
   * The origin to answer with CORS headers (credentials included), or null for none: the
   * request's own Origin when it may come in, never a refused one.
   */
  corsOrigin(origin: string | null, host: string | null): string | null;
}

const LOCAL_HOSTS = ['localhost', '127.0.0.1', '[::1]'];
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

export function createDoor(options: DoorOptions = {}): Door {
  const anyOrigin = options.allowedOrigins?.includes('*') ?? false;
  if (anyOrigin && !options.authenticated) {
    // A page from anywhere could then act as the single unauthenticated user.
    throw new Error('allowedOrigins "*" needs authentication to be configured.');
  }
  const origins = new Set((options.allowedOrigins ?? []).map(normalizeOrigin));
  const hosts = new Set([...LOCAL_HOSTS, bracketed(options.listenHost ?? '127.0.0.1'), ...(options.allowedHosts ?? [])].map((h) => h.toLowerCase()));
  const checkHost = !options.authenticated;

  const originAllowed = (origin: string, host: string | null) => anyOrigin || origins.has(origin) || isOwnOrigin(origin, host);

  return {
    refusal(req) {
      const host = one(req.headers.host);
      if (checkHost && (host === null || !hosts.has(hostName(host)))) {
        return `The host name ${JSON.stringify(host ?? '')} is not served; add it to ALLOWED_HOSTS to reach this server by that name.`;
      }
      const origin = one(req.headers.origin);
      if (origin !== null && !originAllowed(origin, host)) {
        return `Requests from origin ${JSON.stringify(origin)} are not allowed; add it to ALLOWED_ORIGINS to serve that page.`;
      }
      return null;
    },
    corsOrigin(origin, host) {
      return origin !== null && originAllowed(origin, host) ? origin : null;
    },
  };
}

/**
 * Whether `origin` names this server as the request reached it: the same host and port as
 * `Host` (default ports made explicit). The scheme is not compared: behind a TLS-terminating
 * proxy the page is https while this server speaks http, on the same name and port.
 */
export function isOwnOrigin(origin: string, host: string | null): boolean {
  if (host === null || origin === 'null') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined || url.origin !== origin) return false;
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host.toLowerCase());
  if (!hostPort) return false;
  return url.hostname === hostPort[1] && (url.port || defaultPort) === (hostPort[2] || defaultPort);
}

/** The name in a Host header, lowercased, without its port (an IPv6 literal keeps its brackets). */
function hostName(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.indexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}

/** An IPv6 address as it appears in a Host header. */
function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** A header's value; repeated ones joined, which then match nothing. */
function one(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** An origin as browsers send it (`https://app.example.com`: no path, no default port); others as given. */
export function normalizeOrigin(origin: string): string {
  if (origin === '*' || origin === 'null') return origin;
  try {
    const url = new URL(origin);
    return url.origin === 'null' ? origin : url.origin;
  } catch {
    return origin;
  }
}
