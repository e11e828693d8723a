import type { ExpectedRevision } from './event-store.port';

/** Base class of every error the EventStore port throws on purpose. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
}

export class WrongExpectedVersionError extends EventStoreError {
  readonly code = 'WRONG_EXPECTED_VERSION';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The stream's current revision, or 'no_stream'. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`Wrong expected version on ${stream}: expected ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedVersionError';
  }
}

export class StreamNotFoundError extends EventStoreError {
  readonly code = 'STREAM_NOT_FOUND';
  constructor(readonly stream: string) {
    super(`Stream ${stream} not found`);
    this.name = 'StreamNotFoundError';
  }
}

export class StreamDeletedError extends EventStoreError {
  readonly code = 'STREAM_DELETED';
  constructor(readonly stream: string) {
    super(`Stream ${stream} is deleted (tombstoned)`);
    this.name = 'StreamDeletedError';
  }
}

/** The store cannot be reached or failed transiently after retries: callers answer 503. */
export class EventStoreUnavailableError extends EventStoreError {
  readonly code = 'EVENT_STORE_UNAVAILABLE';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'EventStoreUnavailableError';
  }
}

export class InvalidAppendError extends EventStoreError {
  readonly code = 'INVALID_APPEND';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAppendError';
  }
}
