import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.port';
import { StreamDeletedError, StreamNotFoundError } from '../event-store.errors';
import type { EventToAppend } from '../event-store.port';
import { SqliteEventStore } from './sqlite-event-store';

const ev = (type = 'ThingHappened', data: Record<string, string | number> = { n: 1 }): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: { schemaVersion: 1 },
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('SqliteEventStore purge', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let store: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-purge-'));
    file = join(dir, 'events.sqlite');
    clock = new ManualClock('2026-01-05T02:00:00.000Z');
    store = new SqliteEventStore({ file, clock });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Events per stream, straight from the file. */
  function rowsByStream(): Record<string, number> {
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT stream, count(*) AS n FROM events GROUP BY stream').all() as { stream: string; n: number }[];
      return Object.fromEntries(rows.map((r) => [r.stream, r.n]));
    } finally {
      db.close();
    }
  }

  /** Every byte the store keeps on disk: the database, its WAL and the WAL index. */
  function fileBytesContain(marker: string): boolean {
    return ['', '-wal', '-shm'].some((suffix) => {
      const path = file + suffix;
      return existsSync(path) && readFileSync(path).includes(Buffer.from(marker, 'utf8'));
    });
  }

  it('physically deletes exactly what metadata, soft deletes and tombstones hide, keeping stream rows', async () => {
    await store.append('oplog-1', [ev('Old'), ev('Old')], 'no_stream');
    await store.setStreamMetadata('oplog-1', { maxAge: 7 * 24 * 3600 });
    clock.advance(7 * 24 * 3600 * 1000 + 1);
    await store.append('oplog-1', [ev('Fresh')], 1n);
    await store.append('counted-1', [1, 2, 3, 4, 5].map((n) => ev('N', { n })), 'no_stream');
    await store.setStreamMetadata('counted-1', { maxCount: 2 });
    await store.append('truncated-1', [ev(), ev(), ev()], 'no_stream');
    await store.setStreamMetadata('truncated-1', { truncateBefore: 1n });
    await store.append('deleted-1', [ev(), ev()], 'no_stream');
    await store.deleteStream('deleted-1');
    await store.append('reborn-1', [ev('Before')], 'no_stream');
    await store.deleteStream('reborn-1');
    await store.append('reborn-1', [ev('After')], 'no_stream');
    await store.append('tomb-1', [ev(), ev(), ev()], 'no_stream');
    await store.tombstoneStream('tomb-1');
    await store.append('kept-1', [ev(), ev()], 'no_stream');

    const result = await store.purge();

    expect(result).toEqual({ mode: 'removed', removedEvents: 2 + 3 + 1 + 2 + 1 + 3 });
    expect(rowsByStream()).toEqual({ 'oplog-1': 1, 'counted-1': 2, 'truncated-1': 2, 'reborn-1': 1, 'kept-1': 2 });
    expect((await collect(store.readStream('reborn-1'))).map((e) => [e.type, e.revision])).toEqual([['After', 1n]]);
    await expect(collect(store.readStream('deleted-1'))).rejects.toBeInstanceOf(StreamNotFoundError);
    await expect(collect(store.readStream('tomb-1'))).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(store.append('tomb-1', [ev()], 'no_stream')).rejects.toBeInstanceOf(StreamDeletedError);
    // A soft-deleted stream keeps counting after its events were purged.
    expect((await store.append('deleted-1', [ev()], 'no_stream')).nextExpectedRevision).toBe(2n);
    // Nothing left to do the second time.
    expect(await store.purge()).toEqual({ mode: 'removed', removedEvents: 0 });
  });

  it('leaves no trace of purged personal data anywhere in the files (secure_delete + WAL truncate)', async () => {
    const marker = 'PERSONAL-MARKER-7f3a9c';
    // Enough data that the marked rows share pages with rows that stay, and pages get rebalanced.
    for (let i = 0; i < 40; i++) {
      await store.append(`kept-${i}`, Array.from({ length: 25 }, (_, n) => ev('Kept', { n, pad: 'k'.repeat(200) })), 'no_stream');
      await store.append(`face-${i}`, Array.from({ length: 5 }, (_, n) => ev('Face', { n, geometry: `${marker}-${i}-${n}` })), 'no_stream');
      await store.append(`oplog-${i}`, [ev('Logged', { note: `${marker}-log-${i}` })], 'no_stream');
      await store.setStreamMetadata(`oplog-${i}`, { maxAge: 60 });
    }
    expect(fileBytesContain(marker)).toBe(true);
    for (let i = 0; i < 40; i++) await store.tombstoneStream(`face-${i}`);
    clock.advance(61_000);

    const result = await store.purge();

    expect(result.removedEvents).toBe(40 * 5 + 40);
    expect(fileBytesContain(marker)).toBe(false);
    expect(fileBytesContain('k'.repeat(200))).toBe(true);
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
    expect(await collect(store.readAll())).toHaveLength(40 * 25);
  });

  it('deletes in short transactions and lets appends through while it runs', async () => {
    await store.append('big-1', Array.from({ length: 1000 }, () => ev()), 'no_stream');
    for (let r = 1; r < 5; r++) await store.append('big-1', Array.from({ length: 1000 }, () => ev()), BigInt(r * 1000 - 1));
    await store.tombstoneStream('big-1');
    const before = store.stats.writeTransactions;
    const order: string[] = [];
    const purge = store.purge().then((r) => {
      order.push('purge');
      return r;
    });
    const append = store.append('live-1', [ev()], 'no_stream').then(() => order.push('append'));
    const [result] = await Promise.all([purge, append]);
    expect(result.removedEvents).toBe(5000);
    expect(order).toEqual(['append', 'purge']);
    // 5,000 rows at 500 per transaction, plus the append's own.
    expect(store.stats.writeTransactions - before).toBeGreaterThanOrEqual(11);
    expect(rowsByStream()).toEqual({ 'live-1': 1 });
  });

  it('waits, without blocking, for another connection\'s reader before truncating the WAL', async () => {
    const marker = 'PERSONAL-MARKER-reader';
    await store.append('face-1', [ev('Face', { geometry: marker })], 'no_stream');
    await store.append('kept-1', [ev('Kept')], 'no_stream');
    await store.tombstoneStream('face-1');
    const reader = new Database(file, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM events').get();
    let purged = false;
    const purge = store.purge().then((r) => {
      purged = true;
      return r;
    });
    // Appends and reads still get through while the checkpoint waits for the reader.
    await store.append('kept-1', [ev('Kept')], 0n);
    expect(await collect(store.readStream('kept-1'))).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(purged).toBe(false);
    reader.exec('COMMIT');
    reader.close();
    expect((await purge).removedEvents).toBe(1);
    expect(fileBytesContain(marker)).toBe(false);
  });

  it('shares one run between concurrent purge calls', async () => {
    await store.append('tomb-1', [ev()], 'no_stream');
    await store.tombstoneStream('tomb-1');
    const [a, b] = await Promise.all([store.purge(), store.purge()]);
    expect(a).toEqual({ mode: 'removed', removedEvents: 1 });
    expect(b).toBe(a);
  });
});
