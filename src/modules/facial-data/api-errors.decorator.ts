import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** One error a route may answer: its HTTP status, stable `code` and when it happens. */
export interface ApiErrorDoc {
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

/**
 * Documents every error code of a route in the OpenAPI document: one response per status, whose
 * description lists each `CODE: when` (OpenAPI allows one response object per status).
 */
export function ApiErrors(...errors: readonly ApiErrorDoc[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ApiErrorDoc[]>();
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

/** Errors every subject route can answer. */
export const COMMON_SUBJECT_ERRORS: readonly ApiErrorDoc[] = [
  { status: 401, code: 'UNAUTHORIZED', when: 'no token, or an invalid, expired or erased-account token' },
  { status: 403, code: 'FORBIDDEN', when: 'a staff token on a subject route' },
  { status: 429, code: 'RATE_LIMITED', when: 'too many requests (see Retry-After)' },
  { status: 503, code: 'EVENT_STORE_UNAVAILABLE', when: 'the event store is down; nothing was recorded (see Retry-After)' },
  { status: 503, code: 'OBJECT_STORAGE_UNAVAILABLE', when: 'object storage is down; nothing was recorded (see Retry-After)' },
  { status: 503, code: 'KEY_STORE_UNAVAILABLE', when: 'the key store is down; nothing was recorded (see Retry-After)' },
];

export const INVALID_ID_ERROR = (name: string): ApiErrorDoc => ({ status: 400, code: 'INVALID_ID', when: `${name} is not a UUID` });
