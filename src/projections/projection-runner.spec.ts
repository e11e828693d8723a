import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../modules/clock/clock.port';
import type { EventToAppend, StoredEvent } from '../modules/event-store/event-store.port';
import { SqliteEventStore } from '../modules/event-store/sqlite/sqlite-event-store';
import type { Projection } from './projection';
import { CheckpointsMovedError, ProjectionApplier } from './projection-applier';
import { ProjectionRunner } from './projection-runner';
import { openReadModelDatabase } from './read-model-database';

/** Counts events per type and remembers every position: a double or missing application shows at once. */
function counter(name: string, types: readonly string[], version = 1, onApply?: (event: StoredEvent) => void): Projection {
  return {
    name,
    version,
    eventTypes: types,
    tables: [
      { name: `${name}_counts`, orderBy: 'type' },
      { name: `${name}_seen`, orderBy: 'position' },
    ],
    setup(db) {
      db.exec(`CREATE TABLE IF NOT EXISTS ${name}_counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
      db.exec(`CREATE TABLE IF NOT EXISTS ${name}_seen (position INTEGER PRIMARY KEY)`);
    },
    apply(db, event) {
      onApply?.(event);
      db.prepare(`INSERT INTO ${name}_counts (type, n) VALUES (?, 1) ON CONFLICT(type) DO UPDATE SET n = n + 1`).run(event.type);
      db.prepare(`INSERT INTO ${name}_seen (position) VALUES (?)`).run(event.position.commit);
    },
  };
}

function event(type: string, n: number): EventToAppend {
  return { id: randomUUID(), type, data: { n }, metadata: { occurredAt: '2026-03-02T02:00:00.000Z', actor: 'system:test' } };
}

describe('ProjectionRunner', () => {
  let dir: string;
  let store: SqliteEventStore;
  let file: string;
  const opened: { close(): unknown }[] = [];
  const runners: ProjectionRunner[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-runner-'));
    store = new SqliteEventStore({ file: join(dir, 'events.db'), clock: new ManualClock(), synchronous: 'NORMAL', pollIntervalMs: 10 });
    file = join(dir, 'readmodels.db');
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.close();
    for (const db of opened.splice(0)) db.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const openDb = () => {
    const db = openReadModelDatabase(file);
    opened.push(db);
    return db;
  };
  const runnerOf = (db: Database.Database, projections: readonly Projection[], options?: ConstructorParameters<typeof ProjectionRunner>[4]) => {
    const runner = new ProjectionRunner(store, db, projections, undefined, options);
    runners.push(runner);
    return runner;
  };
  async function appendMany(count: number, types = ['A', 'B']): Promise<void> {
    for (let i = 0; i < count; i += 100) {
      const batch = Array.from({ length: Math.min(100, count - i) }, (_, k) => event(types[(i + k) % types.length], i + k));
      await store.append(`s-${i}`, batch, 'any');
    }
  }
  const counts = (db: Database.Database, name: string) => Object.fromEntries(db.prepare(`SELECT type, n FROM ${name}_counts ORDER BY type`).raw(true).all() as [string, number][]);
  const seen = (db: Database.Database, name: string) => db.prepare(`SELECT count(*) FROM ${name}_seen`).pluck().get() as number;

  it('applies each event once to the projections handling its type, and moves every checkpoint', async () => {
    await appendMany(250);
    const db = openDb();
    const runner = runnerOf(db, [counter('p', ['A']), counter('q', ['A', 'B'])]);
    runner.start();
    await runner.waitUntilCaughtUp();
    const head = await store.headPosition();
    if (head) await runner.waitFor(head);
    expect(counts(db, 'p')).toEqual({ A: 125 });
    expect(counts(db, 'q')).toEqual({ A: 125, B: 125 });
    const status = runner.status();
    expect(status.caughtUp).toBe(true);
    expect(status.checkpoint).toEqual({ commit: '250', prepare: '250' });
    expect(status.projections.map((p) => [p.name, p.eventsApplied, p.checkpoint?.commit])).toEqual([
      ['p', 125, '250'],
      ['q', 250, '250'],
    ]);
    // Live events too, with read-your-writes.
    const appended = await store.append('s-live', [event('B', 999)], 'any');
    await runner.waitFor(appended.position);
    expect(counts(db, 'q')).toEqual({ A: 125, B: 126 });
  });

  it('a failing handler rolls back the whole transaction (no projection keeps a row of it) and the retry applies it exactly once', async () => {
    await appendMany(40);
    let failures = 1;
    const flaky = counter('flaky', ['A', 'B'], 1, (e) => {
      if (e.position.commit === 30n && failures-- > 0) throw new Error('disk hiccup');
    });
    const db = openDb();
    const runner = runnerOf(db, [counter('steady', ['A', 'B']), flaky]);
    const failuresSeen: string[] = [];
    const watch = setInterval(() => {
      const failed = runner.status().failed;
      if (failed) failuresSeen.push(failed);
    }, 1);
    runner.start();
    const head = await store.headPosition();
    if (head) await runner.waitFor(head, 20_000);
    clearInterval(watch);
    expect(failuresSeen[0]).toBe('disk hiccup');
    expect(runner.status().failed).toBeNull();
    expect(seen(db, 'steady')).toBe(40);
    expect(seen(db, 'flaky')).toBe(40);
    expect(counts(db, 'steady')).toEqual({ A: 20, B: 20 });
    expect(runner.status().projections.map((p) => p.eventsApplied)).toEqual([40, 40]);
  });

  it('while catching up, pages are gathered and applied in one transaction; waiters and listeners hear only of committed events', async () => {
    await appendMany(5_000);
    const db = openDb();
    const runner = runnerOf(db, [counter('p', ['A', 'B'])], { catchUpTransactionEvents: 2_500, catchUpTransactionMs: 60_000 });
    const observed: number[] = [];
    const heard: bigint[] = [];
    runner.onEvents((events) => {
      // Whatever a listener is told about is already visible to readers.
      observed.push(seen(db, 'p'));
      for (const e of events) heard.push(e.position.commit);
      expect(seen(db, 'p')).toBeGreaterThanOrEqual(Number(events[events.length - 1].position.commit));
    });
    runner.start();
    await runner.waitFor({ commit: 1n, prepare: 1n }, 20_000);
    // The first event is announced only with the first commit: 2,500 events at once.
    expect(seen(db, 'p')).toBeGreaterThanOrEqual(2_500);
    await runner.waitUntilCaughtUp(20_000);
    expect(seen(db, 'p')).toBe(5_000);
    expect(heard).toEqual(Array.from({ length: 5_000 }, (_, i) => BigInt(i + 1)));
    expect(new Set(observed).size).toBeLessThanOrEqual(3);
  });

  it('stopping while pages are gathered keeps nothing of them; the next start applies them once', async () => {
    await appendMany(6_000);
    const db = openDb();
    // A store whose first subscription pauses after three pages, until it is closed.
    let release = () => {};
    let reached = () => {};
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    let subscriptions = 0;
    const gated = {
      subscribeAll: (options: Parameters<SqliteEventStore['subscribeAll']>[0]) => {
        const sub = store.subscribeAll(options);
        const it = sub[Symbol.asyncIterator]();
        const first = subscriptions++ === 0;
        let pages = 0;
        const gate = new Promise<void>((resolve) => (release = resolve));
        return {
          close: async () => {
            release();
            await sub.close();
          },
          [Symbol.asyncIterator]: () => ({
            next: async () => {
              if (first && pages++ === 3) {
                reached();
                await gate;
              }
              return it.next();
            },
            return: async () => {
              await sub.close();
              return { done: true as const, value: undefined };
            },
          }),
        };
      },
    } as unknown as SqliteEventStore;
    const runner = new ProjectionRunner(gated, db, [counter('p', ['A', 'B'])], undefined, { catchUpTransactionEvents: 1_000_000, catchUpTransactionMs: 60_000 });
    runners.push(runner);
    runner.start();
    await atGate;
    await runner.stop();
    expect(seen(db, 'p')).toBe(0);
    expect(runner.status().checkpoint).toBeNull();
    runner.start();
    await runner.waitUntilCaughtUp(20_000);
    expect(seen(db, 'p')).toBe(6_000);
    expect(counts(db, 'p')).toEqual({ A: 3_000, B: 3_000 });
  });

  it('never holds a write lock across turns of the event loop: other code writing the same file between turns is never refused', async () => {
    await appendMany(6_000);
    const db = openDb();
    const other = new Database(file);
    opened.push(other);
    other.pragma('busy_timeout = 0');
    other.exec('CREATE TABLE IF NOT EXISTS side_notes (n INTEGER)');
    const runner = runnerOf(db, [counter('p', ['A', 'B'])], { catchUpTransactionEvents: 1_500 });
    let writes = 0;
    let refused = 0;
    let running = true;
    const writer = (async () => {
      while (running) {
        try {
          other.prepare('INSERT INTO side_notes (n) VALUES (?)').run(writes);
          writes++;
        } catch {
          refused++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    runner.start();
    await runner.waitUntilCaughtUp(20_000);
    running = false;
    await writer;
    expect(seen(db, 'p')).toBe(6_000);
    expect(writes).toBeGreaterThan(0);
    expect(refused).toBe(0);
  });

  it('rebuilds one projection from zero while the others keep their place, and rebuilds on a version change', async () => {
    await appendMany(100);
    const db = openDb();
    const runner = runnerOf(db, [counter('p', ['A']), counter('q', ['B'])]);
    runner.start();
    await runner.waitUntilCaughtUp();
    db.prepare("UPDATE p_counts SET n = 0 WHERE type = 'A'").run();
    await runner.rebuild(['p']);
    await runner.waitUntilCaughtUp();
    await runner.waitFor({ commit: 100n, prepare: 100n });
    expect(counts(db, 'p')).toEqual({ A: 50 });
    expect(counts(db, 'q')).toEqual({ B: 50 });
    expect(runner.status().projections.map((p) => p.eventsApplied)).toEqual([50, 50]);
    await expect(runner.rebuild(['nope'])).rejects.toThrow(/Unknown projection/);
    await runner.close();

    // Version 2 of q: dropped and rebuilt on start; p untouched.
    db.prepare("UPDATE q_counts SET n = 1000 WHERE type = 'B'").run();
    const next = runnerOf(db, [counter('p', ['A']), counter('q', ['B'], 2)]);
    expect(next.status().projections.map((p) => [p.name, p.checkpoint?.commit ?? null])).toEqual([
      ['p', '100'],
      ['q', null],
    ]);
    next.start();
    await next.waitUntilCaughtUp();
    await next.waitFor({ commit: 100n, prepare: 100n });
    expect(counts(db, 'q')).toEqual({ B: 50 });
    expect(counts(db, 'p')).toEqual({ A: 50 });
  });

  it('a runner whose checkpoints another writer moved (a CLI rebuild on the same file) reloads them instead of applying anything twice', async () => {
    await appendMany(1_000);
    const db = openDb();
    const projections = [counter('p', ['A', 'B'])];
    const service = runnerOf(db, projections);
    service.start();
    await service.waitUntilCaughtUp();
    await service.waitFor({ commit: 1_000n, prepare: 1_000n });
    await service.stop();

    // Another writer with its own connection rebuilds and goes further than the service knows.
    const otherDb = new Database(file);
    opened.push(otherDb);
    const cli = runnerOf(otherDb, projections);
    await cli.rebuild();
    await appendMany(500);
    cli.start();
    await cli.waitUntilCaughtUp();
    await cli.waitFor({ commit: 1_500n, prepare: 1_500n });
    await cli.close();

    // The service still believes it stands at 1,000: its first transaction is refused, it reloads.
    await appendMany(100);
    service.start();
    await service.waitFor({ commit: 1_600n, prepare: 1_600n }, 20_000);
    expect(seen(db, 'p')).toBe(1_600);
    expect(counts(db, 'p')).toEqual({ A: 800, B: 800 });
    expect(service.status().projections[0].eventsApplied).toBe(1_600);
  });

  it('an applier refuses a transaction when the stored checkpoints moved, and replays can stop each projection at its own ceiling', async () => {
    await appendMany(10);
    const all: StoredEvent[] = [];
    for await (const e of store.readAll()) all.push(e);
    const db = openDb();
    const applier = new ProjectionApplier(db, [counter('p', ['A', 'B']), counter('q', ['A', 'B'])]);
    applier.apply(all.slice(0, 4), new Map([['p', all[1].position], ['q', null]]));
    expect(applier.tracked.map((t) => [t.eventsApplied, t.checkpoint?.commit ?? null])).toEqual([
      [2, 2n],
      [0, null],
    ]);
    // Re-applying what a projection already has is a no-op for it.
    applier.apply(all.slice(0, 6));
    expect(applier.tracked.map((t) => t.eventsApplied)).toEqual([6, 6]);
    expect(seen(db, 'p')).toBe(6);

    const other = new Database(file);
    opened.push(other);
    other.prepare("UPDATE projection_checkpoints SET commit_position = 1, prepare_position = 1 WHERE name = 'q'").run();
    expect(() => applier.apply(all.slice(6))).toThrow(CheckpointsMovedError);
    expect(seen(db, 'p')).toBe(6);
  });
});
