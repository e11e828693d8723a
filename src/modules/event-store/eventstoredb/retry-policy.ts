import { EventStoreUnavailableError } from '../event-store.errors';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  /** Upper bound of one delay. */
  readonly maxDelayMs: number;
}

/** Exponential backoff with "equal jitter": half the exponential delay plus a random half. */
export function backoffDelay(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, failures: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `operation` until it succeeds, a non-transient error occurs (rethrown as is), or the
 * attempts are used up (then EventStoreUnavailableError with the last error as cause).
 * `operation` receives the attempt number (1-based).
 */
export async function withRetry<T>(
  what: string,
  policy: RetryPolicy,
  isTransient: (error: unknown) => boolean,
  operation: (attempt: number) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!isTransient(error)) throw error;
      lastError = error;
      if (attempt < policy.attempts) await sleep(backoffDelay(policy, attempt));
    }
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new EventStoreUnavailableError(`EventStoreDB ${what} failed after ${policy.attempts} attempts: ${reason}`, lastError);
}
