/**
 * The independent verification: a replay of the whole log into fresh projections, compared row by
 * row with the live read models. Clean views match; a deliberately corrupted, deleted or invented
 * row is reported with its key and both sides; registered checks see every event once.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/modules/clock/clock.port';
import type { Position } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { ALL_PROJECTIONS } from '../../src/projections';
import { ProjectionRunner } from '../../src/projections/projection-runner';
import { openReadModelDatabase } from '../../src/projections/read-model-database';
import { verifyProjections, type VerifyProjectionsOptions } from '../../src/projections/verification/projection-verifier';
import type { VerificationCheck } from '../../src/projections/verification/verification-check';
import { writeSyntheticLog } from '../support/synthetic-log';

describe('projection verification', () => {
  let dir: string;
  let store: SqliteEventStore;
  let db: ReturnType<typeof openReadModelDatabase>;
  let runner: ProjectionRunner;
  let file: string;
  const EVENTS = 20_000;

  const verify = (extra: Partial<VerifyProjectionsOptions> = {}) =>
    verifyProjections({ store, liveDatabaseFile: file, projections: ALL_PROJECTIONS, scratchDirectory: join(dir, 'tmp'), now: new Date('2026-03-02T00:00:00.000Z'), ...extra });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pm-verify-'));
    writeSyntheticLog(join(dir, 'events.db'), { events: EVENTS, subjects: 1_000, seed: 5 });
    store = new SqliteEventStore({ file: join(dir, 'events.db'), clock: new SystemClock(), pollIntervalMs: 20 });
    file = join(dir, 'readmodels.db');
    db = openReadModelDatabase(file);
    runner = new ProjectionRunner(store, db, ALL_PROJECTIONS);
    runner.start();
    await runner.waitUntilCaughtUp(120_000);
  }, 300_000);

  afterAll(async () => {
    await runner?.close();
    db?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the live read models equal to a replay of the whole log, table by table, and leaves no scratch file behind', async () => {
    const report = await verify();
    expect(report.mismatches).toEqual([]);
    expect(report.mismatchCount).toBe(0);
    expect(report.projectionsMatch).toBe(true);
    expect(report.eventsReplayed).toBe(EVENTS);
    expect(report.verifiedUpTo).toEqual({ commit: BigInt(EVENTS), prepare: BigInt(EVENTS) });
    const tables = report.tables.map((t) => t.table).sort();
    expect(tables).toEqual(ALL_PROJECTIONS.flatMap((p) => p.tables.map((t) => t.name)).sort());
    for (const t of report.tables) expect(t.liveRows).toBe(t.replayedRows);
    expect(report.tables.find((t) => t.table === 'history')?.liveRows).toBeGreaterThan(10_000);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });

  it('reports a corrupted, a deleted and an invented row with their keys and both sides, counts them all, lists up to the cap', async () => {
    const victim = db.prepare('SELECT seq, detail FROM history ORDER BY seq LIMIT 1 OFFSET 500').get() as { seq: number; detail: string };
    const image = db.prepare('SELECT * FROM images ORDER BY image_id LIMIT 1').get() as Record<string, unknown>;
    const bogusSubject = randomUUID();
    db.prepare('UPDATE history SET detail = ? WHERE seq = ?').run('{"tampered":true}', victim.seq);
    db.prepare('DELETE FROM images WHERE image_id = ?').run(image.image_id);
    db.prepare(`INSERT INTO access_log (commit_position, prepare_position, subject_id, event_id, at, actor, resource, purpose, type)
                VALUES (999999999, 999999999, ?, ?, '2026-01-05T00:00:00.000Z', 'auditor:mallory', ?, 'audit', 'AuditorAccessed')`).run(bogusSubject, randomUUID(), `subject:${bogusSubject}`);
    try {
      const report = await verify();
      expect(report.projectionsMatch).toBe(false);
      expect(report.mismatchCount).toBe(3);
      const history = report.mismatches.find((m) => m.table === 'history');
      expect(history).toMatchObject({
        projection: 'history',
        key: { seq: victim.seq },
        live: { detail: '{"tampered":true}' },
        replayed: { detail: victim.detail },
      });
      expect(report.mismatches.find((m) => m.table === 'images')).toEqual({ projection: 'images', table: 'images', key: { image_id: image.image_id }, live: null, replayed: image });
      expect(report.mismatches.find((m) => m.table === 'access_log')).toMatchObject({
        projection: 'access-log',
        key: { commit_position: 999999999, prepare_position: 999999999 },
        live: { actor: 'auditor:mallory', subject_id: bogusSubject },
        replayed: null,
      });
      expect(report.tables.find((t) => t.table === 'images')).toMatchObject({ mismatches: 1, liveRows: expect.any(Number) });

      const capped = await verify({ maxMismatches: 2 });
      expect(capped.mismatches).toHaveLength(2);
      expect(capped.mismatchCount).toBe(3);
    } finally {
      // Repair by rebuilding those projections from the log.
      await runner.rebuild(['history', 'images', 'access-log']);
      await runner.waitUntilCaughtUp(120_000);
    }
    const repaired = await verify();
    expect(repaired.mismatches).toEqual([]);
  });

  it('reports a projection whose event count differs from the replay (an event applied twice leaves that trace)', async () => {
    db.prepare("UPDATE projection_checkpoints SET events_applied = events_applied + 1 WHERE name = 'subjects'").run();
    try {
      const report = await verify();
      expect(report.mismatches).toEqual([
        { projection: 'subjects', table: 'projection_checkpoints', key: { name: 'subjects' }, live: { version: 1, eventsApplied: expect.any(Number) }, replayed: { version: 1, eventsApplied: expect.any(Number) } },
      ]);
      const [m] = report.mismatches;
      expect((m.live as { eventsApplied: number }).eventsApplied).toBe((m.replayed as { eventsApplied: number }).eventsApplied + 1);
    } finally {
      db.prepare("UPDATE projection_checkpoints SET events_applied = events_applied - 1 WHERE name = 'subjects'").run();
    }
  });

  it('runs registered checks on the same replay: every event once, in order, violations tagged with the check', async () => {
    let events = 0;
    let last: Position | null = null;
    let ordered = true;
    let seenUpTo: Position | null | undefined;
    const check: VerificationCheck = {
      name: 'counting',
      start: (context) => ({
        onEvents: (batch) => {
          for (const e of batch) {
            if (last && e.position.commit <= last.commit) ordered = false;
            last = e.position;
            events++;
          }
        },
        finish: ({ verifiedUpTo, replayed, live }) => {
          seenUpTo = verifiedUpTo;
          const replayedSubjects = replayed.prepare('SELECT count(*) FROM subjects').pluck().get() as number;
          const liveSubjects = live.prepare('SELECT count(*) FROM main.subjects').pluck().get() as number;
          return [{ rule: 'demo', events, replayedSubjects, liveSubjects, now: context.now.toISOString() }];
        },
      }),
    };
    const report = await verify({ checks: [check] });
    expect(ordered).toBe(true);
    expect(events).toBe(EVENTS);
    expect(seenUpTo).toEqual(report.verifiedUpTo);
    expect(report.retentionViolations).toEqual([{ check: 'counting', rule: 'demo', events: EVENTS, replayedSubjects: expect.any(Number), liveSubjects: expect.any(Number), now: '2026-03-02T00:00:00.000Z' }]);
    const [v] = report.retentionViolations;
    expect(v.replayedSubjects).toBe(v.liveSubjects);
  });

  it('verifies while the runner keeps applying new events, and keeps the event loop running during the replay', async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const subject = db.prepare('SELECT subject_id FROM subjects LIMIT 1').pluck().get() as string;
    let appending = true;
    const appender = (async () => {
      let n = 0;
      while (appending) {
        n++;
        await store.append('audit-2026-03-02', [
          {
            id: randomUUID(),
            type: 'AuditorAccessed',
            data: { auditor: 'alice', endpoint: 'GET /v1/audit/access-log', query: { n }, subjectId: subject, resultCount: 0 },
            metadata: { occurredAt: '2026-03-02T00:00:00.000Z', actor: 'auditor:alice', correlationId: randomUUID(), causationId: null, schemaVersion: 1, subjectId: subject },
          },
        ], 'any');
        await new Promise((r) => setTimeout(r, 5));
      }
      return n;
    })();
    try {
      const report = await verify({ batchSize: 500 });
      expect(report.mismatches).toEqual([]);
      expect(report.projectionsMatch).toBe(true);
      expect(report.eventsReplayed).toBeGreaterThanOrEqual(EVENTS);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      appending = false;
      clearInterval(ticker);
      await appender;
    }
  });
});
