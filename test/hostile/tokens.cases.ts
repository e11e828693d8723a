/**
 * Hostile credentials on every kind of protected endpoint: JWTs with alg none, a wrong key, an
 * RS256 header, expired (the clock moved past TOKEN_TTL, or an exp in the past), not yet valid,
 * foreign issuer or audience, another token type, a non-UUID subject, a tampered payload, a valid
 * token of an erased subject; other schemes, overlong headers; staff tokens on subject endpoints
 * and subject tokens on staff endpoints.
 */
import { STAFF } from '../support/test-app';
import { accessClaims, hmacToken, payloadOf, tamperedToken, unsignedToken } from './forged-tokens';
import type { HostileCase, Send } from './hostile-runner';
import { call } from './hostile-runner';
import type { World } from './hostile-world';

const HS256 = { alg: 'HS256', typ: 'JWT' };
const now = (w: World) => w.t.clock.now().getTime();
/** A token with A's claims (changed by `overrides`) signed with the service's real key. */
const signedForA = (overrides: Record<string, unknown> = {}, header: Record<string, unknown> = HS256) => (w: World) =>
  hmacToken(header, accessClaims(w.a.subjectId, now(w), overrides), w.signingKey);

/** A's real token, sent after the clock moved one second past TOKEN_TTL (the clock is put back after). */
const afterExpiry = (method: 'GET', path: string): Send => async (w) => {
  const startedAt = w.t.clock.now();
  w.t.clock.advance((w.t.config.tokens.ttlSeconds + 1) * 1000);
  try {
    return await call(method, path, { token: w.a.token })(w);
  } finally {
    w.t.clock.set(startedAt);
  }
};

export const TOKEN_CASES: readonly HostileCase[] = [
  { endpoint: 'GET /v1/images', input: 'JWT alg "none", no signature, claims for A', status: 401, code: 'UNAUTHORIZED', send: call('GET', '/v1/images', { token: (w) => unsignedToken(accessClaims(w.a.subjectId, now(w))) }) },
  { endpoint: 'GET /v1/artworks', input: "JWT alg \"NONE\" carrying A's real signature", status: 401, code: 'UNAUTHORIZED', send: call('GET', '/v1/artworks', { token: (w) => unsignedToken(payloadOf(w.a.token), 'NONE', w.a.token.split('.')[2]) }) },
  { endpoint: 'GET /v1/me/consents', input: 'HS256 signed with a wrong key', status: 401, code: 'UNAUTHORIZED', send: call('GET', '/v1/me/consents', { token: (w) => hmacToken(HS256, accessClaims(w.a.subjectId, now(w)), 'not-the-key-0123456789abcdef0123') }) },
  { endpoint: 'GET /v1/me/history', input: 'RS256 header, HMAC-signed with the real key (algorithm confusion)', status: 401, code: 'UNAUTHORIZED', send: call('GET', '/v1/me/history', { token: signedForA({}, { alg: 'RS256', typ: 'JWT' }) }) },
  { endpoint: 'GET /v1/me/access-log', input: "A's real token after the clock moved past TOKEN_TTL", status: 401, code: 'UNAUTHORIZED', send: afterExpiry('GET', '/v1/me/access-log') },
  { endpoint: 'GET /v1/me/requests', input: 'validly signed, exp an hour ago', status: 401, code: 'UNAUTHORIZED', send: call('GET', '/v1/me/requests', { token: (w) => signedForA({ iat: Math.floor(now(w) / 1000) - 7200, nbf: Math.floor(now(w) / 1000) - 7200, exp: Math.floor(now(w) / 1000) - 3600 })(w) }) },
  { endpoint: 'GET /v1/me/export', input: 'validly signed, not valid before tomorrow', status: 401, code: 'UNAUTHORIZED', send: call('GET', '/v1/me/export', { token: (w) => signedForA({ nbf: Math.floor(now(w) / 1000) + 86_400, exp: Math.floor(now(w) / 1000) + 90_000 })(w) }) },
  { endpoint: 'GET /v1/me/export', input: "A's token with the payload changed to B's subject (signature kept)", status: 401, code: 'UNAUTHORIZED', send: call('GET', '/v1/me/export', { token: (w) => tamperedToken(w.a.token, { ...payloadOf(w.a.token), sub: w.b.subjectId }) }) },
  { endpoint: 'DELETE /v1/me', input: 'a valid token of an erased subject', status: 401, code: 'UNAUTHORIZED', send: call('DELETE', '/v1/me', { token: (w) => w.erased.token }) },
  { endpoint: 'GET /v1/images/{imageId}/content', input: "the erased subject's token on a content endpoint", status: 401, code: 'UNAUTHORIZED', send: call('GET', (w) => `/v1/images/${w.a.imageId}/content`, { token: (w) => w.erased.token }) },
  { endpoint: 'GET /v1/artworks/{artworkId}/content', input: 'validly signed token whose sub is "../../admin"', status: 401, code: 'UNAUTHORIZED', send: call('GET', (w) => `/v1/artworks/${w.a.artworkId}/content`, { token: (w) => hmacToken(HS256, accessClaims('../../admin', now(w)), w.signingKey) }) },
  { endpoint: 'GET /v1/jobs/{jobId}', input: 'validly signed, foreign issuer', status: 401, code: 'UNAUTHORIZED', send: call('GET', (w) => `/v1/jobs/${w.a.jobId}`, { token: signedForA({ iss: 'https://attacker.example' }) }) },
  { endpoint: 'PUT /v1/me/consents/{purpose}', input: 'validly signed, foreign audience', status: 401, code: 'UNAUTHORIZED', send: call('PUT', '/v1/me/consents/erase-pen', { token: signedForA({ aud: 'photo-memory-admin' }), json: { policyVersion: '2025-06-24' } }) },
  { endpoint: 'DELETE /v1/me/consents/{purpose}', input: 'validly signed, typ "refresh" instead of "access"', status: 401, code: 'UNAUTHORIZED', send: call('DELETE', '/v1/me/consents/photo-enlarge', { token: signedForA({ typ: 'refresh' }) }) },
  { endpoint: 'PUT /v1/me/restrictions/{purpose}', input: 'validly signed, without exp', status: 401, code: 'UNAUTHORIZED', send: call('PUT', '/v1/me/restrictions/erase-pen', { token: signedForA({ exp: undefined }) }) },
  { endpoint: 'DELETE /v1/me/restrictions/{purpose}', input: 'validly signed, sub an array of ids', status: 401, code: 'UNAUTHORIZED', send: call('DELETE', '/v1/me/restrictions/ai-edit', { token: (w) => signedForA({ sub: [w.a.subjectId, w.b.subjectId] })(w) }) },
  { endpoint: 'GET /v1/me/requests/{requestId}', input: 'JWT with jku/kid headers pointing elsewhere, signed with the attacker key', status: 401, code: 'UNAUTHORIZED', send: call('GET', (w) => `/v1/me/requests/${w.a.requestId}`, { token: (w) => hmacToken({ ...HS256, kid: '../../../dev/null', jku: 'https://attacker.example/jwks.json' }, accessClaims(w.a.subjectId, now(w)), '') }) },
  { endpoint: 'GET /v1/images/{imageId}', input: "A's token under the Basic scheme", status: 401, code: 'UNAUTHORIZED', send: call('GET', (w) => `/v1/images/${w.a.imageId}`, { headers: (w) => ({ Authorization: `Basic ${w.a.token}` }) }) },
  { endpoint: 'DELETE /v1/images/{imageId}', input: 'an Authorization header of 3,000 characters', status: 401, code: 'UNAUTHORIZED', send: call('DELETE', (w) => `/v1/images/${w.a.imageId}`, { headers: { Authorization: `Bearer ${'A'.repeat(2993)}` } }) },
  { endpoint: 'DELETE /v1/artworks/{artworkId}', input: '"Bearer" with an empty token', status: 401, code: 'UNAUTHORIZED', send: call('DELETE', (w) => `/v1/artworks/${w.a.artworkId}`, { headers: { Authorization: 'Bearer ' } }) },
  { endpoint: 'GET /v1/artworks/{artworkId}', input: 'a JWT with only two parts', status: 401, code: 'UNAUTHORIZED', send: call('GET', (w) => `/v1/artworks/${w.a.artworkId}`, { token: (w) => w.a.token.split('.').slice(0, 2).join('.') }) },
  // Staff tokens on subject endpoints, subject tokens and forged JWTs on staff endpoints
  { endpoint: 'POST /v1/images', input: 'the auditor token', status: 403, code: 'FORBIDDEN', send: call('POST', '/v1/images', { token: STAFF.auditor, json: (w) => w.upload }) },
  { endpoint: 'POST /v1/images/{imageId}/jobs', input: 'the dpo token', status: 403, code: 'FORBIDDEN', send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { token: STAFF.dpo, json: { purpose: 'photo-enlarge' } }) },
  { endpoint: 'POST /v1/me/requests', input: 'the auditor token', status: 403, code: 'FORBIDDEN', send: call('POST', '/v1/me/requests', { token: STAFF.auditor, json: { type: 'access' } }) },
  { endpoint: 'DELETE /v1/me', input: 'the dpo token', status: 403, code: 'FORBIDDEN', send: call('DELETE', '/v1/me', { token: STAFF.dpo }) },
  { endpoint: 'GET /v1/audit/events', input: "A's subject token", status: 403, code: 'FORBIDDEN', send: call('GET', '/v1/audit/events', { token: (w) => w.a.token }) },
  { endpoint: 'GET /v1/audit/subjects/{subjectId}/history', input: 'JWT alg none claiming sub "auditor:alice"', status: 401, code: 'UNAUTHORIZED', send: call('GET', (w) => `/v1/audit/subjects/${w.a.subjectId}/history`, { token: (w) => unsignedToken({ ...accessClaims('auditor:alice', now(w)), role: 'auditor' }) }) },
  { endpoint: 'GET /v1/audit/access-log', input: 'the auditor secret with its last character changed', status: 401, code: 'UNAUTHORIZED', send: call('GET', '/v1/audit/access-log', { token: `${STAFF.auditor.slice(0, -1)}X` }) },
  { endpoint: 'GET /v1/audit/retention', input: 'no Authorization header', status: 401, code: 'UNAUTHORIZED', send: call('GET', '/v1/audit/retention') },
  { endpoint: 'GET /v1/audit/requests', input: "B's subject token", status: 403, code: 'FORBIDDEN', send: call('GET', '/v1/audit/requests', { token: (w) => w.b.token }) },
  { endpoint: 'GET /v1/dpo/requests', input: 'the auditor token', status: 403, code: 'FORBIDDEN', send: call('GET', '/v1/dpo/requests', { token: STAFF.auditor }) },
  { endpoint: 'POST /v1/dpo/requests/{requestId}/decisions', input: "A's subject token deciding its own request", status: 403, code: 'FORBIDDEN', send: call('POST', (w) => `/v1/dpo/requests/${w.a.requestId}/decisions`, { token: (w) => w.a.token, json: { outcome: 'fulfilled' } }) },
];
