import { describe, expect, it } from 'vitest';
import { ProcessingError } from '../face-processor.port';
import { BoundedConcurrency } from './bounded-concurrency';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('BoundedConcurrency', () => {
  it('never runs more than the limit at once and runs everything in order', async () => {
    const pool = new BoundedConcurrency(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const gates = Array.from({ length: 6 }, deferred);
    const runs = gates.map((gate, index) =>
      pool.run(async () => {
        started.push(index);
        running++;
        peak = Math.max(peak, running);
        await gate.promise;
        running--;
        return index;
      }),
    );
    await Promise.resolve();
    expect(pool.active).toBe(2);
    expect(pool.queued).toBe(4);
    for (const gate of gates) {
      gate.resolve();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(pool.active).toBe(0);
  });

  it('releases the slot when a task fails', async () => {
    const pool = new BoundedConcurrency(1);
    await expect(pool.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await pool.run(async () => 'next')).toBe('next');
    expect(pool.active).toBe(0);
  });

  it('refuses new work with a retryable PROCESSOR_UNAVAILABLE when the queue is full', async () => {
    const pool = new BoundedConcurrency(1, 1);
    const gate = deferred();
    const first = pool.run(() => gate.promise);
    const second = pool.run(async () => 'queued');
    const refused = await pool.run(async () => 'never').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ProcessingError);
    expect(refused).toMatchObject({ code: 'PROCESSOR_UNAVAILABLE', retryable: true });
    gate.resolve();
    await first;
    expect(await second).toBe('queued');
  });

  it('rejects a nonsensical limit', () => {
    expect(() => new BoundedConcurrency(0)).toThrow(RangeError);
  });
});
