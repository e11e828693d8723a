import type { OssErrorInfo } from './ali-oss-client';

/**
 * Which OSS failures are worth another attempt. ali-oss's own `retryMax` only retries network
 * errors and connect timeouts; HTTP 5xx, throttling and response timeouts are retried here.
 */
const RETRYABLE_NAMES = new Set([
  'ResponseTimeoutError',
  'ConnectionTimeoutError',
  'SocketAssignTimeoutError',
  'RequestError',
  'ResponseError',
]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

export function isRetryable(info: OssErrorInfo): boolean {
  if (info.status !== undefined) {
    if (info.status >= 500) return true;
    if (info.status === 429 || info.status === 408) return true;
    if (info.status === -1 || info.status === -2) return true; // urllib: network error / timeout
    if (info.status >= 400) return false;
  }
  if (info.name !== undefined && RETRYABLE_NAMES.has(info.name)) return true;
  if (info.code !== undefined && RETRYABLE_CODES.has(info.code)) return true;
  return /socket hang up/i.test(info.message);
}

export interface BackoffPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Exponential backoff with "equal jitter": the n-th retry (1-based) waits between half and all of
 * min(max, base * 2^(n-1)), so that retries from many callers spread out but never hammer at once.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
