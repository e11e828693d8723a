/**
 * An error with a stable upper-snake `code` that clients and reports rely on, mapped to an
 * `application/problem+json` response. The message is safe to show: never personal data.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra, non-personal fields for the problem body. */
    readonly extra: Readonly<Record<string, unknown>> = {},
    /** Seconds, for 429 and 503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badRequest = (code: string, message: string, extra?: Record<string, unknown>) => new DomainError(code, 400, message, extra);
export const unauthorized = (message = 'A valid bearer token is required') => new DomainError('UNAUTHORIZED', 401, message);
export const forbidden = (message = 'This token may not do that') => new DomainError('FORBIDDEN', 403, message);
export const notFound = (code: string, message: string) => new DomainError(code, 404, message);
export const conflict = (code: string, message: string) => new DomainError(code, 409, message);
export const gone = (code: string, message: string) => new DomainError(code, 410, message);
export const unprocessable = (code: string, message: string, extra?: Record<string, unknown>) => new DomainError(code, 422, message, extra);
export const tooManyRequests = (retryAfterSeconds: number) =>
  new DomainError('RATE_LIMITED', 429, 'Too many requests; retry later', {}, retryAfterSeconds);
export const serviceUnavailable = (code: string, message: string, retryAfterSeconds = 5) =>
  new DomainError(code, 503, message, {}, retryAfterSeconds);
