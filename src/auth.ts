import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { systemClock, type Clock } from './clock.js';
import { SwitchboardError } from './errors.js';

/** The user every caller is when authentication is off. */
export const LOCAL_USER = 'local';

/** Who a request is, and until when its credentials hold. */
export interface Identity {
  /** The token's `sub`, or `local` without authentication. */
  userId: string;
  /**
   * When the token expires (its `exp`, in ms since the epoch): what it opened ends then.
   * Null for a token without `exp`, and without authentication.
   */
  expiresAt: number | null;
}

export interface Authenticator {
  /**
   * The caller of a request, from its `Authorization: Bearer <JWT>` value. Without
   * authentication, everyone is `local`; with it, a missing, malformed, wrongly signed,
   * expired or foreign (`iss`, `aud`) token is UNAUTHENTICATED, and a key set that cannot be
   * fetched in time is SERVICE_UNAVAILABLE.
   */
  authenticate(authorization: string | null | undefined): Promise<Identity>;
  /** Whether requests need a token (a secret or a key set is configured). */
  readonly required: boolean;
}

/** How bearer tokens are verified. With neither `secret` nor `jwksUrl`, every caller is `local`. */
export interface AuthOptions {
  /**
   * HS256 secret (its UTF-8 bytes are the key). Not together with `jwksUrl`.
   * @default undefined
   */
  secret?: string | null;
  /**
   * An identity provider's JSON Web Key Set (http or https): tokens signed with RS256, ES256
   * or EdDSA by one of its keys (picked by `kid`) are accepted. Not together with `secret`.
   * @default undefined
   */
  jwksUrl?: string | null;
  /** When set, a token's `iss` must be exactly this. @default undefined (not checked) */
  issuer?: string | null;
  /** When set, a token's `aud` must be (or contain) this. @default undefined (not checked) */
  audience?: string | null;
  /**
   * How long one fetch of the key set may take. A request waiting for keys that do not come
   * in time fails with SERVICE_UNAVAILABLE (HTTP 503) instead of hanging.
   * @default 5000
   */
  jwksTimeoutMs?: number;
  /**
   * After a fetch, how long a token with an unknown `kid` is refused without fetching the
   * key set again, so tokens with made-up kids cannot make the server hammer the key server.
   * (jose measures it on the system clock.)
   * @default 30000
   */
  jwksCooldownMs?: number;
  /** How long fetched keys are used before the key set is fetched again. @default 600000 */
  jwksCacheMaxAgeMs?: number;
}

/**
 * Algorithms a key set's keys may sign with. Symmetric ones are never accepted from a key
 * set (a token could otherwise use a public key as an HMAC secret), nor is `none`.
 */
export const JWKS_ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'Ed25519'];

/**
 * Verifies bearer JWTs: HS256 keyed with a shared secret, or an identity provider's key set.
 * `sub` is the user id; `exp`, when present, is honoured and reported; `iss` and `aud` are
 * checked when configured. Only the algorithms of the configured way are accepted, so a token
 * cannot pick a weaker one (`alg: none`) or confuse one kind of key with another.
 */
export function createAuthenticator(options: AuthOptions = {}, clock: Clock = systemClock): Authenticator {
  const { secret, jwksUrl } = options;
  if (secret && jwksUrl) throw new Error('Authentication takes either a secret or a JWKS URL, not both.');
  if (!secret && !jwksUrl) return { required: false, authenticate: async () => ({ userId: LOCAL_USER, expiresAt: null }) };
  const key: Uint8Array | JWTVerifyGetKey = secret ? new TextEncoder().encode(secret) : remoteKeys(jwksUrl!, options);
  const verifyOptions: JWTVerifyOptions = {
    algorithms: secret ? ['HS256'] : JWKS_ALGORITHMS,
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  return {
    required: true,
    async authenticate(authorization) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!match) throw unauthenticated('An "Authorization: Bearer <token>" is required.');
      try {
        const { payload } = await jwtVerify(match[1]!, key as Uint8Array, { ...verifyOptions, currentDate: new Date(clock.now()) });
        if (typeof payload.sub !== 'string' || payload.sub === '') throw unauthenticated('The token has no subject (sub).');
        return { userId: payload.sub, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null };
      } catch (error) {
        if (error instanceof SwitchboardError) throw error;
        if (error instanceof errors.JWTExpired) throw unauthenticated('The token has expired.', error);
        if (error instanceof errors.JWTClaimValidationFailed && (error.claim === 'iss' || error.claim === 'aud')) {
          throw unauthenticated(`The token's ${error.claim} is not accepted here.`, error);
        }
        throw unauthenticated('The token is not valid.', error);
      }
    },
  };
}

/**
 * The key set as jose's remote JWKS (fetched on first use, cached, fetched again for an
 * unknown `kid` once the cooldown has passed), with its failures told apart: a token whose
 * key is not in the set is the token's fault (UNAUTHENTICATED); a key server that is slow,
 * down or answers nonsense is not, and the request fails with SERVICE_UNAVAILABLE, which a
 * client retries with the same token rather than asking its user to sign in again.
 */
function remoteKeys(url: string, options: AuthOptions): JWTVerifyGetKey {
  const keys = createRemoteJWKSet(new URL(url), {
    timeoutDuration: options.jwksTimeoutMs ?? 5000,
    cooldownDuration: options.jwksCooldownMs ?? 30_000,
    cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
  });
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (error) {
      // The token's: no key of its kid and alg, several (jwtVerify then tries each), an alg the set cannot verify.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported) {
        throw error;
      }
      const why = error instanceof errors.JWKSTimeout ? 'did not answer in time' : 'is not usable';
      throw new SwitchboardError('SERVICE_UNAVAILABLE', `The identity provider's key set ${why}; try again shortly.`, { cause: error });
    }
  };
}

const unauthenticated = (message: string, cause?: unknown) => new SwitchboardError('UNAUTHENTICATED', message, { cause });
