import Database from 'better-sqlite3';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventStoreUnavailableError } from '../modules/event-store/event-store.errors';
import type { EventStore, StoredEvent } from '../modules/event-store/event-store.port';
import { SqliteEventStore } from '../modules/event-store/sqlite/sqlite-event-store';
import { expectBuiltLikeReplay, expectRunnerCatchesUpFromEmpty, useSyntheticLog } from '../../test/support/built-read-models';
import { ALL_PROJECTIONS } from './index';
import { BUILD_MARKER, openBuildDatabase, openReadModels } from './initial-build';
import { openReadModelDatabase, READ_MODEL_PAGE_SIZE, walPages } from './read-model-database';
import { verifyProjections } from './verification/projection-verifier';

const EVENTS = 12_000;
const HANDLED_TYPES = [...new Set(ALL_PROJECTIONS.flatMap((p) => p.eventTypes))];

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[];
  } finally {
    db.close();
  }
}

function checkpoints(db: Database.Database): Map<string, number | null> {
  return new Map(db.prepare('SELECT name, commit_position FROM projection_checkpoints').raw(true).all() as [string, number | null][]);
}

/** A store whose readAll fails after `after` events (the store going away mid-build). */
function failingAfter(store: EventStore, after: number): EventStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'readAll') return Reflect.get(target, key, receiver);
      return (options: Parameters<EventStore['readAll']>[0]) => ({
        async *[Symbol.asyncIterator](): AsyncGenerator<StoredEvent> {
          let n = 0;
          for await (const event of target.readAll(options)) {
            if (n++ === after) throw new EventStoreUnavailableError('store gone');
            yield event;
          }
        },
      });
    },
  });
}

/** Events of the log whose type `types` holds (what a build reading only those types applies). */
function eventsOfTypes(file: string, types: readonly string[]): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT COUNT(*) FROM events WHERE type IN (${types.map(() => '?').join(', ')})`).pluck().get(...types) as number;
  } finally {
    db.close();
  }
}

describe('openReadModels: a missing read-model file is built from the log in bulk', () => {
  const log = useSyntheticLog('pm-initial-build-', { events: EVENTS, subjects: 800, seed: 17 }, 120_000);
  let dir: string;
  let store: SqliteEventStore;
  /** Events of types some projection handles: all a one-lane build reads. */
  let handled: number;

  beforeAll(() => {
    ({ dir, store } = log());
    handled = eventsOfTypes(join(dir, 'events.db'), HANDLED_TYPES);
  });

  it('builds every projection up to the head, equal row by row to a replay, and leaves an ordinary WAL file', async () => {
    const file = join(dir, 'built.db');
    const progress: number[] = [];
    const { db, build } = await openReadModels(file, store, ALL_PROJECTIONS, { transactionEvents: 5_000, onProgress: (n) => progress.push(n) });
    try {
      // One lane here (no worker script beside the sources): it read the types some projection handles.
      expect(build?.lanes).toBe(1);
      expect(build?.events).toBe(handled);
      expect(handled).toBeLessThan(EVENTS);
      // Progress at every commit (every 5,000 events read) and at the end: up to the head.
      expect(progress.length).toBeGreaterThanOrEqual(3);
      expect([...progress].sort((a, b) => a - b)).toEqual(progress);
      expect(progress.at(-1)).toBe(EVENTS);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
      expect(db.pragma('page_size', { simple: true })).toBe(READ_MODEL_PAGE_SIZE);
      expect(tables(file)).not.toContain(BUILD_MARKER);
      for (const [, position] of checkpoints(db)) expect(position).toBe(EVENTS);
      // The query indexes left out during the build exist at its end, as in a file the runner
      // filled; the rows equal a replay; the runner goes on from the build's checkpoints.
      await expectBuiltLikeReplay(db, file, store, dir, EVENTS);
    } finally {
      db.close();
    }
  }, 120_000);

  it('a build connection really has no journal and no fsync (better-sqlite3\'s defensive mode would keep the journal), and holds its file exclusively', () => {
    const file = join(dir, 'build-connection.db');
    const db = openBuildDatabase(file);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('off');
      expect(db.pragma('synchronous', { simple: true })).toBe(0);
      expect(db.pragma('locking_mode', { simple: true })).toBe('exclusive');
      db.exec('CREATE TABLE t (x)');
      db.transaction(() => db.prepare('INSERT INTO t VALUES (1)').run())();
      expect(existsSync(`${file}-journal`)).toBe(false);
    } finally {
      db.close();
    }
  });

  it('holds the file exclusively while it has no journal: another connection is refused, not let in', async () => {
    const file = join(dir, 'exclusive.db');
    const building = openReadModels(file, store, ALL_PROJECTIONS);
    // The build has started (its marker is written, the lock taken) before openReadModels yields.
    const other = new Database(file, { timeout: 0 });
    try {
      expect(() => other.prepare('SELECT name FROM sqlite_master').all()).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    } finally {
      other.close();
    }
    const { db, build } = await building;
    try {
      expect(build?.events).toBe(handled);
      // Built: an ordinary WAL file that others may open again.
      const after = new Database(file, { readonly: true });
      try {
        expect(after.prepare('SELECT COUNT(*) FROM projection_checkpoints').pluck().get()).toBe(ALL_PROJECTIONS.length);
      } finally {
        after.close();
      }
    } finally {
      db.close();
    }
  }, 120_000);

  it('a read-model file made before the larger pages keeps its own page size, and the runner\'s WAL thresholds follow it', () => {
    const file = join(dir, 'small-pages.db');
    const old = new Database(file);
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE t (x)');
    old.close();
    const db = openReadModelDatabase(file);
    try {
      expect(db.pragma('page_size', { simple: true })).toBe(4096);
      expect(walPages(db, 81_920_000)).toBe(20_000);
    } finally {
      db.close();
    }
    const fresh = openReadModelDatabase(join(dir, 'fresh.db'));
    try {
      expect(fresh.pragma('page_size', { simple: true })).toBe(READ_MODEL_PAGE_SIZE);
      expect(walPages(fresh, 81_920_000)).toBe(5_000);
    } finally {
      fresh.close();
    }
  });

  it('opens an existing file as it is', async () => {
    const file = join(dir, 'existing.db');
    const first = await openReadModels(file, store, ALL_PROJECTIONS);
    first.db.prepare(`UPDATE images SET status = 'edited-by-test' WHERE rowid = (SELECT MIN(rowid) FROM images)`).run();
    first.db.close();
    const again = await openReadModels(file, store, ALL_PROJECTIONS);
    try {
      expect(again.build).toBeNull();
      expect(again.db.prepare(`SELECT COUNT(*) FROM images WHERE status = 'edited-by-test'`).pluck().get()).toBe(1);
    } finally {
      again.db.close();
    }
  }, 120_000);

  it('a file left by an interrupted build (its marker still there), or one SQLite cannot read, is discarded and built again', async () => {
    const interrupted = join(dir, 'interrupted.db');
    const partial = new Database(interrupted);
    partial.exec(`CREATE TABLE ${BUILD_MARKER} (started INTEGER NOT NULL); CREATE TABLE images (image_id TEXT PRIMARY KEY)`);
    partial.close();
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, Buffer.alloc(64 * 1024, 0x5a));
    for (const file of [interrupted, corrupt]) {
      const { db, build } = await openReadModels(file, store, ALL_PROJECTIONS);
      try {
        expect(build?.events).toBe(handled);
        expect(tables(file)).not.toContain(BUILD_MARKER);
        const report = await verifyProjections({ store, liveDatabaseFile: file, projections: ALL_PROJECTIONS, scratchDirectory: dir, now: new Date() });
        expect(report.projectionsMatch).toBe(true);
      } finally {
        db.close();
      }
    }
  }, 120_000);

  it('when the log cannot be read, the partial build is dropped and an empty file is left for the runner to catch up', async () => {
    const file = join(dir, 'store-down.db');
    const { db, build } = await openReadModels(file, failingAfter(store, 3_000), ALL_PROJECTIONS, { transactionEvents: 1_000 });
    try {
      expect(build).toBeNull();
      expect(tables(file)).not.toContain(BUILD_MARKER);
      // The store is back: the runner builds everything the ordinary way.
      const report = await expectRunnerCatchesUpFromEmpty(db, file, store, dir);
      expect(report.eventsReplayed).toBe(EVENTS);
    } finally {
      db.close();
    }
  }, 120_000);
});
