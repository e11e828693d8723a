/**
 * Hostile input on every resource endpoint: non-UUID and path-traversal ids, another subject's
 * resources (404, never 403), unknown ids, bodies with unknown fields and wrong types, purposes
 * that are not one of the six (including prototype names), rights requests and DPO decisions
 * outside the rules, audit queries out of range, Idempotency-Key reuse.
 */
import { STAFF } from '../support/test-app';
import type { HostileCase } from './hostile-runner';
import { call } from './hostile-runner';
import type { World } from './hostile-world';

const UNKNOWN = '0b7c5e1e-8a4f-4c55-9d0e-3f1c2b9a7d61';
const TRAVERSAL = '..%2F..%2F..%2Fetc%2Fpasswd';
const a = { token: (w: World) => w.a.token };
const b = { token: (w: World) => w.b.token };
const auditor = { token: STAFF.auditor };
const dpo = { token: STAFF.dpo };

export const RESOURCE_CASES: readonly HostileCase[] = [
  // Images
  { endpoint: 'GET /v1/images/{imageId}', input: 'a non-UUID id', status: 400, code: 'INVALID_ID', send: call('GET', '/v1/images/not-a-uuid', a) },
  { endpoint: 'GET /v1/images/{imageId}', input: "B asks for A's image", status: 404, code: 'IMAGE_NOT_FOUND', send: call('GET', (w) => `/v1/images/${w.a.imageId}`, b) },
  { endpoint: 'GET /v1/images/{imageId}', input: 'a UUID with a trailing SQL fragment', status: 400, code: 'INVALID_ID', send: call('GET', (w) => `/v1/images/${w.a.imageId}'%20OR%20'1'='1`, a) },
  { endpoint: 'GET /v1/images/{imageId}/content', input: 'an encoded path traversal as the id', status: 400, code: 'INVALID_ID', send: call('GET', `/v1/images/${TRAVERSAL}/content`, a) },
  { endpoint: 'GET /v1/images/{imageId}/content', input: "B reads A's original", status: 404, code: 'IMAGE_NOT_FOUND', send: call('GET', (w) => `/v1/images/${w.a.imageId}/content`, b) },
  { endpoint: 'GET /v1/images/{imageId}/content', input: 'an unknown UUID', status: 404, code: 'IMAGE_NOT_FOUND', send: call('GET', `/v1/images/${UNKNOWN}/content`, a) },
  { endpoint: 'DELETE /v1/images/{imageId}', input: "B deletes A's image", status: 404, code: 'IMAGE_NOT_FOUND', send: call('DELETE', (w) => `/v1/images/${w.a.imageId}`, b) },
  { endpoint: 'DELETE /v1/images/{imageId}', input: 'an encoded NUL byte as the id', status: 400, code: 'INVALID_ID', send: call('DELETE', '/v1/images/%00', a) },
  { endpoint: 'POST /v1/images/{imageId}/jobs', input: 'purpose "surveillance"', status: 422, code: 'PURPOSE_NOT_ALLOWED', send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { ...a, json: { purpose: 'surveillance' } }) },
  { endpoint: 'POST /v1/images/{imageId}/jobs', input: 'purpose as a number', status: 400, code: 'VALIDATION_FAILED', send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { ...a, json: { purpose: 7 } }) },
  { endpoint: 'POST /v1/images/{imageId}/jobs', input: 'options as a string', status: 400, code: 'VALIDATION_FAILED', send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { ...a, json: { purpose: 'photo-enlarge', options: 'scale=100000' } }) },
  { endpoint: 'POST /v1/images/{imageId}/jobs', input: 'an embedding inside options', status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { ...a, json: { purpose: 'photo-enlarge', options: { faceEmbedding: [0.1, 0.2] } } }) },
  { endpoint: 'POST /v1/images/{imageId}/jobs', input: 'unknown field priority', status: 400, code: 'UNKNOWN_FIELD', send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { ...a, json: { purpose: 'photo-enlarge', priority: 'high' } }) },
  { endpoint: 'POST /v1/images/{imageId}/jobs', input: "B queues a job on A's image", status: 404, code: 'IMAGE_NOT_FOUND', send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { ...b, json: { purpose: 'photo-enlarge' } }) },
  { endpoint: 'POST /v1/images/{imageId}/jobs', input: 'a restricted purpose (ai-edit)', status: 422, code: 'PURPOSE_RESTRICTED', send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { ...a, json: { purpose: 'ai-edit' } }) },
  {
    endpoint: 'POST /v1/images/{imageId}/jobs',
    input: 'replayed Idempotency-Key with a different body',
    status: 422,
    code: 'IDEMPOTENCY_KEY_REUSED',
    send: call('POST', (w) => `/v1/images/${w.a.imageId}/jobs`, { ...a, headers: (w) => ({ 'Idempotency-Key': w.keyed.job.key }), json: { purpose: 'photo-enlarge', options: { again: true } } }),
  },
  // Jobs and artworks
  { endpoint: 'GET /v1/jobs/{jobId}', input: 'a non-UUID id (a stream name)', status: 400, code: 'INVALID_ID', send: call('GET', (w) => `/v1/jobs/job-${w.a.jobId}`, a) },
  { endpoint: 'GET /v1/jobs/{jobId}', input: "B asks for A's job", status: 404, code: 'JOB_NOT_FOUND', send: call('GET', (w) => `/v1/jobs/${w.a.jobId}`, b) },
  { endpoint: 'GET /v1/artworks/{artworkId}', input: 'an overlong id (200 characters)', status: 400, code: 'INVALID_ID', send: call('GET', `/v1/artworks/${'a'.repeat(200)}`, a) },
  { endpoint: 'GET /v1/artworks/{artworkId}', input: "B asks for A's artwork", status: 404, code: 'ARTWORK_NOT_FOUND', send: call('GET', (w) => `/v1/artworks/${w.a.artworkId}`, b) },
  { endpoint: 'GET /v1/artworks/{artworkId}/content', input: "B reads A's artwork", status: 404, code: 'ARTWORK_NOT_FOUND', send: call('GET', (w) => `/v1/artworks/${w.a.artworkId}/content`, b) },
  { endpoint: 'GET /v1/artworks/{artworkId}/content', input: 'an encoded path traversal as the id', status: 400, code: 'INVALID_ID', send: call('GET', `/v1/artworks/${TRAVERSAL}/content`, a) },
  { endpoint: 'DELETE /v1/artworks/{artworkId}', input: "B deletes A's artwork", status: 404, code: 'ARTWORK_NOT_FOUND', send: call('DELETE', (w) => `/v1/artworks/${w.a.artworkId}`, b) },
  { endpoint: 'DELETE /v1/artworks/{artworkId}', input: 'an id with a slash-free traversal (..)', status: 400, code: 'INVALID_ID', send: call('DELETE', '/v1/artworks/..', a) },
  // Consents and restrictions
  { endpoint: 'PUT /v1/me/consents/{purpose}', input: 'purpose "marketing"', status: 422, code: 'PURPOSE_NOT_ALLOWED', send: call('PUT', '/v1/me/consents/marketing', { ...a, json: { policyVersion: '2025-06-24' } }) },
  { endpoint: 'PUT /v1/me/consents/{purpose}', input: 'purpose "__proto__"', status: 422, code: 'PURPOSE_NOT_ALLOWED', send: call('PUT', '/v1/me/consents/__proto__', { ...a, json: { policyVersion: '2025-06-24' } }) },
  { endpoint: 'PUT /v1/me/consents/{purpose}', input: 'an older policy version', status: 422, code: 'POLICY_VERSION_MISMATCH', send: call('PUT', '/v1/me/consents/erase-pen', { ...a, json: { policyVersion: '2020-01-01' } }) },
  { endpoint: 'PUT /v1/me/consents/{purpose}', input: 'policyVersion as a number', status: 400, code: 'VALIDATION_FAILED', send: call('PUT', '/v1/me/consents/erase-pen', { ...a, json: { policyVersion: 20250624 } }) },
  { endpoint: 'PUT /v1/me/consents/{purpose}', input: 'unknown field granted: false', status: 400, code: 'UNKNOWN_FIELD', send: call('PUT', '/v1/me/consents/erase-pen', { ...a, json: { policyVersion: '2025-06-24', granted: false } }) },
  { endpoint: 'DELETE /v1/me/consents/{purpose}', input: 'purpose "constructor"', status: 422, code: 'PURPOSE_NOT_ALLOWED', send: call('DELETE', '/v1/me/consents/constructor', a) },
  { endpoint: 'PUT /v1/me/restrictions/{purpose}', input: 'an encoded traversal as the purpose', status: 422, code: 'PURPOSE_NOT_ALLOWED', send: call('PUT', `/v1/me/restrictions/${TRAVERSAL}`, a) },
  { endpoint: 'DELETE /v1/me/restrictions/{purpose}', input: 'purpose in upper case (PHOTO-RESTORE)', status: 422, code: 'PURPOSE_NOT_ALLOWED', send: call('DELETE', '/v1/me/restrictions/PHOTO-RESTORE', a) },
  // Rights requests
  { endpoint: 'POST /v1/me/requests', input: 'type "delete-everyone"', status: 400, code: 'VALIDATION_FAILED', send: call('POST', '/v1/me/requests', { ...a, json: { type: 'delete-everyone' } }) },
  { endpoint: 'POST /v1/me/requests', input: 'resource with a traversal (image:../../x)', status: 400, code: 'VALIDATION_FAILED', send: call('POST', '/v1/me/requests', { ...a, json: { type: 'deletion', resource: 'image:../../etc/passwd' } }) },
  { endpoint: 'POST /v1/me/requests', input: 'details of 4,001 characters', status: 400, code: 'VALIDATION_FAILED', send: call('POST', '/v1/me/requests', { ...a, json: { type: 'access', details: 'd'.repeat(4001) } }) },
  { endpoint: 'POST /v1/me/requests', input: 'deletion of an unknown image', status: 404, code: 'IMAGE_NOT_FOUND', send: call('POST', '/v1/me/requests', { ...a, json: { type: 'deletion', resource: `image:${UNKNOWN}` } }) },
  { endpoint: 'POST /v1/me/requests', input: "B asks to delete A's artwork", status: 404, code: 'ARTWORK_NOT_FOUND', send: call('POST', '/v1/me/requests', { ...b, json: (w) => ({ type: 'deletion', resource: `artwork:${w.a.artworkId}` }) }) },
  { endpoint: 'POST /v1/me/requests', input: 'an export with a resource', status: 422, code: 'RESOURCE_NOT_APPLICABLE', send: call('POST', '/v1/me/requests', { ...a, json: { type: 'export', resource: 'purpose:ai-edit' } }) },
  { endpoint: 'POST /v1/me/requests', input: 'a correction whose options carry a descriptor', status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', send: call('POST', '/v1/me/requests', { ...a, json: (w) => ({ type: 'correction', resource: `job:${w.a.jobId}`, options: { faceDescriptor: [1, 2, 3] } }) }) },
  {
    endpoint: 'POST /v1/me/requests',
    input: 'replayed Idempotency-Key with a different body',
    status: 422,
    code: 'IDEMPOTENCY_KEY_REUSED',
    send: call('POST', '/v1/me/requests', { ...a, headers: (w) => ({ 'Idempotency-Key': w.keyed.request.key }), json: { type: 'access', details: 'Something else entirely this time' } }),
  },
  { endpoint: 'GET /v1/me/requests/{requestId}', input: 'a non-UUID id', status: 400, code: 'INVALID_ID', send: call('GET', '/v1/me/requests/1%20OR%201=1', a) },
  { endpoint: 'GET /v1/me/requests/{requestId}', input: "B asks for A's request", status: 404, code: 'REQUEST_NOT_FOUND', send: call('GET', (w) => `/v1/me/requests/${w.a.requestId}`, b) },
  // DPO
  { endpoint: 'POST /v1/dpo/requests/{requestId}/decisions', input: 'outcome "maybe"', status: 400, code: 'VALIDATION_FAILED', send: call('POST', (w) => `/v1/dpo/requests/${w.a.requestId}/decisions`, { ...dpo, json: { outcome: 'maybe' } }) },
  { endpoint: 'POST /v1/dpo/requests/{requestId}/decisions', input: 'a rejection without a reason', status: 422, code: 'REASON_REQUIRED', send: call('POST', (w) => `/v1/dpo/requests/${w.a.requestId}/decisions`, { ...dpo, json: { outcome: 'rejected' } }) },
  { endpoint: 'POST /v1/dpo/requests/{requestId}/decisions', input: 'reason of 4,001 characters', status: 400, code: 'VALIDATION_FAILED', send: call('POST', (w) => `/v1/dpo/requests/${w.a.requestId}/decisions`, { ...dpo, json: { outcome: 'rejected', reason: 'r'.repeat(4001) } }) },
  { endpoint: 'POST /v1/dpo/requests/{requestId}/decisions', input: 'an unknown request', status: 404, code: 'REQUEST_NOT_FOUND', send: call('POST', `/v1/dpo/requests/${UNKNOWN}/decisions`, { ...dpo, json: { outcome: 'fulfilled' } }) },
  { endpoint: 'POST /v1/dpo/requests/{requestId}/decisions', input: 'a non-UUID id', status: 400, code: 'INVALID_ID', send: call('POST', '/v1/dpo/requests/all/decisions', { ...dpo, json: { outcome: 'fulfilled' } }) },
  { endpoint: 'POST /v1/dpo/requests/{requestId}/decisions', input: 'unknown field actor (impersonation)', status: 400, code: 'UNKNOWN_FIELD', send: call('POST', (w) => `/v1/dpo/requests/${w.a.requestId}/decisions`, { ...dpo, json: { outcome: 'fulfilled', actor: 'dpo:someone-else' } }) },
  { endpoint: 'GET /v1/dpo/requests', input: 'status=everything', status: 400, code: 'VALIDATION_FAILED', send: call('GET', '/v1/dpo/requests?status=everything', dpo) },
  { endpoint: 'GET /v1/dpo/requests', input: 'limit=0', status: 400, code: 'VALIDATION_FAILED', send: call('GET', '/v1/dpo/requests?limit=0', dpo) },
  // Audit
  { endpoint: 'GET /v1/audit/events', input: 'limit=1001 (one over the maximum)', status: 400, code: 'VALIDATION_FAILED', send: call('GET', '/v1/audit/events?limit=1001', auditor) },
  { endpoint: 'GET /v1/audit/events', input: 'limit=-1', status: 400, code: 'VALIDATION_FAILED', send: call('GET', '/v1/audit/events?limit=-1', auditor) },
  { endpoint: 'GET /v1/audit/events', input: 'limit=abc', status: 400, code: 'VALIDATION_FAILED', send: call('GET', '/v1/audit/events?limit=abc', auditor) },
  { endpoint: 'GET /v1/audit/events', input: 'fromPosition not "<commit>:<prepare>"', status: 400, code: 'INVALID_POSITION', send: call('GET', '/v1/audit/events?fromPosition=DROP%20TABLE%20events', auditor) },
  { endpoint: 'GET /v1/audit/events', input: 'category=subjectkey (key streams are never shown)', status: 400, code: 'VALIDATION_FAILED', send: call('GET', '/v1/audit/events?category=subjectkey', auditor) },
  { endpoint: 'GET /v1/audit/events', input: 'an unknown query parameter', status: 400, code: 'UNKNOWN_FIELD', send: call('GET', '/v1/audit/events?includeKeys=true', auditor) },
  { endpoint: 'GET /v1/audit/events', input: 'limit given twice (array)', status: 400, code: 'VALIDATION_FAILED', send: call('GET', '/v1/audit/events?limit=1&limit=2', auditor) },
  { endpoint: 'GET /v1/audit/subjects/{subjectId}/history', input: 'an encoded traversal as the subject id', status: 400, code: 'INVALID_ID', send: call('GET', `/v1/audit/subjects/${TRAVERSAL}/history`, auditor) },
  { endpoint: 'GET /v1/audit/subjects/{subjectId}/history', input: 'an unknown subject', status: 404, code: 'SUBJECT_NOT_FOUND', send: call('GET', `/v1/audit/subjects/${UNKNOWN}/history`, auditor) },
  { endpoint: 'GET /v1/audit/access-log', input: 'from=yesterday', status: 400, code: 'VALIDATION_FAILED', send: call('GET', '/v1/audit/access-log?from=yesterday', auditor) },
  { endpoint: 'GET /v1/audit/access-log', input: 'to=2026-13-45T99:00:00Z', status: 400, code: 'VALIDATION_FAILED', send: call('GET', '/v1/audit/access-log?to=2026-13-45T99:00:00Z', auditor) },
  { endpoint: 'GET /v1/audit/access-log', input: 'from after to', status: 400, code: 'INVALID_TIME_RANGE', send: call('GET', '/v1/audit/access-log?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', auditor) },
  { endpoint: 'GET /v1/audit/requests', input: 'status[$ne]=x (operator injection: an unknown parameter, no nested parsing)', status: 400, code: 'UNKNOWN_FIELD', send: call('GET', '/v1/audit/requests?status[$ne]=x', auditor) },
  { endpoint: 'GET /v1/audit/retention', input: 'the dpo token', status: 403, code: 'FORBIDDEN', send: call('GET', '/v1/audit/retention', dpo) },
  { endpoint: 'POST /v1/audit/verifications', input: 'a subject token', status: 403, code: 'FORBIDDEN', send: call('POST', '/v1/audit/verifications', a) },
  { endpoint: 'POST /v1/audit/verifications', input: 'a JSON body nested 10,000 levels deep', status: 400, code: 'JSON_TOO_DEEP', send: call('POST', '/v1/audit/verifications', { ...auditor, body: `${'['.repeat(10_000)}${']'.repeat(10_000)}` }) },
];
