/**
 * The initial build spread over lanes (src/projections/initial-build.ts): the first lane on the
 * calling thread, the others on worker threads running the compiled initial-build.worker.js, each
 * into a file of its own, then copied into the read-model file. The result must be exactly what a
 * replay gives; a lane that dies must leave nothing behind (the runner then catches up).
 */
import Database from 'better-sqlite3';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { ALL_PROJECTIONS } from '../../src/projections';
import { BUILD_MARKER, openReadModels, planLanes } from '../../src/projections/initial-build';
import type { Projection } from '../../src/projections/projection';
import { expectBuiltLikeReplay, expectRunnerCatchesUpFromEmpty, useSyntheticLog } from '../support/built-read-models';
import { compiledChild } from './compiled-child';

const EVENTS = 15_000;

function checkpoints(db: Database.Database): Map<string, number | null> {
  return new Map(db.prepare('SELECT name, commit_position FROM projection_checkpoints').raw(true).all() as [string, number | null][]);
}

describe('openReadModels over two lanes', () => {
  const log = useSyntheticLog('pm-initial-build-lanes-', { events: EVENTS, subjects: 700, seed: 23 });
  let dir: string;
  let store: SqliteEventStore;
  let worker: string;

  beforeAll(() => {
    worker = compiledChild('src/projections/initial-build.worker');
    ({ dir, store } = log());
  }, 180_000);

  it('builds the lanes on two threads and copies them into one file equal, row by row, to a replay', async () => {
    const file = join(dir, 'two-lanes.db');
    const progress: number[] = [];
    const { db, build } = await openReadModels(file, store, ALL_PROJECTIONS, { lanes: 2, workerScript: worker, onProgress: (p) => progress.push(p) });
    try {
      expect(build?.lanes).toBe(2);
      expect(build?.events).toBeGreaterThan(EVENTS); // the lanes together read more than the log once
      expect(progress.at(-1)).toBe(EVENTS);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
      expect(tables).not.toContain(BUILD_MARKER);
      for (const projection of ALL_PROJECTIONS) for (const table of projection.tables) expect(tables).toContain(table.name);
      expect(checkpoints(db).size).toBe(ALL_PROJECTIONS.length);
      for (const [, position] of checkpoints(db)) expect(position).toBe(EVENTS);
      // The lane files are gone.
      expect(readdirSync(dir).filter((name) => name.includes('.lane-'))).toEqual([]);
      // Every query index exists (those of the copied lane included), the rows equal a replay, the runner goes on.
      const report = await expectBuiltLikeReplay(db, file, store, dir, EVENTS);
      expect(report.tables.find((t) => t.table === 'retention_ledger')?.liveRows).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  }, 180_000);

  it('a lane whose thread dies fails the build: no file of it is left, and the runner catches up instead', async () => {
    const file = join(dir, 'lane-dies.db');
    const dying = join(dir, 'dying-worker.js');
    writeFileSync(dying, `throw new Error('lane crashed');\n`);
    const { db, build } = await openReadModels(file, store, ALL_PROJECTIONS, { lanes: 2, workerScript: dying });
    try {
      expect(build).toBeNull();
      expect(readdirSync(dir).filter((name) => name.includes('.lane-'))).toEqual([]);
      await expectRunnerCatchesUpFromEmpty(db, file, store, dir);
    } finally {
      db.close();
    }
  }, 180_000);

  it('runs on one lane when the store is not the embedded one (a worker could not open it)', async () => {
    const file = join(dir, 'other-store.db');
    const wrapped = { readAll: (o: Parameters<EventStore['readAll']>[0]) => store.readAll(o), headPosition: () => store.headPosition() } as unknown as EventStore;
    const { db, build } = await openReadModels(file, wrapped, ALL_PROJECTIONS, { lanes: 2, workerScript: worker });
    try {
      expect(build?.lanes).toBe(1);
      for (const [, position] of checkpoints(db)) expect(position).toBe(EVENTS);
    } finally {
      db.close();
    }
  }, 180_000);
});

describe('planLanes', () => {
  const fake = (name: string, buildCost: number, eventTypes: string[]): Projection => ({ name, version: 1, buildCost, eventTypes, tables: [], setup: () => undefined, apply: () => undefined });

  it('gives each projection one lane, keeps the given order in each lane, and parts the two heaviest', () => {
    const lanes = planLanes(ALL_PROJECTIONS, 2);
    expect(lanes).toHaveLength(2);
    expect(lanes.flat().map((p) => p.name).sort()).toEqual(ALL_PROJECTIONS.map((p) => p.name).sort());
    for (const lane of lanes) expect(lane).toEqual(ALL_PROJECTIONS.filter((p) => lane.includes(p)));
    const laneOf = (name: string) => lanes.findIndex((lane) => lane.some((p) => p.name === name));
    expect(laneOf('retention-ledger')).not.toBe(laneOf('history'));
    // The first lane (this thread's) holds the history: the most events handled, the most rows.
    expect(laneOf('history')).toBe(0);
  });

  it('puts a projection with the lane that reads its events anyway when that balances the lanes best', () => {
    const a = fake('a', 10, ['A']);
    const b = fake('b', 10, ['B']);
    const small = fake('small', 1, ['A']);
    const shares = new Map([['A', 0.5], ['B', 0.5]]);
    // With a: 2.5×0.5 + 10×0.5 + 1×0.5 = 6.75 against 6.25. With b it would read A too: 8 against 6.25.
    expect(planLanes([a, b, small], 2, shares).map((lane) => lane.map((p) => p.name))).toEqual([['a', 'small'], ['b']]);
    // (The lane handling the most events first: a and small handle A, 0.5 + 0.5, against 0.5.)
    // The same when A is rare: b's lane would have to read A for it.
    const rare = new Map([['A', 0.2], ['B', 0.8]]);
    expect(planLanes([a, b, small], 2, rare).map((lane) => lane.map((p) => p.name))).toEqual([['b'], ['a', 'small']]);
    // A heavy projection alone, the light ones together.
    const heavyA = planLanes([fake('a', 10, ['A']), fake('b', 2, ['B']), fake('c', 2, ['C'])], 2, new Map([['A', 0.6], ['B', 0.2], ['C', 0.2]]));
    expect(heavyA.map((lane) => lane.map((p) => p.name))).toEqual([['a'], ['b', 'c']]);
  });

  it('on the mix of the bench\'s 1,000,000-event log, puts the images and the requests with the retention ledger (which reads the events of the images anyway), the subjects with the history', () => {
    // Events per type of `npm run bench:replay`'s log (seed 20260105).
    const counts: Record<string, number> = {
      ConsentGranted: 106775, ProcessingLogged: 96664, ImageUploaded: 79137, FaceDetectionLogged: 75516, JobQueued: 67470,
      JobStarted: 60977, TempFileCreated: 53225, DeviceRegistered: 49999, SubjectRegistered: 49992, DataDisclosedToProcessor: 49597,
      AdultConfirmed: 46415, TempFileDeleted: 42781, JobCompleted: 42395, ImageDeleted: 37247, ArtworkGenerated: 33701,
      ImageViewed: 28703, ArtworkViewed: 18846, RightsRequestReceived: 9145, RightsRequestProcessingStarted: 8722,
      RightsRequestFulfilled: 7226, ArtworkDeleted: 5988, AuditorAccessed: 5779, ProcessingRestricted: 4473, JobFailed: 3682,
      GuardianConsentRecorded: 3536, JobCancelled: 2539, SubjectErasureStarted: 1788, SubjectErased: 1706, DataExported: 1699,
      DeviceReleased: 1622, ConsentWithdrawn: 1369, RightsRequestRejected: 936, RightsRequestOverdue: 281, RestrictionLifted: 56,
      OperationLogsPurged: 9, VerificationCompleted: 4,
    };
    const shares = new Map(Object.entries(counts).map(([type, n]) => [type, n / 1_000_000]));
    const lanes = planLanes(ALL_PROJECTIONS, 2, shares);
    const laneOf = (name: string) => lanes.findIndex((lane) => lane.some((p) => p.name === name));
    expect(lanes).toHaveLength(2);
    expect(laneOf('retention-ledger')).not.toBe(laneOf('history'));
    expect(laneOf('images')).toBe(laneOf('retention-ledger'));
    expect(laneOf('history')).toBe(0);
    // The requests go with the retention ledger since its erasures stopped growing an index by
    // subject: without them the ledger's lane ended 0.3-1.1 s before the calling thread's, with
    // them the two ended within 0.3 s of each other. With the subjects as well, the ledger's lane
    // ended 0.4-0.8 s after the other: they stay on the calling thread.
    expect(laneOf('requests')).toBe(laneOf('retention-ledger'));
    expect(laneOf('subjects')).toBe(0);
  });

  it('plans many lanes greedily, every projection once', () => {
    const many = Array.from({ length: 12 }, (_, i) => fake(`p${i}`, i + 1, [`T${i % 5}`]));
    const lanes = planLanes(many, 6);
    expect(lanes.length).toBeLessThanOrEqual(6);
    expect(lanes.flat().map((p) => p.name).sort()).toEqual(many.map((p) => p.name).sort());
    // The heaviest has a lane of its own or shares it with lighter ones only.
    expect(lanes.find((lane) => lane.some((p) => p.name === 'p11'))?.every((p) => p.name === 'p11' || (p.buildCost ?? 1) < 12)).toBe(true);
  });

  it('never more lanes than projections, and one lane holds them all', () => {
    expect(planLanes(ALL_PROJECTIONS, 1)).toEqual([ALL_PROJECTIONS]);
    expect(planLanes(ALL_PROJECTIONS, 50)).toHaveLength(ALL_PROJECTIONS.length);
    expect(planLanes(ALL_PROJECTIONS.slice(0, 2), 4)).toHaveLength(2);
  });
});
