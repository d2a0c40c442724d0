import { errors, jwtVerify } from 'jose';
import { systemClock, type Clock } from './clock.js';
import { SwitchboardError } from './errors.js';

/** The user every caller is when authentication is off. */
export const LOCAL_USER = 'local';

export interface Authenticator {
  /**
   * The user id of a request, from its `Authorization: Bearer <JWT>` value. Without a secret,
   * everyone is `local`; with one, a missing, malformed, wrongly signed or expired token is
   * UNAUTHENTICATED.
   */
  authenticate(authorization: string | null | undefined): Promise<string>;
}

/**
 * HS256 bearer tokens keyed with the UTF-8 bytes of the secret; `sub` is the user id and
 * `exp`, when present, is honoured. Other algorithms are refused, so a token cannot pick a
 * weaker one (`alg: none`) or confuse the key with a public one.
 */
export function createAuthenticator(secret: string | null | undefined, clock: Clock = systemClock): Authenticator {
  if (!secret) return { authenticate: async () => LOCAL_USER };
  const key = new TextEncoder().encode(secret);
  return {
    async authenticate(authorization) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!match) throw unauthenticated('An "Authorization: Bearer <token>" is required.');
      try {
        const { payload } = await jwtVerify(match[1]!, key, { algorithms: ['HS256'], currentDate: new Date(clock.now()) });
        if (typeof payload.sub !== 'string' || payload.sub === '') throw unauthenticated('The token has no subject (sub).');
        return payload.sub;
      } catch (error) {
        if (error instanceof SwitchboardError) throw error;
        if (error instanceof errors.JWTExpired) throw unauthenticated('The token has expired.', error);
        throw unauthenticated('The token is not valid.', error);
      }
    },
  };
}

const unauthenticated = (message: string, cause?: unknown) => new SwitchboardError('UNAUTHENTICATED', message, { cause });
