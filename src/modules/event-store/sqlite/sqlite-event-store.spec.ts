import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.port';
import {
  EventStoreUnavailableError,
  InvalidAppendError,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../event-store.errors';
import type { EventToAppend, StoredEvent } from '../event-store.port';
import { SqliteEventStore } from './sqlite-event-store';

const ev = (type = 'ThingHappened', data: Record<string, number | string> = { n: 1 }): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: { actor: 'system:test', schemaVersion: 1 },
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function failure(work: Promise<unknown> | AsyncIterable<unknown>): Promise<unknown> {
  try {
    if (work instanceof Promise) await work;
    else await collect(work);
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

const types = (events: StoredEvent[]) => events.map((e) => e.type);

describe('SqliteEventStore', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let store: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-event-store-'));
    file = join(dir, 'events.sqlite');
    clock = new ManualClock('2026-01-05T02:00:00.000Z');
    store = new SqliteEventStore({ file, clock });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('expected revisions and idempotency (EventStoreDB commit check)', () => {
    it('answers an idempotent no_stream retry with the original revision and position', async () => {
      const events = [ev('A'), ev('B')];
      const first = await store.append('s-1', events, 'no_stream');
      await store.append('s-1', [ev('C')], 1n);
      const again = await store.append('s-1', events, 'no_stream');
      expect(again).toEqual(first);
      expect(types(await collect(store.readStream('s-1')))).toEqual(['A', 'B', 'C']);
    });

    it('treats a retry with "any" as a no-op only when the ids are the stream\'s last events', async () => {
      const retried = [ev('A'), ev('B')];
      const first = await store.append('s-1', retried, 'any');
      expect(await store.append('s-1', retried, 'any')).toEqual(first);
      expect(await store.append('s-1', retried, 'stream_exists')).toEqual(first);
      await store.append('s-1', [ev('C')], 'any');
      // No longer the last events: appended again (EventStoreDB only promises best effort here).
      const later = await store.append('s-1', retried, 'any');
      expect(later.nextExpectedRevision).toBe(4n);
      expect(types(await collect(store.readStream('s-1')))).toEqual(['A', 'B', 'C', 'A', 'B']);
    });

    it('refuses a retry that only partly matches the stored events', async () => {
      const [a, b] = [ev('A'), ev('B')];
      await store.append('s-1', [a, b], 'no_stream');
      const error = await failure(store.append('s-1', [a, ev('Other')], 'no_stream'));
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect((error as WrongExpectedVersionError).actual).toBe(1n);
      const longer = await failure(store.append('s-1', [a, b, ev('C')], 'no_stream'));
      expect(longer).toBeInstanceOf(WrongExpectedVersionError);
    });

    it('compares event ids case-insensitively, as UUIDs', async () => {
      const e = ev('A');
      const first = await store.append('s-1', [{ ...e, id: e.id.toUpperCase() }], 'no_stream');
      expect(await store.append('s-1', [e], 'no_stream')).toEqual(first);
      const [stored] = await collect(store.readStream('s-1'));
      expect(stored.id).toBe(e.id.toLowerCase());
    });

    it('refuses an expected revision beyond the end with the actual revision', async () => {
      await store.append('s-1', [ev()], 'no_stream');
      const error = await failure(store.append('s-1', [ev()], 5n));
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect((error as WrongExpectedVersionError).expected).toBe(5n);
      expect((error as WrongExpectedVersionError).actual).toBe(0n);
    });

    it('accepts stream_exists on a stream that so far only has metadata (as EventStoreDB)', async () => {
      await store.setStreamMetadata('s-1', { maxCount: 5 });
      const result = await store.append('s-1', [ev()], 'stream_exists');
      expect(result.nextExpectedRevision).toBe(0n);
    });
  });

  describe('validation', () => {
    it('refuses system stream names and system event types', async () => {
      expect(await failure(store.append('$all', [ev()], 'any'))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.append('s-1', [ev('$metadata')], 'any'))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.setStreamMetadata('$$s-1', { maxAge: 1 }))).toBeInstanceOf(InvalidAppendError);
    });

    it('refuses non-UUID ids, empty appends, non-object data and invalid metadata values', async () => {
      expect(await failure(store.append('s-1', [{ ...ev(), id: 'not-a-uuid' }], 'any'))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.append('s-1', [], 'any'))).toBeInstanceOf(InvalidAppendError);
      const arrayData = { ...ev(), data: [1, 2] as unknown as EventToAppend['data'] };
      expect(await failure(store.append('s-1', [arrayData], 'any'))).toBeInstanceOf(InvalidAppendError);
      const bigintData = { ...ev(), data: { n: 1n } as unknown as EventToAppend['data'] };
      expect(await failure(store.append('s-1', [bigintData], 'any'))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.append('s-1', [ev()], -1n))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.setStreamMetadata('s-1', { maxAge: 0 }))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.setStreamMetadata('s-1', { maxCount: 1.5 }))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.readAll({ maxCount: -1 }))).toBeInstanceOf(RangeError);
      expect(await failure(store.readAll({ fromPosition: { commit: -1n, prepare: -1n } }))).toBeInstanceOf(RangeError);
      expect(await failure(store.readStream('s-1'))).toBeInstanceOf(StreamNotFoundError);
    });

    it('refuses an append larger than EventStoreDB\'s default 1 MiB', async () => {
      const big = { ...ev(), data: { blob: 'x'.repeat(1024 * 1024) } };
      expect(await failure(store.append('s-1', [big], 'any'))).toBeInstanceOf(InvalidAppendError);
    });

    it('stores a snapshot of the event: mutating it after append changes nothing', async () => {
      const e = ev('A', { n: 1 });
      const pending = store.append('s-1', [e], 'no_stream');
      (e.data as Record<string, number>).n = 2;
      await pending;
      const [stored] = await collect(store.readStream('s-1'));
      expect(stored.data).toEqual({ n: 1 });
    });
  });

  describe('readStream', () => {
    beforeEach(async () => {
      await store.append('s-1', [0, 1, 2, 3, 4, 5].map((n) => ev('N', { n })), 'no_stream');
    });

    it('reads backwards and forwards with every combination of start, end and maxCount', async () => {
      const revisions = async (options: Parameters<SqliteEventStore['readStream']>[1]) =>
        (await collect(store.readStream('s-1', options))).map((e) => Number(e.revision));
      expect(await revisions({})).toEqual([0, 1, 2, 3, 4, 5]);
      expect(await revisions({ direction: 'backwards' })).toEqual([5, 4, 3, 2, 1, 0]);
      expect(await revisions({ direction: 'backwards', fromRevision: 'start' })).toEqual([0]);
      expect(await revisions({ fromRevision: 'end' })).toEqual([]);
      expect(await revisions({ fromRevision: 9n })).toEqual([]);
      expect(await revisions({ direction: 'backwards', fromRevision: 99n, maxCount: 2 })).toEqual([5, 4]);
      expect(await revisions({ maxCount: 0 })).toEqual([]);
    });

    it('pages through a long stream', async () => {
      await store.append('long-1', Array.from({ length: 1200 }, (_, n) => ev('N', { n })), 'no_stream');
      const all = await collect(store.readStream('long-1'));
      expect(all.map((e) => e.data.n)).toEqual(Array.from({ length: 1200 }, (_, n) => n));
      const back = await collect(store.readStream('long-1', { direction: 'backwards', maxCount: 1100 }));
      expect(back[0].data.n).toBe(1199);
      expect(back.at(-1)?.data.n).toBe(100);
    });

    it('combines truncateBefore, maxCount and maxAge, in both directions', async () => {
      await store.setStreamMetadata('s-1', { truncateBefore: 1n, maxCount: 4 });
      expect((await collect(store.readStream('s-1'))).map((e) => e.data.n)).toEqual([2, 3, 4, 5]);
      clock.advance(10_000);
      await store.append('s-1', [ev('N', { n: 6 })], 5n);
      await store.setStreamMetadata('s-1', { maxAge: 30 });
      expect((await collect(store.readStream('s-1'))).map((e) => e.data.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      clock.advance(20_001);
      expect((await collect(store.readStream('s-1'))).map((e) => e.data.n)).toEqual([6]);
      expect((await collect(store.readStream('s-1', { direction: 'backwards' }))).map((e) => e.data.n)).toEqual([6]);
    });

    it('records created from the injected clock, never going backwards in log order', async () => {
      const [first] = await collect(store.readStream('s-1'));
      expect(first.created.toISOString()).toBe('2026-01-05T02:00:00.000Z');
      clock.set('2026-01-04T00:00:00.000Z');
      await store.append('s-2', [ev()], 'no_stream');
      const [second] = await collect(store.readStream('s-2'));
      expect(second.created.getTime()).toBe(first.created.getTime());
    });
  });

  describe('deletion and metadata', () => {
    it('hides the events from before a soft delete once the stream is recreated, and after a metadata change', async () => {
      await store.append('s-1', [ev('Old1'), ev('Old2')], 'no_stream');
      await store.deleteStream('s-1', 1n);
      expect(await store.getStreamMetadata('s-1')).toBeNull();
      const result = await store.append('s-1', [ev('New')], 'no_stream');
      expect(result.nextExpectedRevision).toBe(2n);
      await store.setStreamMetadata('s-1', { maxCount: 100 });
      expect(types(await collect(store.readStream('s-1')))).toEqual(['New']);
      expect(await store.getStreamMetadata('s-1')).toEqual({ maxCount: 100 });
    });

    it('recreates a soft-deleted stream with its last revision as expected revision; stream_exists answers deleted', async () => {
      await store.append('s-1', [ev(), ev()], 'no_stream');
      await store.deleteStream('s-1');
      const error = await failure(store.append('s-1', [ev()], 'stream_exists'));
      expect(error).toBeInstanceOf(StreamDeletedError);
      const wrong = await failure(store.append('s-1', [ev()], 0n));
      expect(wrong).toBeInstanceOf(WrongExpectedVersionError);
      expect((await store.append('s-1', [ev('Back')], 1n)).nextExpectedRevision).toBe(2n);
    });

    it('checks the expected revision of deletes', async () => {
      await store.append('s-1', [ev(), ev()], 'no_stream');
      expect(await failure(store.deleteStream('s-1', 0n))).toBeInstanceOf(WrongExpectedVersionError);
      expect(await failure(store.deleteStream('s-1', 'no_stream'))).toBeInstanceOf(WrongExpectedVersionError);
      expect(await failure(store.tombstoneStream('missing-1', 'stream_exists'))).toBeInstanceOf(WrongExpectedVersionError);
      await store.deleteStream('s-1', 1n);
      expect(await failure(store.readStream('s-1'))).toBeInstanceOf(StreamNotFoundError);
    });

    it('tombstones a stream that never existed, reserving its name; metadata calls then fail', async () => {
      await store.tombstoneStream('never-1', 'no_stream');
      expect(await failure(store.readStream('never-1'))).toBeInstanceOf(StreamDeletedError);
      expect(await failure(store.append('never-1', [ev()], 'no_stream'))).toBeInstanceOf(StreamDeletedError);
      expect(await failure(store.setStreamMetadata('never-1', { maxAge: 60 }))).toBeInstanceOf(StreamDeletedError);
      expect(await failure(store.getStreamMetadata('never-1'))).toBeInstanceOf(StreamDeletedError);
      expect(await failure(store.deleteStream('never-1'))).toBeInstanceOf(StreamDeletedError);
      expect(await failure(store.tombstoneStream('never-1'))).toBeInstanceOf(StreamDeletedError);
    });

    it('applies queued writes in call order (a delete issued after an append sees it)', async () => {
      const append = store.append('s-1', [ev()], 'no_stream');
      const del = store.deleteStream('s-1', 0n);
      await Promise.all([append, del]);
      expect(await failure(store.readStream('s-1'))).toBeInstanceOf(StreamNotFoundError);
    });
  });

  describe('readAll', () => {
    it('filters by prefix and by type across more positions than one scan window, exclusive of fromPosition', async () => {
      for (let i = 0; i < 10; i++) {
        await store.append(`noise-${i}`, Array.from({ length: 1000 }, (_, n) => ev('Noise', { n })), 'no_stream');
        if (i === 4 || i === 9) await store.append(`rare-${i}`, [ev('Rare', { n: i })], 'no_stream');
      }
      const rare = await collect(store.readAll({ filter: { streamPrefixes: ['rare-'] } }));
      expect(rare.map((e) => e.data.n)).toEqual([4, 9]);
      const byType = await collect(store.readAll({ filter: { eventTypes: ['Rare'] } }));
      expect(byType.map((e) => e.stream)).toEqual(['rare-4', 'rare-9']);
      const after = await collect(store.readAll({ fromPosition: rare[0].position, filter: { eventTypes: ['Rare'] } }));
      expect(after.map((e) => e.stream)).toEqual(['rare-9']);
      expect(await collect(store.readAll({ filter: { streamPrefixes: [] } }))).toEqual([]);
      const everything = await collect(store.readAll());
      expect(everything).toHaveLength(10_002);
      for (let i = 1; i < everything.length; i++) expect(everything[i].position.commit).toBe(everything[i - 1].position.commit + 1n);
      expect(everything[0].position.commit).toBe(everything[0].position.prepare);
      const limited = await collect(store.readAll({ fromPosition: everything[1499].position, maxCount: 3 }));
      expect(limited.map((e) => e.position.commit)).toEqual([1501n, 1502n, 1503n]);
    });

    it('reads back names, types and data that need JSON escaping exactly as appended (rows are read as one JSON text each)', async () => {
      const stream = 'we"ird\\stream,\n\u0000[✓ 𝄞]';
      const type = 'Odd"Type\\,]';
      const data = { text: 'a "quoted", back\\slash\n\u2028 ✓ 𝄞 \u0000', nested: { list: [1, -2.5, null, true, 'x'] }, big: 9007199254740991 };
      const metadata = { actor: 'system:"test"', occurredAt: '2026-01-05T02:00:00.000Z' };
      const id = randomUUID();
      await store.append('plain-1', [ev()], 'no_stream');
      await store.append(stream, [{ id, type, data, metadata }, ev()], 'no_stream');
      const expected = { id, stream, type, data, metadata, revision: 0n, position: { commit: 2n, prepare: 2n }, created: new Date('2026-01-05T02:00:00.000Z') };
      expect((await collect(store.readStream(stream)))[0]).toEqual(expected);
      expect((await collect(store.readStream(stream, { direction: 'backwards' })))[1]).toEqual(expected);
      expect((await collect(store.readAll()))[1]).toEqual(expected);
      expect(await collect(store.readAll({ filter: { eventTypes: [type] } }))).toEqual([expected]);
      expect(await collect(store.readAll({ filter: { streamPrefixes: ['we"ird\\'] } }))).toEqual([expected, expect.objectContaining({ revision: 1n })]);
      const subscription = store.subscribeAll({ filter: { eventTypes: [type] } });
      const first = await subscription[Symbol.asyncIterator]().next();
      await subscription.close();
      expect(first.value?.events).toEqual([expected]);
    });

    it('treats stream prefixes literally (no LIKE wildcards) and case-sensitively', async () => {
      await store.append('a_b-1', [ev()], 'no_stream');
      await store.append('axb-1', [ev()], 'no_stream');
      await store.append('A_b-2', [ev()], 'no_stream');
      const found = await collect(store.readAll({ filter: { streamPrefixes: ['a_b'] } }));
      expect(found.map((e) => e.stream)).toEqual(['a_b-1']);
    });

    it('lets other work run while it reads a long log (one page per event-loop turn)', async () => {
      await store.append('s-1', Array.from({ length: 1000 }, () => ev()), 'no_stream');
      await store.append('s-1', Array.from({ length: 1000 }, () => ev()), 999n);
      let turns = 0;
      const ticker = setInterval(() => turns++, 0);
      let read = 0;
      for await (const _ of store.readAll()) read++;
      clearInterval(ticker);
      expect(read).toBe(2000);
      expect(turns).toBeGreaterThan(0);
    });
  });

  describe('typeShares', () => {
    it('estimates each type\'s share of the log from one event in each equal slice of it; nothing for an empty log', async () => {
      expect(store.typeShares()).toEqual(new Map());
      // 300 events: every third an A, the rest B.
      for (let k = 0; k < 100; k++) await store.append(`s-${k}`, [ev('A'), ev('B'), ev('B')], 'no_stream');
      const all = store.typeShares(300);
      expect(all.get('A')).toBeCloseTo(1 / 3, 5);
      expect(all.get('B')).toBeCloseTo(2 / 3, 5);
      const sampled = store.typeShares(50);
      expect([...sampled.keys()].sort()).toEqual(['A', 'B']);
      expect((sampled.get('A') ?? 0) + (sampled.get('B') ?? 0)).toBeCloseTo(1, 9);
      expect(sampled.get('A')).toBeGreaterThan(0.2);
      expect(sampled.get('A')).toBeLessThan(0.45);
    });
  });

  describe('positions, persistence and lifecycle', () => {
    it('never hands out a position twice, even after the newest events were purged', async () => {
      await store.append('keep-1', [ev()], 'no_stream');
      const gone = await store.append('gone-1', [ev(), ev()], 'no_stream');
      await store.tombstoneStream('gone-1');
      await store.purge();
      expect((await store.headPosition())?.commit).toBe(1n);
      const next = await store.append('keep-1', [ev()], 0n);
      expect(next.position.commit).toBe(gone.position.commit + 1n);
    });

    it('keeps everything across a reopen', async () => {
      await store.append('s-1', [ev('A')], 'no_stream');
      await store.setStreamMetadata('s-1', { maxAge: 3600 });
      await store.tombstoneStream('t-1');
      await store.close();
      store = new SqliteEventStore({ file, clock });
      expect(types(await collect(store.readStream('s-1')))).toEqual(['A']);
      expect(await store.getStreamMetadata('s-1')).toEqual({ maxAge: 3600 });
      expect(await failure(store.readStream('t-1'))).toBeInstanceOf(StreamDeletedError);
      expect((await store.append('s-1', [ev('B')], 0n)).position.commit).toBe(2n);
    });

    it('writes queued appends on close, then refuses everything with EventStoreUnavailableError', async () => {
      const pending = store.append('s-1', [ev('Last')], 'no_stream');
      await store.close();
      expect((await pending).nextExpectedRevision).toBe(0n);
      expect(await failure(store.append('s-1', [ev()], 'any'))).toBeInstanceOf(EventStoreUnavailableError);
      expect(await failure(store.checkHealth())).toBeInstanceOf(EventStoreUnavailableError);
      expect(await failure(store.readAll())).toBeInstanceOf(EventStoreUnavailableError);
      const reopened = new SqliteEventStore({ file, clock });
      expect(types(await collect(reopened.readStream('s-1')))).toEqual(['Last']);
      await reopened.close();
    });

    it('writes a WAL-mode file other connections can read; creates missing folders; opens with synchronous NORMAL too', async () => {
      await store.append('s-1', [ev()], 'no_stream');
      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 1 });
      } finally {
        db.close();
      }
      const normal = new SqliteEventStore({ file: join(dir, 'data', 'nested', 'normal.sqlite'), clock, synchronous: 'NORMAL' });
      await normal.checkHealth();
      await normal.close();
    });
  });
});
