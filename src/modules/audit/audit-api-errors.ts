import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';

/** One error a route may answer: its HTTP status, stable `code` and when it happens. */
export interface AuditApiError {
  readonly status: number;
  readonly code: string;
  readonly when: string;
}

const PROBLEM_SCHEMA = {
  type: 'object' as const,
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' as const },
    title: { type: 'string' as const },
    status: { type: 'integer' as const },
    detail: { type: 'string' as const },
    code: { type: 'string' as const },
  },
};

/** Documents each error code of a route in the OpenAPI document (one response per status, `CODE: when` each). */
export function ApiProblems(...errors: readonly AuditApiError[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, AuditApiError[]>();
  for (const error of errors) byStatus.set(error.status, [...(byStatus.get(error.status) ?? []), error]);
  return applyDecorators(
    ...[...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) =>
        ApiResponse({
          status,
          description: list.map((e) => `${e.code}: ${e.when}`).join(' · '),
          content: { 'application/problem+json': { schema: PROBLEM_SCHEMA } },
        }),
      ),
  );
}

export const AUDITOR_ERRORS: readonly AuditApiError[] = [
  { status: 401, code: 'UNAUTHORIZED', when: 'no token or an unknown token' },
  { status: 403, code: 'FORBIDDEN', when: 'a subject token or a staff token without the auditor role' },
  { status: 429, code: 'RATE_LIMITED', when: 'too many requests (see Retry-After)' },
  { status: 503, code: 'EVENT_STORE_UNAVAILABLE', when: 'the event store is down; the read was not served because it could not be recorded (see Retry-After)' },
];

export const SUBJECT_ERRORS: readonly AuditApiError[] = [
  { status: 401, code: 'UNAUTHORIZED', when: 'no token, or an invalid, expired or erased-account token' },
  { status: 403, code: 'FORBIDDEN', when: 'a staff token on a subject route' },
  { status: 429, code: 'RATE_LIMITED', when: 'too many requests (see Retry-After)' },
  { status: 503, code: 'KEY_STORE_UNAVAILABLE', when: 'the key store is down, personal fields cannot be decrypted (see Retry-After)' },
];
