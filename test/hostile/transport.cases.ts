/**
 * Hostile input below the routes: oversized header sections (Node's 16 KiB limit → 431), bytes
 * that are not HTTP/1.1 (NUL in a header, request smuggling with Content-Length and
 * Transfer-Encoding, a bad chunk, no Host, a TLS handshake), bodies over the limit, media types
 * other than JSON, prototype keys and deep nesting, unknown routes, static-file traversal.
 * What a client sees for the parser-level refusals: the status line, a problem document and the
 * connection closed (`Connection: close`).
 */
import { STAFF } from '../support/test-app';
import type { HostileCase } from './hostile-runner';
import { call, raw } from './hostile-runner';
import type { World } from './hostile-world';

const KiB = 1024;
const a = { token: (w: World) => w.a.token };
const get = (path: string, headers = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`;

/** Endpoints outside the OpenAPI document that the catalogue also covers. */
export const UNDOCUMENTED_ENDPOINTS = ['GET /docs/{asset}', '(no route)'] as const;

export const TRANSPORT_CASES: readonly HostileCase[] = [
  // Header section over Node's 16 KiB default
  { endpoint: 'GET /health', input: 'one 20 KiB header', status: 431, code: 'HEADERS_TOO_LARGE', send: raw(get('/health', `X-Padding: ${'p'.repeat(20 * KiB)}\r\n`)) },
  { endpoint: 'GET /health/ready', input: 'a 20 KiB query string', status: 431, code: 'HEADERS_TOO_LARGE', send: raw(get(`/health/ready?q=${'q'.repeat(20 * KiB)}`)) },
  { endpoint: 'GET /v1/images', input: 'a 17 KiB Authorization header', status: 431, code: 'HEADERS_TOO_LARGE', send: raw(get('/v1/images', `Authorization: Bearer ${'t'.repeat(17 * KiB)}\r\n`)) },
  { endpoint: 'GET /v1/me/history', input: '400 headers of 64 bytes each', status: 431, code: 'HEADERS_TOO_LARGE', send: raw((w) => get('/v1/me/history', `Authorization: Bearer ${w.a.token}\r\n${Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'h'.repeat(56)}\r\n`).join('')}`)) },
  // Not HTTP/1.1
  { endpoint: 'GET /v1/me/consents', input: 'a NUL byte inside the Authorization header', status: 400, code: 'MALFORMED_REQUEST', send: raw((w) => get('/v1/me/consents', `Authorization: Bearer ${w.a.token.slice(0, 20)}\u0000${w.a.token.slice(20)}\r\n`)) },
  {
    endpoint: 'POST /v1/devices',
    input: 'both Content-Length and Transfer-Encoding (request smuggling)',
    status: 400,
    code: 'MALFORMED_REQUEST',
    send: raw('POST /v1/devices HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'),
  },
  {
    endpoint: 'POST /v1/devices/token',
    input: 'a chunk size that is not hexadecimal',
    status: 400,
    code: 'MALFORMED_REQUEST',
    send: raw('POST /v1/devices/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'),
  },
  { endpoint: 'GET /health', input: 'HTTP/1.1 without a Host header', status: 400, code: 'MALFORMED_REQUEST', send: raw('GET /health HTTP/1.1\r\n\r\n') },
  { endpoint: 'GET /health', input: 'a TLS ClientHello on the plain-HTTP port', status: 400, code: 'MALFORMED_REQUEST', send: raw(Buffer.from('160301020001000001fc0303', 'hex')) },
  { endpoint: 'GET /health/ready', input: 'protocol version HTTP/9.9', status: 400, code: 'MALFORMED_REQUEST', send: raw('GET /health/ready HTTP/9.9\r\nHost: localhost\r\n\r\n') },
  // Bodies over the limits
  { endpoint: 'POST /v1/devices', input: 'a 100 KiB body (over the 64 KiB limit of every route but the upload)', status: 413, code: 'PAYLOAD_TOO_LARGE', send: call('POST', '/v1/devices', { json: { deviceId: 'd'.repeat(100 * KiB), deviceSecret: 's'.repeat(40), isAdult: true } }) },
  {
    endpoint: 'POST /v1/me/requests',
    input: 'Content-Length of 100 MB announced (nothing sent)',
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    send: raw((w) => `POST /v1/me/requests HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${w.a.token}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n`),
  },
  { endpoint: 'POST /v1/dpo/requests/{requestId}/decisions', input: 'a 70 KiB reason', status: 413, code: 'PAYLOAD_TOO_LARGE', send: call('POST', (w) => `/v1/dpo/requests/${w.a.requestId}/decisions`, { token: STAFF.dpo, json: { outcome: 'rejected', reason: 'r'.repeat(70 * KiB) } }) },
  // JSON traps
  { endpoint: 'PUT /v1/me/consents/{purpose}', input: '__proto__ key in the body', status: 400, code: 'MALFORMED_JSON', send: call('PUT', '/v1/me/consents/erase-pen', { ...a, body: '{"policyVersion":"2025-06-24","__proto__":{"granted":true}}' }) },
  { endpoint: 'POST /v1/me/requests', input: 'constructor.prototype nested in options', status: 400, code: 'MALFORMED_JSON', send: call('POST', '/v1/me/requests', { ...a, body: (w) => `{"type":"correction","resource":"job:${w.a.jobId}","options":{"constructor":{"prototype":{"polluted":true}}}}` }) },
  { endpoint: 'POST /v1/images', input: 'faces nested 33 levels deep (one over the limit)', status: 400, code: 'JSON_TOO_DEEP', send: call('POST', '/v1/images', { ...a, body: (w) => `{"imageBase64":"${w.upload.imageBase64}","contentType":"image/jpeg","purpose":"photo-enlarge","faces":${'['.repeat(32)}${']'.repeat(32)}}` }) },
  { endpoint: 'POST /v1/dpo/requests/{requestId}/decisions', input: 'a JSON string instead of an object', status: 400, code: 'VALIDATION_FAILED', send: call('POST', (w) => `/v1/dpo/requests/${w.a.requestId}/decisions`, { token: STAFF.dpo, body: '"fulfilled"' }) },
  { endpoint: 'DELETE /v1/me', input: 'a JSON array body', status: 400, code: 'VALIDATION_FAILED', send: call('DELETE', '/v1/me', { ...a, body: '[{"subjectId":"*"}]' }) },
  // Media types other than JSON
  { endpoint: 'POST /v1/images/{imageId}/jobs', input: 'a text/plain body', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { ...a, body: 'purpose=photo-enlarge', contentType: 'text/plain' }) },
  { endpoint: 'PUT /v1/me/restrictions/{purpose}', input: 'a multipart body', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', send: call('PUT', '/v1/me/restrictions/erase-pen', { ...a, body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n', contentType: 'multipart/form-data; boundary=x' }) },
  { endpoint: 'POST /v1/audit/verifications', input: 'an XML body with an external entity', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', send: call('POST', '/v1/audit/verifications', { token: STAFF.auditor, body: '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', contentType: 'application/xml' }) },
  // Routes that do not exist, and the static docs
  { endpoint: '(no route)', input: 'PATCH /v1/images', status: 404, code: 'NOT_FOUND', send: call('PATCH', '/v1/images', a) },
  { endpoint: '(no route)', input: 'literal ../ segments: GET /v1/images/../../../../etc/passwd', status: 404, code: 'NOT_FOUND', send: raw(get('/v1/images/../../../../etc/passwd')) },
  { endpoint: '(no route)', input: "an unknown path with A's token in the query string (not echoed)", status: 404, code: 'NOT_FOUND', send: call('GET', (w) => `/v1/profile?access_token=${w.a.token}`) },
  { endpoint: 'GET /docs/{asset}', input: 'literal ../ traversal out of the Swagger UI assets', status: 403, code: 'FORBIDDEN', send: raw(get('/docs/../../../../../../etc/passwd')) },
  { endpoint: 'GET /docs/{asset}', input: '%2e%2e traversal out of the Swagger UI assets', status: 403, code: 'FORBIDDEN', send: raw(get('/docs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json')) },
];
