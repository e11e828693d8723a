/**
 * The EventStore port's contract: one suite, run against every adapter
 * (SQLite, EventStoreDB through the real client against the in-process gRPC test server,
 * and a real EventStoreDB node when EVENTSTORE_CONNECTION_STRING is set).
 *
 * Every test works in streams of its own (a random category per run), so the suite also runs
 * against a shared real node that holds other data.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  comparePositions,
  type EventStore,
  type EventToAppend,
  type Position,
  type StoredEvent,
  type SubscriptionBatch,
} from '../../src/modules/event-store/event-store.port';
import {
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../../src/modules/event-store/event-store.errors';

export interface EventStoreFixture {
  readonly store: EventStore;
  /**
   * Moves the store's notion of time forward by `ms` (a manual clock for the embedded store, the
   * test server's clock, or a real wait on a real node). Used for maxAge.
   */
  advanceTime(ms: number): Promise<void>;
  teardown(): Promise<void>;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function readError(iterable: AsyncIterable<unknown>): Promise<unknown> {
  try {
    await collect(iterable);
  } catch (error) {
    return error;
  }
  return undefined;
}

async function appendError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Reads a subscription until `until` says stop (or times out), returning every batch seen. */
async function readSubscription(
  iterable: AsyncIterable<SubscriptionBatch> & { close(): Promise<void> },
  until: (events: StoredEvent[], batches: SubscriptionBatch[]) => boolean,
  onBatch?: (batch: SubscriptionBatch) => Promise<void> | void,
  timeoutMs = 15_000,
): Promise<{ events: StoredEvent[]; batches: SubscriptionBatch[] }> {
  const events: StoredEvent[] = [];
  const batches: SubscriptionBatch[] = [];
  const timer = setTimeout(() => void iterable.close(), timeoutMs);
  try {
    for await (const batch of iterable) {
      batches.push(batch);
      events.push(...batch.events);
      if (onBatch) await onBatch(batch);
      if (until(events, batches)) break;
    }
  } finally {
    clearTimeout(timer);
    await iterable.close();
  }
  return { events, batches };
}

export function eventStoreContract(name: string, createFixture: () => Promise<EventStoreFixture>): void {
  describe(`EventStore contract: ${name}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;
    // A category unique to this run: `c<hex>` (no dashes inside a category).
    const category = `c${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const stream = (label: string = randomUUID()): string => `${category}-${label}`;
    const ev = (type = 'ThingHappened', data: Record<string, unknown> = { n: 1 }): EventToAppend => ({
      id: randomUUID(),
      type,
      data: data as EventToAppend['data'],
      metadata: { occurredAt: '2026-01-05T02:00:00.000Z', actor: 'system:test', correlationId: randomUUID(), causationId: null, schemaVersion: 1 },
    });
    const ours = (events: readonly StoredEvent[]) => events.filter((e) => e.stream.startsWith(`${category}-`));

    beforeAll(async () => {
      fixture = await createFixture();
      store = fixture.store;
    });
    afterAll(async () => {
      await fixture?.teardown();
    });

    describe('append and expected revisions', () => {
      it('creates a stream with no_stream, numbering revisions from 0, and reads back what was written', async () => {
        const s = stream();
        const events = [ev('A', { text: 'héllo ✓', nested: { list: [1, 2, { deep: true }] }, nothing: null }), ev('B')];
        const result = await store.append(s, events, 'no_stream');
        expect(result.nextExpectedRevision).toBe(1n);
        const read = await collect(store.readStream(s));
        expect(read.map((e) => e.revision)).toEqual([0n, 1n]);
        expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
        expect(read.map((e) => e.type)).toEqual(['A', 'B']);
        expect(read[0].stream).toBe(s);
        expect(read[0].data).toEqual(events[0].data);
        expect(read[0].metadata).toEqual(events[0].metadata);
        expect(read[0].created).toBeInstanceOf(Date);
        expect(Number.isNaN(read[0].created.getTime())).toBe(false);
        expect(comparePositions(read[1].position, result.position)).toBe(0);
        expect(comparePositions(read[0].position, read[1].position)).toBe(-1);
      });

      it('refuses no_stream on an existing stream with the actual revision', async () => {
        const s = stream();
        await store.append(s, [ev(), ev()], 'no_stream');
        const error = await appendError(store.append(s, [ev()], 'no_stream'));
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect((error as WrongExpectedVersionError).actual).toBe(1n);
        expect((error as WrongExpectedVersionError).stream).toBe(s);
        expect(await collect(store.readStream(s))).toHaveLength(2);
      });

      it('refuses stream_exists on a missing stream, accepts it on an existing one', async () => {
        const s = stream();
        const error = await appendError(store.append(s, [ev()], 'stream_exists'));
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect((error as WrongExpectedVersionError).actual).toBe('no_stream');
        await store.append(s, [ev()], 'no_stream');
        const result = await store.append(s, [ev()], 'stream_exists');
        expect(result.nextExpectedRevision).toBe(1n);
      });

      it('checks an exact expected revision and writes nothing of a refused multi-event append', async () => {
        const s = stream();
        await store.append(s, [ev()], 'no_stream');
        expect((await store.append(s, [ev(), ev()], 0n)).nextExpectedRevision).toBe(2n);
        const error = await appendError(store.append(s, [ev(), ev(), ev()], 1n));
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect((error as WrongExpectedVersionError).actual).toBe(2n);
        const missing = await appendError(store.append(stream(), [ev()], 0n));
        expect(missing).toBeInstanceOf(WrongExpectedVersionError);
        expect((missing as WrongExpectedVersionError).actual).toBe('no_stream');
        expect(await collect(store.readStream(s))).toHaveLength(3);
      });

      it('appends with any whatever the state', async () => {
        const s = stream();
        expect((await store.append(s, [ev()], 'any')).nextExpectedRevision).toBe(0n);
        expect((await store.append(s, [ev(), ev()], 'any')).nextExpectedRevision).toBe(2n);
      });

      it('lets exactly one of two racing appends at the same expected revision win', async () => {
        const s = stream();
        await store.append(s, [ev()], 'no_stream');
        const results = await Promise.allSettled([store.append(s, [ev('X')], 0n), store.append(s, [ev('Y')], 0n)]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(rejected.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect(await collect(store.readStream(s))).toHaveLength(2);
      });
    });

    describe('idempotent re-append', () => {
      it('re-appending the same ids with no_stream is a no-op answering the first result', async () => {
        const s = stream();
        const events = [ev(), ev()];
        const first = await store.append(s, events, 'no_stream');
        const again = await store.append(s, events, 'no_stream');
        expect(again.nextExpectedRevision).toBe(first.nextExpectedRevision);
        expect(await collect(store.readStream(s))).toHaveLength(2);
      });

      it('re-appending the same ids at the same exact revision is a no-op', async () => {
        const s = stream();
        await store.append(s, [ev()], 'no_stream');
        const retry = [ev('Retried')];
        const first = await store.append(s, retry, 0n);
        const again = await store.append(s, retry, 0n);
        expect(again.nextExpectedRevision).toBe(1n);
        expect(first.nextExpectedRevision).toBe(1n);
        const read = await collect(store.readStream(s));
        expect(read.map((e) => e.type)).toEqual(['ThingHappened', 'Retried']);
      });
    });

    describe('readStream', () => {
      it('reads forwards from a revision and backwards from the end, with maxCount', async () => {
        const s = stream();
        await store.append(s, [0, 1, 2, 3, 4].map((n) => ev('N', { n })), 'no_stream');
        const forwards = await collect(store.readStream(s, { fromRevision: 2n }));
        expect(forwards.map((e) => e.data.n)).toEqual([2, 3, 4]);
        const limited = await collect(store.readStream(s, { maxCount: 2 }));
        expect(limited.map((e) => e.data.n)).toEqual([0, 1]);
        const backwards = await collect(store.readStream(s, { direction: 'backwards', fromRevision: 'end', maxCount: 2 }));
        expect(backwards.map((e) => e.revision)).toEqual([4n, 3n]);
        const backFrom = await collect(store.readStream(s, { direction: 'backwards', fromRevision: 2n }));
        expect(backFrom.map((e) => e.revision)).toEqual([2n, 1n, 0n]);
      });

      it('throws StreamNotFoundError for a stream that never existed', async () => {
        expect(await readError(store.readStream(stream()))).toBeInstanceOf(StreamNotFoundError);
      });
    });

    describe('readAll', () => {
      it('returns every event in log order with increasing positions, resumable (exclusive) from any position', async () => {
        const head = await store.headPosition();
        const a = stream('a' + randomUUID());
        const b = stream('b' + randomUUID());
        await store.append(a, [ev('A1'), ev('A2')], 'no_stream');
        await store.append(b, [ev('B1')], 'no_stream');
        await store.append(a, [ev('A3')], 1n);
        const all = ours(await collect(store.readAll({ fromPosition: head ?? 'start' })));
        const mine = all.filter((e) => e.stream === a || e.stream === b);
        expect(mine.map((e) => e.type)).toEqual(['A1', 'A2', 'B1', 'A3']);
        for (let i = 1; i < mine.length; i++) expect(comparePositions(mine[i - 1].position, mine[i].position)).toBe(-1);
        const resumed = await collect(store.readAll({ fromPosition: mine[1].position, filter: { streamPrefixes: [a, b] } }));
        expect(resumed.map((e) => e.type)).toEqual(['B1', 'A3']);
        const headNow = await store.headPosition();
        expect(headNow).not.toBeNull();
        expect(comparePositions(headNow as Position, mine[3].position)).toBe(0);
      });

      it('honours maxCount and filters by stream prefix or by event type', async () => {
        const head = await store.headPosition();
        const prefix = `${category}-f${randomUUID().slice(0, 8)}`;
        await store.append(`${prefix}x`, [ev('Keep'), ev('Drop')], 'no_stream');
        await store.append(`${prefix}y`, [ev('Keep')], 'no_stream');
        await store.append(stream(), [ev('Keep')], 'no_stream');
        const byPrefix = await collect(store.readAll({ fromPosition: head ?? 'start', filter: { streamPrefixes: [prefix] } }));
        expect(byPrefix.map((e) => e.type)).toEqual(['Keep', 'Drop', 'Keep']);
        const limited = await collect(store.readAll({ fromPosition: head ?? 'start', filter: { streamPrefixes: [prefix] }, maxCount: 2 }));
        expect(limited).toHaveLength(2);
        const byType = ours(await collect(store.readAll({ fromPosition: head ?? 'start', filter: { eventTypes: ['Drop'] } })));
        expect(byType.map((e) => e.type)).toEqual(['Drop']);
      });

      it('never returns system events ($-prefixed), such as stream metadata', async () => {
        const head = await store.headPosition();
        const s = stream();
        await store.append(s, [ev()], 'no_stream');
        await store.setStreamMetadata(s, { maxCount: 10 });
        const all = await collect(store.readAll({ fromPosition: head ?? 'start' }));
        expect(all.some((e) => e.type.startsWith('$') || e.stream.startsWith('$'))).toBe(false);
      });
    });

    describe('subscribeAll', () => {
      it('catches up, switches to live, and resumes exclusively from a checkpoint', async () => {
        const prefix = `${category}-sub${randomUUID().slice(0, 8)}`;
        await store.append(`${prefix}-1`, [ev('S1'), ev('S2'), ev('S3')], 'no_stream');
        const sub = store.subscribeAll({ fromPosition: 'start', filter: { streamPrefixes: [prefix] } });
        let appendedLive = false;
        const { events, batches } = await readSubscription(
          sub,
          (seen) => seen.length >= 5,
          async (batch) => {
            if (batch.caughtUp && !appendedLive) {
              appendedLive = true;
              await store.append(`${prefix}-2`, [ev('L1')], 'no_stream');
              await store.append(`${prefix}-1`, [ev('L2')], 2n);
            }
          },
        );
        expect(events.map((e) => e.type)).toEqual(['S1', 'S2', 'S3', 'L1', 'L2']);
        const switchIndex = batches.findIndex((b) => b.caughtUp);
        expect(switchIndex).toBeGreaterThanOrEqual(0);
        const beforeSwitch = batches.slice(0, switchIndex + 1).flatMap((b) => b.events.map((e) => e.type));
        expect(beforeSwitch).toEqual(['S1', 'S2', 'S3']);

        // Resume from the checkpoint of the 4th event: only the 5th comes, then caught up.
        const resumed = store.subscribeAll({ fromPosition: events[3].position, filter: { streamPrefixes: [prefix] } });
        const again = await readSubscription(resumed, (_seen, seenBatches) => seenBatches.some((b) => b.caughtUp));
        expect(again.events.map((e) => e.type)).toEqual(['L2']);
      });

      it('delivers an empty caught-up batch when there is nothing to catch up on', async () => {
        const prefix = `${category}-empty${randomUUID().slice(0, 8)}`;
        const sub = store.subscribeAll({ fromPosition: 'start', filter: { streamPrefixes: [prefix] } });
        const { events, batches } = await readSubscription(sub, (_e, seen) => seen.some((b) => b.caughtUp));
        expect(events).toHaveLength(0);
        expect(batches.some((b) => b.caughtUp)).toBe(true);
      });

      it('has no gap and no duplicate while appends race the switch from catch-up to live', async () => {
        const prefix = `${category}-race${randomUUID().slice(0, 8)}`;
        const total = 300;
        await store.append(`${prefix}-0`, Array.from({ length: 50 }, (_, n) => ev('R', { n })), 'no_stream');
        const writer = (async () => {
          for (let n = 50; n < total; n += 10) {
            await store.append(`${prefix}-${n}`, Array.from({ length: 10 }, (_, i) => ev('R', { n: n + i })), 'no_stream');
          }
        })();
        const sub = store.subscribeAll({ fromPosition: 'start', filter: { streamPrefixes: [prefix] } });
        const { events } = await readSubscription(sub, (seen) => seen.length >= total, undefined, 30_000);
        await writer;
        expect(events.map((e) => e.data.n)).toEqual(Array.from({ length: total }, (_, n) => n));
        for (let i = 1; i < events.length; i++) expect(comparePositions(events[i - 1].position, events[i].position)).toBe(-1);
      });

      it('filters live events by event type', async () => {
        const prefix = `${category}-typ${randomUUID().slice(0, 8)}`;
        const wanted = `Wanted${randomUUID().replace(/-/g, '').slice(0, 8)}`;
        const sub = store.subscribeAll({ fromPosition: (await store.headPosition()) ?? 'start', filter: { eventTypes: [wanted] } });
        let appended = false;
        const { events } = await readSubscription(
          sub,
          (seen) => seen.length >= 2,
          async (batch) => {
            if (batch.caughtUp && !appended) {
              appended = true;
              await store.append(`${prefix}-1`, [ev(wanted), ev('Other'), ev(wanted)], 'no_stream');
            }
          },
        );
        expect(events.map((e) => e.type)).toEqual([wanted, wanted]);
      });
    });

    describe('stream metadata', () => {
      it('stores and returns maxAge, maxCount and truncateBefore', async () => {
        const s = stream();
        await store.append(s, [ev()], 'no_stream');
        expect(await store.getStreamMetadata(s)).toBeNull();
        await store.setStreamMetadata(s, { maxAge: 604_800, maxCount: 100, truncateBefore: 0n });
        const meta = await store.getStreamMetadata(s);
        expect(meta?.maxAge).toBe(604_800);
        expect(meta?.maxCount).toBe(100);
        expect(meta?.truncateBefore).toBe(0n);
      });

      it('hides events below truncateBefore and beyond maxCount from stream reads, but not from readAll before a purge', async () => {
        const head = await store.headPosition();
        const t = stream();
        await store.append(t, [0, 1, 2, 3].map((n) => ev('N', { n })), 'no_stream');
        await store.setStreamMetadata(t, { truncateBefore: 2n });
        expect((await collect(store.readStream(t))).map((e) => e.data.n)).toEqual([2, 3]);
        const c = stream();
        await store.append(c, [0, 1, 2, 3].map((n) => ev('N', { n })), 'no_stream');
        await store.setStreamMetadata(c, { maxCount: 1 });
        expect((await collect(store.readStream(c))).map((e) => e.data.n)).toEqual([3]);
        const all = await collect(store.readAll({ fromPosition: head ?? 'start', filter: { streamPrefixes: [t, c] } }));
        expect(all).toHaveLength(8);
      });

      it('hides events older than maxAge from stream reads once that time has passed', async () => {
        const s = stream();
        await store.append(s, [ev('Old')], 'no_stream');
        await store.setStreamMetadata(s, { maxAge: 2 });
        expect(await collect(store.readStream(s))).toHaveLength(1);
        await fixture.advanceTime(3_500);
        await store.append(s, [ev('Fresh')], 0n);
        const visible = await collect(store.readStream(s));
        expect(visible.map((e) => e.type)).toEqual(['Fresh']);
      });
    });

    describe('deletion', () => {
      it('soft delete: reads as not found; appending again recreates it with revisions continuing', async () => {
        const s = stream();
        await store.append(s, [ev(), ev()], 'no_stream');
        await store.deleteStream(s);
        expect(await readError(store.readStream(s))).toBeInstanceOf(StreamNotFoundError);
        const result = await store.append(s, [ev('Reborn')], 'any');
        expect(result.nextExpectedRevision).toBe(2n);
        const read = await collect(store.readStream(s));
        expect(read.map((e) => [e.type, e.revision])).toEqual([['Reborn', 2n]]);
      });

      it('tombstone: reads and appends fail with StreamDeletedError for ever', async () => {
        const s = stream();
        await store.append(s, [ev()], 'no_stream');
        await store.tombstoneStream(s);
        expect(await readError(store.readStream(s))).toBeInstanceOf(StreamDeletedError);
        expect(await appendError(store.append(s, [ev()], 'any'))).toBeInstanceOf(StreamDeletedError);
        expect(await appendError(store.append(s, [ev()], 'no_stream'))).toBeInstanceOf(StreamDeletedError);
      });

      it('purge removes what metadata and deletes hide, and leaves visible events alone', async () => {
        const head = await store.headPosition();
        const truncated = stream();
        const deleted = stream();
        const tombstoned = stream();
        const kept = stream();
        await store.append(truncated, [ev('T0'), ev('T1'), ev('T2')], 'no_stream');
        await store.setStreamMetadata(truncated, { truncateBefore: 2n });
        await store.append(deleted, [ev('D0')], 'no_stream');
        await store.deleteStream(deleted);
        await store.append(tombstoned, [ev('X0')], 'no_stream');
        await store.tombstoneStream(tombstoned);
        await store.append(kept, [ev('K0'), ev('K1')], 'no_stream');

        const result = await store.purge();
        expect(['removed', 'scavenge-started']).toContain(result.mode);

        expect((await collect(store.readStream(truncated))).map((e) => e.type)).toEqual(['T2']);
        expect(await readError(store.readStream(deleted))).toBeInstanceOf(StreamNotFoundError);
        expect(await readError(store.readStream(tombstoned))).toBeInstanceOf(StreamDeletedError);
        expect((await collect(store.readStream(kept))).map((e) => e.type)).toEqual(['K0', 'K1']);
        expect(await appendError(store.append(tombstoned, [ev()], 'any'))).toBeInstanceOf(StreamDeletedError);

        if (store.capabilities.physicalPurge) {
          expect(result.mode).toBe('removed');
          expect(result.removedEvents).toBeGreaterThanOrEqual(4);
          const all = await collect(
            store.readAll({ fromPosition: head ?? 'start', filter: { streamPrefixes: [truncated, deleted, tombstoned, kept] } }),
          );
          expect(all.map((e) => e.type)).toEqual(['T2', 'K0', 'K1']);
        } else {
          expect(result.mode).toBe('scavenge-started');
        }
      });
    });

    describe('health', () => {
      it('answers a health check', async () => {
        await expect(store.checkHealth()).resolves.toBeUndefined();
      });
    });
  });
}
