import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** One error a route may answer: its HTTP status, stable `code`, and when. */
export interface ProblemDoc {
  readonly status: number;
  readonly code: string;
  readonly when: string;
}

const PROBLEM_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
  },
};

/** Documents a route's error codes in /docs-json: one response per status listing each `CODE: when`. */
export function ApiProblems(...errors: readonly ProblemDoc[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ProblemDoc[]>();
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

export const BODY_ERRORS: readonly ProblemDoc[] = [
  { status: 400, code: 'VALIDATION_FAILED', when: 'a field is missing, of the wrong type or out of bounds' },
  { status: 400, code: 'UNKNOWN_FIELD', when: 'the body has a field not described here' },
  { status: 400, code: 'MALFORMED_JSON', when: 'the body is not JSON' },
];

export const UNAVAILABLE_ERRORS: readonly ProblemDoc[] = [
  { status: 503, code: 'EVENT_STORE_UNAVAILABLE', when: 'the event store is down; nothing was half-written (see Retry-After)' },
  { status: 503, code: 'KEY_STORE_UNAVAILABLE', when: 'the key store is down; nothing was half-written (see Retry-After)' },
];

/** Errors every subject route can answer. */
export const SUBJECT_ROUTE_ERRORS: readonly ProblemDoc[] = [
  { status: 401, code: 'UNAUTHORIZED', when: 'no token, or an invalid, expired or erased-account token' },
  { status: 403, code: 'FORBIDDEN', when: 'a staff token on a subject route' },
  { status: 429, code: 'RATE_LIMITED', when: 'too many requests (see Retry-After)' },
  ...UNAVAILABLE_ERRORS,
];
