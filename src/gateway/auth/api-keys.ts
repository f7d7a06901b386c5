// API keys: 'sluice.<principal id>.<secret>'. Only a SHA-256 of the secret is stored; the
// comparison is constant-time. Keys are 256-bit random, so a fast hash is enough (no KDF needed).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { UnauthenticatedError } from '../errors.js';
import type { Principal } from './scopes.js';

const KEY = /^sluice\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{16,128})$/;

export const hashSecret = (secret: string): string => 'sha256:' + createHash('sha256').update(secret).digest('hex');

/** Makes a new key for a principal id; the caller shows `key` once and stores `hash`. */
export function createApiKey(id: string): { key: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { key: `sluice.${id}.${secret}`, hash: hashSecret(secret) };
}

export class ApiKeys {
  private readonly byId = new Map<string, { principal: Principal; hash: Buffer }>();

  constructor(principals: Principal[]) {
    for (const p of principals) this.add(p);
  }

  /** Adds a principal's key (the keys of functions are added when they start). */
  add(p: Principal): void {
    if (!p.apiKeyHash) return;
    const m = /^sha256:([0-9a-f]{64})$/.exec(p.apiKeyHash);
    if (!m) throw new Error(`principal '${p.id}': apiKeyHash must be 'sha256:' and 64 hex digits`);
    this.byId.set(p.id, { principal: p, hash: Buffer.from(m[1]!, 'hex') });
  }

  /** Whether a presented key names this principal id (before checking its secret). */
  static idOf(presented: string | undefined): string | undefined {
    return presented === undefined ? undefined : KEY.exec(presented)?.[1];
  }

  /** The principal a presented key belongs to; UnauthenticatedError when missing, malformed or wrong. */
  authenticate(presented: string | undefined): Principal {
    if (!presented) throw new UnauthenticatedError('missing API key: send "Authorization: Bearer <key>" or "X-Api-Key: <key>"');
    const m = KEY.exec(presented);
    const entry = m && this.byId.get(m[1]!);
    const given = createHash('sha256').update(m?.[2] ?? presented).digest();
    const expected = entry?.hash ?? given.map((b) => b ^ 0xff); // compare anyway, so timing says nothing
    if (!timingSafeEqual(given, expected) || !entry) {
      throw new UnauthenticatedError('invalid API key');
    }
    return entry.principal;
  }
}

/** The key from "Authorization: Bearer …" or "X-Api-Key". */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers['authorization'];
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim(); // the scheme is case-insensitive (RFC 9110)
  const x = headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}
