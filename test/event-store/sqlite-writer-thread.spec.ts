/**
 * The embedded store with its write transactions on the writer thread: the group commit (many
 * concurrent appends, few transactions, each caller its own answer or refusal), a failed batch
 * (nothing kept, every caller its own EventStoreUnavailableError, recovery), purge through the
 * thread, a writer thread that dies (the writes in flight fail as unavailable, the next write
 * starts a new thread), and close. Runs the compiled writer script: needs the build.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { EventStoreUnavailableError, WrongExpectedVersionError } from '../../src/modules/event-store/event-store.errors';
import type { AppendResult, EventToAppend } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { WRITER_SCRIPT, WRITER_SCRIPT_SOURCES } from '../contract/event-store.sqlite-thread.spec';
import { buildProblem } from '../support/service-process';

const problem = buildProblem('dist/src/modules/event-store/sqlite/sqlite-writer.worker.js', WRITER_SCRIPT_SOURCES);
if (problem) console.warn(`[sqlite-writer-thread.spec] skipped: ${problem}`);

const ev = (type = 'ThingHappened'): EventToAppend => ({ id: randomUUID(), type, data: { n: 1 }, metadata: { schemaVersion: 1 } });

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe.skipIf(problem !== null)('SqliteEventStore with the writer thread', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let store: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-writer-thread-'));
    file = join(dir, 'events.sqlite');
    clock = new ManualClock();
    store = new SqliteEventStore({ file, clock, busyTimeoutMs: 50, writer: 'thread', writerScript: WRITER_SCRIPT });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes 200 concurrent appends in fewer transactions than appends, each caller getting its own result, readable at once', async () => {
    const before = store.stats.writeTransactions;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.append(`s-${i}`, [ev(), ev()], 'no_stream')));
    expect(store.stats.writeTransactions - before).toBeLessThan(200);
    expect(results.every((r) => r.nextExpectedRevision === 1n)).toBe(true);
    expect(new Set(results.map((r) => r.position.commit)).size).toBe(200);
    // Acknowledged means committed: the main thread's reads see it.
    const stored = await collect(store.readStream('s-42'));
    expect(stored.at(-1)?.position).toEqual(results[42].position);
    expect(await store.headPosition()).toEqual({ commit: 400n, prepare: 400n });
  });

  it('refuses only the conflicting caller of a batch; later appends to the same stream see the earlier ones', async () => {
    const outcomes = await Promise.allSettled([
      store.append('s-1', [ev('A')], 'no_stream'),
      store.append('s-1', [ev('B')], 0n),
      store.append('s-1', [ev('Conflict')], 0n),
      store.append('s-1', [ev('C')], 1n),
      store.append('s-1', [ev('D')], 'stream_exists'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const conflict = (outcomes[2] as PromiseRejectedResult).reason as WrongExpectedVersionError;
    expect(conflict).toBeInstanceOf(WrongExpectedVersionError);
    expect(conflict.actual).toBe(1n);
    expect((outcomes[4] as PromiseFulfilledResult<AppendResult>).value.nextExpectedRevision).toBe(3n);
    expect((await collect(store.readStream('s-1'))).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
    await store.tombstoneStream('s-1');
    await expect(store.append('s-1', [ev()], 'any')).rejects.toMatchObject({ name: 'StreamDeletedError' });
  });

  it('keeps nothing of a batch whose transaction fails half-way, fails each caller as unavailable, and recovers', async () => {
    const other = new Database(file);
    other.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.type = 'Boom'
                BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    const outcomes = await Promise.allSettled([
      store.append('s-1', [ev('Fine')], 'no_stream'),
      store.append('s-2', [ev('Boom')], 'no_stream'),
      store.append('s-3', [ev('Fine')], 'no_stream'),
    ]);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof EventStoreUnavailableError)).toBe(true);
    expect(await store.headPosition()).toBeNull();
    other.exec('DROP TRIGGER refuse_boom');
    other.close();
    expect((await store.append('s-1', [ev('Fine')], 'no_stream')).position.commit).toBe(1n);
  });

  it('a write lock held elsewhere: unavailable (SQLITE_BUSY, transient), then the store works again', async () => {
    await store.append('s-0', [ev()], 'no_stream');
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const refused = await store.append('s-1', [ev()], 'no_stream').catch((error: unknown) => error);
    other.exec('ROLLBACK');
    other.close();
    expect(refused).toBeInstanceOf(EventStoreUnavailableError);
    expect(store.isTransient(refused)).toBe(true);
    expect((await store.append('s-0', [ev()], 0n)).nextExpectedRevision).toBe(1n);
  });

  it('purges through the writer thread: hidden events leave the file, visible ones stay', async () => {
    await store.append('keep', [ev(), ev()], 'no_stream');
    await store.append('gone', [ev(), ev(), ev()], 'no_stream');
    await store.tombstoneStream('gone');
    await store.setStreamMetadata('keep', { truncateBefore: 1n });
    const result = await store.purge();
    expect(result).toEqual({ mode: 'removed', removedEvents: 4 });
    expect((await collect(store.readAll())).map((e) => `${e.stream}@${e.revision}`)).toEqual(['keep@1']);
  });

  it('a writer thread that dies fails the writes in flight as unavailable (outcome unknown); a retry with the same ids settles it exactly once', async () => {
    await store.append('s-0', [ev()], 'no_stream');
    const channel = (store as unknown as { channel: { worker: { terminate(): Promise<number> } | null } }).channel;
    const events = [ev('Once')];
    const inFlight = store.append('s-1', events, 'no_stream');
    await new Promise((resolve) => setImmediate(resolve)); // the batch is at the writer
    await channel.worker?.terminate();
    const outcome = await inFlight.then(
      (result) => result,
      (error: unknown) => error,
    );
    // The commit may have won the race with the kill: a refusal here means "unknown", as with a
    // network store, and the idempotent retry (same event ids) answers without a second copy.
    if (!(outcome instanceof EventStoreUnavailableError)) expect((outcome as AppendResult).nextExpectedRevision).toBe(0n);
    const retried = await store.append('s-1', events, 'no_stream');
    expect(retried.nextExpectedRevision).toBe(0n);
    expect((await collect(store.readStream('s-1'))).map((e) => e.id)).toEqual([events[0].id]);
    expect((await store.append('s-2', [ev()], 'no_stream')).nextExpectedRevision).toBe(0n);
  });

  it('close writes what is queued, then ends the thread; later writes are refused', async () => {
    const pending = Array.from({ length: 20 }, (_, i) => store.append(`q-${i}`, [ev()], 'no_stream'));
    await store.close();
    expect((await Promise.all(pending)).length).toBe(20);
    await expect(store.append('late', [ev()], 'no_stream')).rejects.toBeInstanceOf(EventStoreUnavailableError);
    const reopened = new SqliteEventStore({ file, clock, writer: 'thread', writerScript: WRITER_SCRIPT });
    try {
      expect(await collect(reopened.readAll())).toHaveLength(20);
    } finally {
      await reopened.close();
    }
  });
});
