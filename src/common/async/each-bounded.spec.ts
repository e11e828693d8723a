import { describe, expect, it } from 'vitest';
import { eachBounded } from './each-bounded';

describe('eachBounded', () => {
  it('runs every item with at most `limit` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    await eachBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      done.push(n);
      inFlight--;
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it('stops starting items after a failure, lets those in flight finish, and rejects with the first failure', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = eachBounded([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      await new Promise((r) => setTimeout(r, n === 2 ? 20 : 1));
      if (n === 1) throw new Error('one');
      finished.push(n);
    });
    await expect(run).rejects.toThrow('one');
    expect(started).toEqual([1, 2]);
    expect(finished).toEqual([2]);
  });

  it('an empty list resolves at once', async () => {
    await expect(eachBounded([], 4, () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });
});
