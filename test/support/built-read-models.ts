/**
 * What every read-model file built from the log must show (initial-build specs, one lane or
 * several): the query indexes left out during the build exist, the rows equal a fresh replay table
 * by table, and the projection runner goes on from the build's checkpoints at the head without
 * applying anything twice.
 */
import type { Database } from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { SystemClock } from '../../src/modules/clock/clock.port';
import type { EventStore } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { ALL_PROJECTIONS } from '../../src/projections';
import { ProjectionRunner } from '../../src/projections/projection-runner';
import { verifyProjections, type VerificationReport } from '../../src/projections/verification/projection-verifier';
import { writeSyntheticLog, type SyntheticLogOptions } from './synthetic-log';

export interface SyntheticLogFixture {
  /** A scratch folder holding `events.db`. */
  readonly dir: string;
  readonly store: SqliteEventStore;
}

/**
 * Registers a suite's beforeAll/afterAll: a synthetic log in an embedded store of its own (a
 * scratch folder removed at the end). Call the returned function inside the tests.
 */
export function useSyntheticLog(prefix: string, log: SyntheticLogOptions, setupTimeoutMs = 180_000): () => SyntheticLogFixture {
  let fixture: SyntheticLogFixture | null = null;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    writeSyntheticLog(join(dir, 'events.db'), log);
    fixture = { dir, store: new SqliteEventStore({ file: join(dir, 'events.db'), clock: new SystemClock(), pollIntervalMs: 20 }) };
  }, setupTimeoutMs);
  afterAll(async () => {
    if (!fixture) return;
    await fixture.store.close();
    rmSync(fixture.dir, { recursive: true, force: true });
  });
  return () => {
    if (!fixture) throw new Error('the synthetic log is not set up yet');
    return fixture;
  };
}

export async function expectBuiltLikeReplay(db: Database, file: string, store: EventStore, scratchDirectory: string, events: number): Promise<VerificationReport> {
  const indexes = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).pluck().all() as string[]);
  const queryIndexes = ALL_PROJECTIONS.flatMap((p) => p.queryIndexes ?? []).map((sql) => /INDEX IF NOT EXISTS (\w+)/.exec(sql)?.[1]);
  expect(queryIndexes.length).toBeGreaterThanOrEqual(10);
  for (const name of queryIndexes) expect(indexes.has(name as string), name).toBe(true);

  const report = await verifyProjections({ store, liveDatabaseFile: file, projections: ALL_PROJECTIONS, scratchDirectory, now: new Date() });
  expect(report.mismatches).toEqual([]);
  expect(report.projectionsMatch).toBe(true);
  expect(report.tables.find((t) => t.table === 'history')?.liveRows).toBeGreaterThan(events / 2);

  const runner = new ProjectionRunner(store, db, ALL_PROJECTIONS);
  runner.start();
  await runner.waitUntilCaughtUp();
  expect(runner.status().projections.every((p) => p.checkpoint?.commit === String(events))).toBe(true);
  await runner.close();
  return report;
}

/**
 * After a failed build: an empty WAL-mode file with no checkpoint, which the projection runner
 * fills the ordinary way to rows equal to a replay.
 */
export async function expectRunnerCatchesUpFromEmpty(db: Database, file: string, store: EventStore, scratchDirectory: string): Promise<VerificationReport> {
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  expect(db.prepare('SELECT COUNT(*) FROM projection_checkpoints').pluck().get()).toBe(0);
  const runner = new ProjectionRunner(store, db, ALL_PROJECTIONS);
  runner.start();
  await runner.waitUntilCaughtUp();
  await runner.close();
  const report = await verifyProjections({ store, liveDatabaseFile: file, projections: ALL_PROJECTIONS, scratchDirectory, now: new Date() });
  expect(report.projectionsMatch).toBe(true);
  return report;
}
