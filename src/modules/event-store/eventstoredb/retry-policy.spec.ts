import { describe, expect, it } from 'vitest';
import { EventStoreUnavailableError } from '../event-store.errors';
import { backoffDelay, withRetry } from './retry-policy';

describe('retry policy', () => {
  it('backs off exponentially with jitter between half and the whole delay, capped', () => {
    const policy = { baseDelayMs: 50, maxDelayMs: 1_000 };
    expect(backoffDelay(policy, 1, () => 0)).toBe(25);
    expect(backoffDelay(policy, 1, () => 1)).toBe(50);
    expect(backoffDelay(policy, 3, () => 0)).toBe(100);
    expect(backoffDelay(policy, 3, () => 1)).toBe(200);
    expect(backoffDelay(policy, 10, () => 1)).toBe(1_000);
  });

  it('retries transient errors until success', async () => {
    let calls = 0;
    const result = await withRetry('op', { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 }, () => true, async (attempt) => {
      calls += 1;
      if (attempt < 3) throw new Error('transient');
      return attempt;
    });
    expect(result).toBe(3);
    expect(calls).toBe(3);
  });

  it('gives up with EventStoreUnavailableError carrying the last error, after the attempts', async () => {
    let calls = 0;
    const last = new Error('still down');
    const error = await withRetry('append', { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, () => true, async () => {
      calls += 1;
      throw last;
    }).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).cause).toBe(last);
    expect((error as Error).message).toMatch(/append failed after 3 attempts: still down/);
  });

  it('rethrows a non-transient error at once', async () => {
    let calls = 0;
    const fatal = new Error('fatal');
    await expect(
      withRetry('op', { attempts: 5, baseDelayMs: 1, maxDelayMs: 2 }, (e) => e !== fatal, async () => {
        calls += 1;
        throw fatal;
      }),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });
});
