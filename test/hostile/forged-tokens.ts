/**
 * Access tokens built by hand, byte by byte, for the token cases of the hostile catalogue and the
 * authorization matrix: `alg: none`, a wrong HMAC key, an RS256 header (algorithm confusion),
 * expired, not yet valid, foreign issuer/audience, a non-UUID subject, a tampered payload.
 */
import { createHmac, randomUUID } from 'node:crypto';

export const TOKEN_ISSUER = 'photo-memory';
export const TOKEN_AUDIENCE = 'photo-memory-mobile';

const part = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');

export interface Claims {
  readonly [claim: string]: unknown;
}

/** Claims as the service issues them, for `subjectId` at `nowMs` (overridable). */
export function accessClaims(subjectId: string, nowMs: number, overrides: Claims = {}): Claims {
  const now = Math.floor(nowMs / 1000);
  return { typ: 'access', sub: subjectId, iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, iat: now, nbf: now - 5, exp: now + 900, jti: randomUUID(), ...overrides };
}

/** header.payload signed with HMAC-SHA256 under `key` (whatever the header claims). */
export function hmacToken(header: Claims, payload: Claims, key: Uint8Array | string): string {
  const signingInput = `${part(header)}.${part(payload)}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

/** An unsigned token (`alg` as given, usually `none`), with an empty or a given signature part. */
export function unsignedToken(payload: Claims, alg = 'none', signature = ''): string {
  return `${part({ alg, typ: 'JWT' })}.${part(payload)}.${signature}`;
}

/** Replaces the payload of a signed token, keeping its header and signature. */
export function tamperedToken(token: string, payload: Claims): string {
  const [header, , signature] = token.split('.');
  return `${header}.${part(payload)}.${signature}`;
}

/** The decoded payload of a token (no verification). */
export function payloadOf(token: string): Claims {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Claims;
}
