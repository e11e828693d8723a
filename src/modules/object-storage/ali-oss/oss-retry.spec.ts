import { describe, expect, it } from 'vitest';
import { backoffDelay, isRetryable } from './oss-retry';

describe('OSS retry policy', () => {
  it.each([
    [{ status: 500, code: 'InternalError', message: '' }, true],
    [{ status: 503, code: 'ServiceUnavailable', message: '' }, true],
    [{ status: 429, message: '' }, true],
    [{ status: -1, name: 'RequestError', code: 'ECONNRESET', message: 'socket hang up' }, true],
    [{ status: -2, name: 'ConnectionTimeoutError', message: '' }, true],
    [{ name: 'ResponseTimeoutError', message: 'Response timeout for 60000ms' }, true],
    [{ name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, true],
    [{ name: 'Error', message: 'socket hang up' }, true],
    [{ status: 403, code: 'SignatureDoesNotMatch', message: '' }, false],
    [{ status: 404, code: 'NoSuchBucket', message: '' }, false],
    [{ status: 400, code: 'InvalidDigest', message: '' }, false],
    [{ name: 'TypeError', message: 'x is not a function' }, false],
  ])('%j retryable: %s', (info, expected) => {
    expect(isRetryable(info)).toBe(expected);
  });

  it('doubles the ceiling per retry, caps it, and jitters within [ceiling/2, ceiling]', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(3, policy);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(400);
    }
  });
});
