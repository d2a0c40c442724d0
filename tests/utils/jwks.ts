import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { onCleanup } from './server.js';

/** A signing key as an identity provider holds it, with the public half it publishes. */
export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
  /** A token signed with this key; `header` overrides the protected header (e.g. another kid). */
  sign(claims: JWTPayload & { sub?: string }, options?: { expiresAt?: number; header?: Record<string, unknown> }): Promise<string>;
}

export async function signingKey(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    privateKey,
    jwk,
    sign(claims, options = {}) {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg, kid, ...options.header }).setIssuedAt();
      if (options.expiresAt !== undefined) jwt.setExpirationTime(Math.floor(options.expiresAt / 1000));
      return jwt.sign(privateKey);
    },
  };
}

/** An identity provider's key set served over loopback HTTP (port 0), closed after the test. */
export interface KeyServer {
  /** http://127.0.0.1:PORT/.well-known/jwks.json */
  url: string;
  /** The keys it publishes from now on. */
  publish(keys: SigningKey[]): void;
  /** How many times the key set has been asked for. */
  readonly fetches: number;
  /** Answers this much later (a slow key server). @default 0 */
  delayMs: number;
}

export async function startKeyServer(keys: SigningKey[]): Promise<KeyServer> {
  let published = keys;
  let fetches = 0;
  const pending = new Set<NodeJS.Timeout>();
  const http = createServer((req, res) => {
    fetches++;
    const body = JSON.stringify({ keys: published.map((k) => k.jwk) });
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(body);
    };
    if (keyServer.delayMs <= 0) return answer();
    const timer = setTimeout(() => {
      pending.delete(timer);
      answer();
    }, keyServer.delayMs);
    pending.add(timer);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  onCleanup(async () => {
    for (const timer of pending) clearTimeout(timer);
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  const keyServer: KeyServer = {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    publish: (next) => void (published = next),
    get fetches() {
      return fetches;
    },
    delayMs: 0,
  };
  return keyServer;
}
