import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { problem, PROBLEM_CONTENT_TYPE } from '../errors/problem';

/**
 * Transport-level defences that run outside Nest: answers to requests Node's HTTP parser refuses
 * before any route sees them, timeouts against slow clients, per-route body limits, and
 * `Cache-Control: no-store` on the API.
 */

/** Bodies of every route but the upload: a rights request or a DPO decision is a few KiB at most. */
export const SMALL_BODY_LIMIT = 64 * 1024;

/** The one route that takes a large body (the Base64 upload), with the full request limit. */
const LARGE_BODY_ROUTES = new Set(['POST /v1/images']);

/**
 * Fastify `onRoute` hook: every route without a large body gets SMALL_BODY_LIMIT, so an
 * unauthenticated client cannot make the service buffer and parse a 14 MB JSON document on,
 * say, the rate-limited registration endpoint before the limit even applies (413 at once when
 * Content-Length says so, or as soon as the limit is crossed).
 */
export function limitSmallBodies(routeOptions: { method: string | string[]; url: string; bodyLimit?: number }): void {
  const methods = Array.isArray(routeOptions.method) ? routeOptions.method : [routeOptions.method];
  if (methods.some((method) => LARGE_BODY_ROUTES.has(`${method.toUpperCase()} ${routeOptions.url}`))) return;
  if (routeOptions.bodyLimit === undefined || routeOptions.bodyLimit > SMALL_BODY_LIMIT) routeOptions.bodyLimit = SMALL_BODY_LIMIT;
}

/**
 * Node's timers for a request timeout of `requestTimeoutMs`:
 *  - `requestTimeout` (and `headersTimeout`): the whole request, headers and body, must arrive in
 *    time, however slowly it trickles in (slow-loris); the client then gets 408 REQUEST_TIMEOUT;
 *  - `connectionsCheckingInterval`: how often Node checks that deadline (its default, 30 s, would
 *    let a short timeout run up to 30 s late);
 *  - `connectionTimeout` (socket inactivity): a backstop a little later than the 408, so a client
 *    that stalls completely still gets the 408 rather than a silent close.
 */
export function requestTimeouts(requestTimeoutMs: number): {
  requestTimeout: number;
  connectionTimeout: number;
  http: { connectionsCheckingInterval: number; headersTimeout: number; requestTimeout: number; requireHostHeader: boolean };
} {
  const checkEvery = Math.min(5_000, Math.max(250, Math.floor(requestTimeoutMs / 4)));
  return {
    requestTimeout: requestTimeoutMs,
    connectionTimeout: requestTimeoutMs + 2 * checkEvery,
    http: {
      connectionsCheckingInterval: checkEvery,
      headersTimeout: Math.min(requestTimeoutMs, 60_000),
      requestTimeout: requestTimeoutMs,
      // Checked in `requireHost` instead, so the refusal is a problem document like every other.
      requireHostHeader: false,
    },
  };
}

interface ClientError extends Error {
  readonly code?: string;
}

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'The request did not arrive completely within the request timeout'],
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'The request line and headers are larger than the server accepts (16 KiB)'],
};

/**
 * Fastify `clientErrorHandler`: what Node's HTTP parser refuses (oversized headers, a malformed
 * request line or header, conflicting Content-Length / Transfer-Encoding, a bad chunk, a request
 * that timed out) is answered with a problem document too, then the connection is closed. Nothing
 * of the request is echoed.
 */
export function answerClientError(error: ClientError, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'MALFORMED_REQUEST', 'The request is not valid HTTP/1.1'];
  const body = JSON.stringify(problem(status, code, detail));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\n' +
        'X-Content-Type-Options: nosniff\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}

/** HTTP/1.1 requires a Host header (RFC 9112 §3.2); without one: 400 MALFORMED_REQUEST. */
export function missingHost(raw: IncomingMessage): boolean {
  return raw.httpVersion === '1.1' && (raw.headers.host === undefined || raw.headers.host === '');
}

/**
 * `Cache-Control: no-store` on every /v1 answer (content, personal JSON and problems alike)
 * unless the handler chose otherwise: nothing the API returns belongs in a shared or disk cache.
 */
export function cacheControlFor(url: string, current: unknown): string | undefined {
  if (current !== undefined) return undefined;
  return url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?') ? 'no-store' : undefined;
}

/** Refusals any request (or any JSON body) may get, whatever its route: listed once in the OpenAPI document. */
export const TRANSPORT_PROBLEMS: ReadonlyArray<{ readonly status: number; readonly code: string; readonly when: string }> = [
  { status: 400, code: 'MALFORMED_REQUEST', when: 'not valid HTTP/1.1: a malformed request line or header (a NUL byte…), Content-Length together with Transfer-Encoding, a bad chunk, no Host' },
  { status: 400, code: 'MALFORMED_JSON', when: 'the body is not JSON, or carries a __proto__ or constructor key' },
  { status: 400, code: 'JSON_TOO_DEEP', when: 'the JSON body is nested deeper than 32 levels' },
  { status: 400, code: 'VALIDATION_FAILED', when: 'the JSON body is not an object' },
  { status: 404, code: 'NOT_FOUND', when: 'no route matches the method and path' },
  { status: 408, code: 'REQUEST_TIMEOUT', when: 'the request (headers and body) did not arrive completely within REQUEST_TIMEOUT; the connection is closed' },
  { status: 413, code: 'PAYLOAD_TOO_LARGE', when: `the body is over ${SMALL_BODY_LIMIT / 1024} KiB (POST /v1/images: over the Base64 of UPLOAD_MAX_BYTES plus 64 KiB)` },
  { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', when: 'a body that is not application/json' },
  { status: 431, code: 'HEADERS_TOO_LARGE', when: 'the request line and headers are over 16 KiB; the connection is closed' },
];

/** Adds TRANSPORT_PROBLEMS to an OpenAPI document: in words in `info.description`, as data in `info['x-problems']`. */
export function documentTransportProblems<T extends { info: { description?: string } }>(document: T): T {
  const info = document.info as { description?: string; 'x-problems'?: unknown };
  info.description = `${info.description ?? ''}\n\nAny route may also answer: ${TRANSPORT_PROBLEMS.map((p) => `${p.status} ${p.code} (${p.when})`).join('; ')}.`;
  info['x-problems'] = TRANSPORT_PROBLEMS.map((p) => ({ ...p }));
  return document;
}
