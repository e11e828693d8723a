import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.port';
import type { AllSubscription, EventToAppend, StoredEvent, SubscriptionBatch } from '../event-store.port';
import { SqliteEventStore } from './sqlite-event-store';

const ev = (n: number): EventToAppend => ({ id: randomUUID(), type: 'Counted', data: { n }, metadata: { schemaVersion: 1 } });

const many = (from: number, count: number) => Array.from({ length: count }, (_, i) => ev(from + i));

/** Reads batches until `until` holds; the subscription is always closed afterwards. */
async function readUntil(
  subscription: AllSubscription,
  until: (events: StoredEvent[], batches: SubscriptionBatch[]) => boolean,
  onBatch?: (batch: SubscriptionBatch, batches: SubscriptionBatch[]) => Promise<void> | void,
): Promise<{ events: StoredEvent[]; batches: SubscriptionBatch[] }> {
  const events: StoredEvent[] = [];
  const batches: SubscriptionBatch[] = [];
  try {
    for await (const batch of subscription) {
      batches.push(batch);
      events.push(...batch.events);
      if (onBatch) await onBatch(batch, batches);
      if (until(events, batches)) break;
    }
  } finally {
    await subscription.close();
  }
  return { events, batches };
}

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('SqliteAllSubscription', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let store: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-subscription-'));
    file = join(dir, 'events.sqlite');
    clock = new ManualClock();
    // A poll interval far longer than any test: live delivery here can only come from the commit signal.
    store = new SqliteEventStore({ file, clock, pollIntervalMs: 600_000 });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('catches up page by page, marks the page that reaches the head, then goes live on the commit signal', async () => {
    await store.append('s-1', many(0, 1000), 'no_stream');
    await store.append('s-1', many(1000, 1000), 999n);
    await store.append('s-2', many(2000, 500), 'no_stream');
    let appended = false;
    const { events, batches } = await readUntil(
      store.subscribeAll(),
      (seen) => seen.length >= 2501,
      async (batch) => {
        if (batch.caughtUp && !appended) {
          appended = true;
          await store.append('s-3', [ev(2500)], 'no_stream');
        }
      },
    );
    expect(batches.map((b) => [b.events.length, b.caughtUp])).toEqual([
      [1000, false],
      [1000, false],
      [500, true],
      [1, true],
    ]);
    expect(events.map((e) => e.data.n)).toEqual(Array.from({ length: 2501 }, (_, n) => n));
  });

  it('sends an empty caught-up batch when the last catch-up page ended exactly at the head', async () => {
    await store.append('s-1', many(0, 1000), 'no_stream');
    const { batches } = await readUntil(store.subscribeAll(), (_e, seen) => seen.some((b) => b.caughtUp));
    expect(batches.map((b) => [b.events.length, b.caughtUp])).toEqual([
      [1000, false],
      [0, true],
    ]);
  });

  it('resumes exclusively from a position, with a filter', async () => {
    await store.append('keep-1', many(0, 3), 'no_stream');
    await store.append('skip-1', many(100, 3), 'no_stream');
    await store.append('keep-1', many(3, 3), 2n);
    const [, second] = await (async () => {
      const out: StoredEvent[] = [];
      for await (const e of store.readAll({ filter: { streamPrefixes: ['keep-'] } })) out.push(e);
      return out;
    })();
    const { events } = await readUntil(
      store.subscribeAll({ fromPosition: second.position, filter: { streamPrefixes: ['keep-'] } }),
      (_e, seen) => seen.some((b) => b.caughtUp),
    );
    expect(events.map((e) => e.data.n)).toEqual([2, 3, 4, 5]);
  });

  it('sees, by polling, the events another SqliteEventStore instance writes to the same file, without gap or duplicate', async () => {
    const polling = new SqliteEventStore({ file, clock, pollIntervalMs: 20 });
    const other = new SqliteEventStore({ file, clock, pollIntervalMs: 20 });
    try {
      await polling.append('mine-1', [ev(0)], 'no_stream');
      const total = 201;
      const writers = async () => {
        // The two instances write in turn, each with its own expected revisions.
        for (let i = 1; i < total; i += 20) {
          const writer = (i - 1) % 40 === 0 ? other : polling;
          await writer.append(`w-${i}`, many(i, 20), 'no_stream');
        }
      };
      let started: Promise<void> | undefined;
      const { events } = await readUntil(
        polling.subscribeAll(),
        (seen) => seen.length >= total,
        (batch) => {
          if (batch.caughtUp && !started) started = writers();
        },
      );
      await started;
      expect(events.map((e) => e.data.n)).toEqual(Array.from({ length: total }, (_, n) => n));
      for (let i = 1; i < events.length; i++) expect(events[i].position.commit).toBeGreaterThan(events[i - 1].position.commit);

      // And a subscriber that only ever hears about the other process's commits by polling.
      const onlyOther = polling.subscribeAll({ fromPosition: events[total - 1].position });
      const seen = await readUntil(
        onlyOther,
        (e) => e.length >= 1,
        async (batch) => {
          if (batch.caughtUp && batch.events.length === 0) await other.append('from-other-1', [ev(999)], 'no_stream');
        },
      );
      expect(seen.events.map((e) => e.data.n)).toEqual([999]);
    } finally {
      await polling.close();
      await other.close();
    }
  });

  it('ends a waiting iteration promptly on close() and releases its poll timer', async () => {
    const subscription = store.subscribeAll();
    const iterator = subscription[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toEqual({ events: [], caughtUp: true });
    const baseline = timeouts();
    const waiting = iterator.next();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(timeouts()).toBe(baseline + 1);
    await subscription.close();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(timeouts()).toBe(baseline);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('ends every subscription when the store closes', async () => {
    const subscription = store.subscribeAll();
    const done = readUntil(subscription, () => false);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await store.close();
    const { batches } = await done;
    expect(batches).toEqual([{ events: [], caughtUp: true }]);
  });

  it('stops being notified after the consumer breaks out of the loop', async () => {
    await store.append('s-1', [ev(0)], 'no_stream');
    const subscription = store.subscribeAll();
    for await (const batch of subscription) {
      expect(batch.caughtUp).toBe(true);
      break;
    }
    expect(await subscription[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    await store.append('s-1', [ev(1)], 0n);
  });
});
