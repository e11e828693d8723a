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
  it('balances the projections over the lanes by weight, heaviest first, each lane in the given order', () => {
    const lanes = planLanes(ALL_PROJECTIONS, 2);
    expect(lanes).toHaveLength(2);
    expect(lanes.flat().map((p) => p.name).sort()).toEqual(ALL_PROJECTIONS.map((p) => p.name).sort());
    for (const lane of lanes) expect(lane).toEqual(ALL_PROJECTIONS.filter((p) => lane.includes(p)));
    // The two heaviest are apart; the first lane (this thread's) holds the most projections.
    const laneOf = (name: string) => lanes.findIndex((lane) => lane.some((p) => p.name === name));
    expect(laneOf('retention-ledger')).not.toBe(laneOf('history'));
    expect(lanes[0].length).toBeGreaterThanOrEqual(lanes[1].length);
    const weight = (lane: typeof lanes[number]) => lane.reduce((sum, p) => sum + (p.buildWeight ?? 1), 0);
    const total = ALL_PROJECTIONS.reduce((sum, p) => sum + (p.buildWeight ?? 1), 0);
    for (const lane of lanes) expect(weight(lane)).toBeGreaterThan(total / 3);
  });

  it('never more lanes than projections, and one lane holds them all', () => {
    expect(planLanes(ALL_PROJECTIONS, 1)).toEqual([ALL_PROJECTIONS]);
    expect(planLanes(ALL_PROJECTIONS, 50)).toHaveLength(ALL_PROJECTIONS.length);
    expect(planLanes(ALL_PROJECTIONS.slice(0, 2), 4)).toHaveLength(2);
  });
});
