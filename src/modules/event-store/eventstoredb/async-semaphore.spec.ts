import { describe, expect, it } from 'vitest';
import { AsyncSemaphore } from './async-semaphore';

describe('AsyncSemaphore', () => {
  it('never runs more than its capacity at once and serves waiters in order', async () => {
    const semaphore = new AsyncSemaphore(3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: Array<() => void> = [];
    const tasks = Array.from({ length: 10 }, (_, n) =>
      semaphore.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        order.push(n);
        await new Promise<void>((resolve) => gates.push(resolve));
        running -= 1;
      }),
    );
    while (order.length < 10) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(semaphore.inUse).toBeLessThanOrEqual(3);
      gates.shift()?.();
    }
    while (gates.length > 0) gates.shift()!();
    await Promise.all(tasks);
    expect(peak).toBe(3);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(semaphore.inUse).toBe(0);
    expect(semaphore.waiting).toBe(0);
  });

  it('releases the slot when the operation throws, and ignores a second release', async () => {
    const semaphore = new AsyncSemaphore(1);
    await expect(semaphore.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const release = await semaphore.acquire();
    release();
    release();
    expect(semaphore.inUse).toBe(0);
    expect(await semaphore.run(async () => 42)).toBe(42);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new AsyncSemaphore(0)).toThrow(RangeError);
  });
});
