import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.port';
import { EventStoreUnavailableError, WrongExpectedVersionError } from '../event-store.errors';
import type { AppendResult, EventToAppend } from '../event-store.port';
import { SqliteEventStore } from './sqlite-event-store';

const ev = (type = 'ThingHappened'): EventToAppend => ({ id: randomUUID(), type, data: { n: 1 }, metadata: { schemaVersion: 1 } });

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('SqliteEventStore group commit', () => {
  let dir: string;
  let file: string;
  let store: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-group-commit-'));
    file = join(dir, 'events.sqlite');
    store = new SqliteEventStore({ file, clock: new ManualClock(), busyTimeoutMs: 50 });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes 100 concurrent appends in fewer transactions than appends, each caller getting its own result', async () => {
    const before = store.stats.writeTransactions;
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => store.append(`s-${i}`, [ev(), ev()], 'no_stream')));
    const transactions = store.stats.writeTransactions - before;
    expect(transactions).toBeGreaterThanOrEqual(1);
    expect(transactions).toBeLessThan(100);
    expect(results.every((r) => r.nextExpectedRevision === 1n)).toBe(true);
    const positions = results.map((r) => r.position.commit);
    expect(new Set(positions).size).toBe(100);
    const stored = await collect(store.readStream('s-42'));
    expect(stored.at(-1)?.position).toEqual(results[42].position);
  });

  it('refuses only the conflicting caller of a batch; later appends to the same stream see the earlier ones', async () => {
    const before = store.stats.writeTransactions;
    const outcomes = await Promise.allSettled([
      store.append('s-1', [ev('A')], 'no_stream'),
      store.append('s-1', [ev('B')], 0n),
      store.append('s-1', [ev('Conflict')], 0n),
      store.append('s-1', [ev('C')], 1n),
      store.append('s-2', [ev('Elsewhere')], 'no_stream'),
      store.append('s-1', [ev('D')], 'stream_exists'),
    ]);
    expect(store.stats.writeTransactions - before).toBe(1);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    const conflict = (outcomes[2] as PromiseRejectedResult).reason as WrongExpectedVersionError;
    expect(conflict).toBeInstanceOf(WrongExpectedVersionError);
    expect(conflict.actual).toBe(1n);
    expect((outcomes[5] as PromiseFulfilledResult<AppendResult>).value.nextExpectedRevision).toBe(3n);
    expect((await collect(store.readStream('s-1'))).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
  });

  it('answers an idempotent retry queued in the same batch as the original', async () => {
    const events = [ev('Once')];
    const [first, retry] = await Promise.all([store.append('s-1', events, 'no_stream'), store.append('s-1', events, 'no_stream')]);
    expect(retry).toEqual(first);
    expect(await collect(store.readStream('s-1'))).toHaveLength(1);
  });

  it('fails every caller of a batch with its own EventStoreUnavailableError when the write lock stays taken', async () => {
    await store.append('s-0', [ev()], 'no_stream');
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const outcomes = await Promise.allSettled([
      store.append('s-1', [ev()], 'no_stream'),
      store.append('s-2', [ev()], 'no_stream'),
      store.append('s-0', [ev()], 0n),
    ]);
    other.exec('ROLLBACK');
    other.close();
    const reasons = outcomes.map((o) => (o as PromiseRejectedResult).reason as unknown);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(reasons.every((r) => r instanceof EventStoreUnavailableError)).toBe(true);
    expect(new Set(reasons).size).toBe(3);
    expect(await collect(store.readAll())).toHaveLength(1);
    expect((await store.append('s-0', [ev()], 0n)).nextExpectedRevision).toBe(1n);
  });

  it('keeps nothing of a batch whose transaction fails half-way, and recovers', async () => {
    const other = new Database(file);
    other.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.type = 'Boom'
                BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    const outcomes = await Promise.allSettled([
      store.append('s-1', [ev('Fine')], 'no_stream'),
      store.append('s-2', [ev('Boom')], 'no_stream'),
      store.append('s-3', [ev('Fine')], 'no_stream'),
    ]);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof EventStoreUnavailableError)).toBe(true);
    expect(await collect(store.readAll())).toHaveLength(0);
    expect(await store.headPosition()).toBeNull();
    other.exec('DROP TRIGGER refuse_boom');
    other.close();
    const result = await store.append('s-1', [ev('Fine')], 'no_stream');
    expect(result.position.commit).toBe(1n);
  });

  it('bounds a transaction to about 1,000 events; the rest goes to the next turns, in order', async () => {
    const before = store.stats.writeTransactions;
    const appends = Array.from({ length: 25 }, (_, i) => store.append(`s-${i}`, Array.from({ length: 100 }, () => ev()), 'no_stream'));
    const big = store.append('big-1', Array.from({ length: 1500 }, () => ev()), 'no_stream');
    const results = await Promise.all([...appends, big]);
    expect(store.stats.writeTransactions - before).toBe(4);
    for (let i = 1; i < results.length; i++) {
      expect(results[i].position.commit).toBeGreaterThan(results[i - 1].position.commit);
    }
    expect(results.at(-1)?.position.commit).toBe(4000n);
  });

  it('sends appends made while a batch is being written to the next transaction', async () => {
    const before = store.stats.writeTransactions;
    let second: Promise<AppendResult> | undefined;
    const first = store.append('s-1', [ev('First')], 'no_stream').then((r) => {
      second = store.append('s-1', [ev('Second')], r.nextExpectedRevision);
      return r;
    });
    await first;
    await second;
    expect(store.stats.writeTransactions - before).toBe(2);
  });
});
