import {
  AccessDeniedError as ClientAccessDeniedError,
  ErrorType,
  InvalidArgumentError as ClientInvalidArgumentError,
  isCommandError,
  StreamDeletedError as ClientStreamDeletedError,
  StreamNotFoundError as ClientStreamNotFoundError,
  UnsupportedError as ClientUnsupportedError,
  WrongExpectedVersionError as ClientWrongExpectedVersionError,
} from '@eventstore/db-client';
import { EventStoreError, StreamDeletedError, StreamNotFoundError, WrongExpectedVersionError } from '../event-store.errors';
import type { ExpectedRevision } from '../event-store.port';

/** Raised by the adapter itself when a call outlives its own deadline (reads have none in the client). */
export class EsdbTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`EventStoreDB ${what} did not answer within ${ms} ms`);
    this.name = 'EsdbTimeoutError';
  }
}

const TRANSIENT_TYPES = new Set<string>([
  ErrorType.UNAVAILABLE,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.CANCELLED,
  ErrorType.TIMEOUT,
  ErrorType.NOT_LEADER,
]);

const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_STREAM_DESTROYED',
]);

// gRPC status codes that mean "try again" when an error escapes the client unconverted.
const TRANSIENT_GRPC_CODES = new Set([1 /* CANCELLED */, 4 /* DEADLINE_EXCEEDED */, 10 /* ABORTED */, 14 /* UNAVAILABLE */]);

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : undefined;
}

/** Unavailable, deadline exceeded, server-side cancellation, timeouts, not-leader and connection errors. */
export function isTransientEsdbError(error: unknown): boolean {
  if (error instanceof EventStoreError) return false;
  if (error instanceof EsdbTimeoutError) return true;
  if (error instanceof Error && isCommandError(error)) return TRANSIENT_TYPES.has(error.type);
  const code = codeOf(error);
  if (typeof code === 'string') return TRANSIENT_NODE_CODES.has(code);
  if (typeof code === 'number') return TRANSIENT_GRPC_CODES.has(code);
  return false;
}

/** Errors a subscription cannot recover from by subscribing again. */
export function isFatalSubscriptionError(error: unknown): boolean {
  return (
    error instanceof ClientAccessDeniedError ||
    error instanceof ClientInvalidArgumentError ||
    error instanceof ClientUnsupportedError ||
    error instanceof EventStoreError
  );
}

function toActual(actual: bigint | 'no_stream' | undefined): bigint | 'no_stream' {
  if (actual === undefined || actual === 'no_stream' || actual < 0n) return 'no_stream';
  return actual;
}

/** Maps the client's typed errors to the port's; anything else is returned unchanged. */
export function mapEsdbError(error: unknown, stream: string, expected?: ExpectedRevision): unknown {
  if (error instanceof EventStoreError) return error;
  if (error instanceof ClientWrongExpectedVersionError) {
    return new WrongExpectedVersionError(stream, expected ?? 'any', toActual(error.actualVersion));
  }
  if (error instanceof ClientStreamDeletedError) return new StreamDeletedError(stream);
  if (error instanceof ClientStreamNotFoundError) return new StreamNotFoundError(stream);
  return error;
}
