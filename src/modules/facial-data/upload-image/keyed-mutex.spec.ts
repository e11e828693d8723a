import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './keyed-mutex';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedMutex', () => {
  it('runs tasks of one key one after another, in arrival order', async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = mutex.run('k', async () => {
      order.push('first:start');
      await gate;
      order.push('first:end');
      return 1;
    });
    const second = mutex.run('k', async () => {
      order.push('second');
      return 2;
    });
    await tick();
    expect(order).toEqual(['first:start']);
    release();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(order).toEqual(['first:start', 'first:end', 'second']);
    expect(mutex.size).toBe(0);
  });

  it('lets different keys run concurrently', async () => {
    const mutex = new KeyedMutex();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const blocked = mutex.run('a', () => gate);
    expect(await mutex.run('b', async () => 'b done')).toBe('b done');
    release();
    await blocked;
  });

  it('a failing task does not block or fail the next one', async () => {
    const mutex = new KeyedMutex();
    const failing = mutex.run('k', async () => {
      throw new Error('boom');
    });
    const next = mutex.run('k', async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe('ok');
    expect(mutex.size).toBe(0);
  });
});
