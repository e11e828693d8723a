import { HttpException } from '@nestjs/common';
import {
  EventStoreUnavailableError,
  StreamDeletedError,
  WrongExpectedVersionError,
} from '../../modules/event-store/event-store.errors';
import { ObjectStorageUnavailableError } from '../../modules/object-storage/object-storage.port';
import { KeyStoreUnavailableError, SubjectKeyDestroyedError } from '../../modules/crypto/crypto.errors';
import { DomainError } from './domain-error';
import { problem, type Problem } from './problem';

export interface MappedError {
  readonly problem: Problem;
  readonly retryAfterSeconds?: number;
  /** Whether this is a server fault worth logging at error level. */
  readonly unexpected: boolean;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: unknown;
}

const HTTP_CODES: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};

const FASTIFY_CODES: Record<string, [number, string, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than the limit'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE', 'Send application/json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'MALFORMED_JSON', 'The JSON body is empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'MALFORMED_JSON', 'The body is not valid JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'MALFORMED_REQUEST', 'Content-Length does not match the body'],
  FST_ERR_BAD_URL: [400, 'MALFORMED_REQUEST', 'The URL is malformed'],
  FST_ERR_ASYNC_CONSTRAINT: [400, 'MALFORMED_REQUEST', 'The request is malformed'],
};

/** Maps anything thrown while serving a request to a problem response. Never leaks a stack. */
export function mapError(error: unknown): MappedError {
  if (error instanceof DomainError) {
    return { problem: problem(error.status, error.code, error.message, { ...error.extra }), retryAfterSeconds: error.retryAfterSeconds, unexpected: false };
  }
  if (error instanceof EventStoreUnavailableError) {
    return { problem: problem(503, 'EVENT_STORE_UNAVAILABLE', 'The event store is unavailable; nothing was recorded. Retry later.'), retryAfterSeconds: 5, unexpected: false };
  }
  if (error instanceof ObjectStorageUnavailableError) {
    return { problem: problem(503, 'OBJECT_STORAGE_UNAVAILABLE', 'Object storage is unavailable; nothing was recorded. Retry later.'), retryAfterSeconds: 5, unexpected: false };
  }
  if (error instanceof KeyStoreUnavailableError) {
    return { problem: problem(503, 'KEY_STORE_UNAVAILABLE', 'The key store is unavailable; nothing was recorded. Retry later.'), retryAfterSeconds: 5, unexpected: false };
  }
  if (error instanceof SubjectKeyDestroyedError) {
    return { problem: problem(410, 'SUBJECT_ERASED', 'The data of this account has been erased'), unexpected: false };
  }
  if (error instanceof WrongExpectedVersionError) {
    return { problem: problem(409, 'CONCURRENCY_CONFLICT', 'The resource changed concurrently; retry the request'), unexpected: false };
  }
  if (error instanceof StreamDeletedError) {
    return { problem: problem(410, 'RESOURCE_ERASED', 'The resource has been erased'), unexpected: false };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const body = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
    const code = typeof body.code === 'string' ? body.code : (HTTP_CODES[status] ?? `HTTP_${status}`);
    // The framework's "Cannot GET <url>" would echo the URL, query string included (where a
    // careless client may have put a token): unknown routes get a fixed detail.
    const detail =
      status === 404 && typeof body.code !== 'string'
        ? 'No route matches this method and path'
        : Array.isArray(body.message) ? body.message.join('; ') : typeof body.message === 'string' ? body.message : error.message;
    const extra = Array.isArray(body.errors) ? { errors: body.errors } : {};
    return { problem: problem(status, code, detail, extra), unexpected: status >= 500 };
  }
  const fastifyError = error as FastifyLikeError;
  if (fastifyError && typeof fastifyError === 'object') {
    const known = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
    if (known) return { problem: problem(known[0], known[1], known[2]), unexpected: false };
    if (error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return { problem: problem(400, 'MALFORMED_JSON', 'The body is not valid JSON'), unexpected: false };
    }
    if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      const status = fastifyError.statusCode;
      const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 431 ? 'HEADERS_TOO_LARGE' : 'MALFORMED_REQUEST';
      return { problem: problem(status, code, status === 400 ? 'The request is malformed' : 'The request was refused'), unexpected: false };
    }
  }
  return { problem: problem(500, 'INTERNAL_ERROR', 'An unexpected error occurred; it has been logged'), unexpected: true };
}
