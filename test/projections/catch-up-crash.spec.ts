/**
 * Exactly-once projection under crashes and concurrent writers, with real processes:
 * - a runner catching up with a large log is SIGKILLed twice mid-catch-up; after each kill the
 *   read models are a consistent prefix of the log, and after a restart they equal a clean
 *   rebuild from zero, row by row and in event counts (nothing applied twice, nothing skipped);
 * - an initial build (no journal) is SIGKILLed in the middle; the restart discards the file and
 *   builds it again, equal to a clean replay;
 * - another process rebuilds every projection on the same file while the service's runner keeps
 *   applying new events: both end up exactly where a clean replay is.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/modules/clock/clock.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { ALL_PROJECTIONS } from '../../src/projections';
import { BUILD_MARKER } from '../../src/projections/initial-build';
import { ProjectionRunner } from '../../src/projections/projection-runner';
import { openReadModelDatabase } from '../../src/projections/read-model-database';
import { verifyProjections } from '../../src/projections/verification/projection-verifier';
import { writeSyntheticLog } from '../support/synthetic-log';
import { compiledChild } from './compiled-child';

interface Child {
  readonly process: ChildProcess;
  readonly committed: number[];
  /** Resolves with the first committed position >= `at`. */
  committedAtLeast(at: number): Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startChild(script: string, args: string[]): Child {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const committed: number[] = [];
  const waiting: { at: number; resolve: (n: number) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const match = /^committed (\d+)$/.exec(line);
      if (!match) continue;
      const n = Number(match[1]);
      committed.push(n);
      for (const w of waiting.splice(0)) if (n >= w.at) w.resolve(n);
      else waiting.push(w);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
  return {
    process: child,
    committed,
    committedAtLeast: (at) => {
      const done = committed.find((n) => n >= at);
      if (done !== undefined) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        waiting.push({ at, resolve });
        void exited.then(({ code, signal, stderr: err }) => reject(new Error(`child exited (${code ?? signal}) before ${at}: ${err}`)));
      });
    },
    exited,
  };
}

/** Every projection's stored checkpoint (null before the first commit). */
function storedCheckpoints(file: string): Map<string, number | null> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT name, commit_position FROM projection_checkpoints').raw(true).all() as [string, number | null][];
    return new Map(rows);
  } finally {
    db.close();
  }
}

describe('projection runner in a real process: SIGKILL mid-catch-up, concurrent rebuild', () => {
  let dir: string;
  let script: string;
  const EVENTS = 60_000;

  beforeAll(() => {
    script = compiledChild('test/support/projection-catch-up.child');
    dir = mkdtempSync(join(tmpdir(), 'pm-crash-'));
    writeSyntheticLog(join(dir, 'events.db'), { events: EVENTS, subjects: 3_000, seed: 11 });
  }, 300_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('killed twice while catching up, restarted: the views equal a clean rebuild (nothing applied twice, nothing missing)', async () => {
    const readModels = join(dir, 'crash-readmodels.db');
    const args = [join(dir, 'events.db'), readModels, '--tx-events', '3000'];
    const lowest = () => {
      const values = [...storedCheckpoints(readModels).values()];
      return values.some((v) => v === null) ? 0 : Math.min(...(values as number[]));
    };
    const store = new SqliteEventStore({ file: join(dir, 'events.db'), clock: new SystemClock() });
    try {
      let previous = 0;
      for (const killAfter of [3_000, 20_000]) {
        const child = startChild(script, args);
        await child.committedAtLeast(previous + killAfter);
        child.process.kill('SIGKILL');
        const exit = await child.exited;
        expect(exit.signal).toBe('SIGKILL');
        const reached = lowest();
        // Killed in the middle: some of the log is in, not all of it.
        expect(reached).toBeGreaterThan(previous);
        expect(reached).toBeLessThan(EVENTS);
        // What a killed process left is a consistent prefix: every projection equals the replay up to its checkpoint.
        const partial = await verifyProjections({ store, liveDatabaseFile: readModels, projections: ALL_PROJECTIONS, scratchDirectory: dir, now: new Date() });
        expect(partial.mismatches).toEqual([]);
        expect(partial.projectionsMatch).toBe(true);
        previous = reached;
      }

      const last = startChild(script, args);
      const exit = await last.exited;
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(lowest()).toBe(EVENTS);
      const report = await verifyProjections({ store, liveDatabaseFile: readModels, projections: ALL_PROJECTIONS, scratchDirectory: dir, now: new Date() });
      expect(report.mismatches).toEqual([]);
      expect(report.projectionsMatch).toBe(true);
      expect(report.eventsReplayed).toBe(EVENTS);
      expect(report.tables.find((t) => t.table === 'history')?.liveRows).toBeGreaterThan(EVENTS / 2);
    } finally {
      await store.close();
    }
  }, 300_000);

  it('killed in the middle of an initial build (no journal): the restart discards the file, builds it again, and it equals a clean replay', async () => {
    const readModels = join(dir, 'initial-build-readmodels.db');
    const args = [join(dir, 'events.db'), readModels, '--initial-build', '--tx-events', '5000'];
    const child = startChild(script, args);
    await child.committedAtLeast(5_000);
    child.process.kill('SIGKILL');
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');
    // What the kill left is marked as an unfinished build.
    const left = new Database(readModels, { readonly: true });
    try {
      expect(left.prepare(`SELECT name FROM sqlite_master WHERE name = '${BUILD_MARKER}'`).pluck().get()).toBe(BUILD_MARKER);
    } finally {
      left.close();
    }

    const again = startChild(script, args);
    expect(await again.exited).toMatchObject({ code: 0, signal: null });
    expect(again.committed[again.committed.length - 1]).toBe(EVENTS);
    const store = new SqliteEventStore({ file: join(dir, 'events.db'), clock: new SystemClock() });
    try {
      const report = await verifyProjections({ store, liveDatabaseFile: readModels, projections: ALL_PROJECTIONS, scratchDirectory: dir, now: new Date() });
      expect(report.mismatches).toEqual([]);
      expect(report.projectionsMatch).toBe(true);
      expect(report.eventsReplayed).toBe(EVENTS);
    } finally {
      await store.close();
    }
  }, 300_000);

  it('another process rebuilds every projection on the same file while the service keeps applying new events: no double application', async () => {
    const readModels = join(dir, 'shared-readmodels.db');
    const store = new SqliteEventStore({ file: join(dir, 'events.db'), clock: new SystemClock(), pollIntervalMs: 20 });
    const db = openReadModelDatabase(readModels);
    const service = new ProjectionRunner(store, db, ALL_PROJECTIONS);
    try {
      service.start();
      await service.waitUntilCaughtUp(120_000);
      const subject = (db.prepare('SELECT subject_id FROM subjects LIMIT 1').pluck().get() as string) ?? randomUUID();
      const read = (n: number) => ({
        id: randomUUID(),
        type: 'AuditorAccessed',
        data: { auditor: 'alice', endpoint: 'GET /v1/audit/subjects/{subjectId}/history', query: { n }, subjectId: subject, resultCount: n },
        metadata: { occurredAt: new Date().toISOString(), actor: 'auditor:alice', correlationId: randomUUID(), causationId: null, schemaVersion: 1, subjectId: subject },
      });

      const rebuilder = startChild(script, [join(dir, 'events.db'), readModels, '--rebuild', '--tx-events', '2000']);
      let n = 0;
      let done = false;
      void rebuilder.exited.then(() => {
        done = true;
      });
      while (!done) {
        await store.append('audit-2026-03-02', [read(++n)], 'any');
        await new Promise((r) => setTimeout(r, 20));
      }
      const exit = await rebuilder.exited;
      expect(exit).toMatchObject({ code: 0, signal: null });
      for (let i = 0; i < 20; i++) await store.append('audit-2026-03-02', [read(++n)], 'any');
      const head = await store.headPosition();
      if (head) await service.waitFor(head, 120_000);

      const report = await verifyProjections({ store, liveDatabaseFile: readModels, projections: ALL_PROJECTIONS, scratchDirectory: dir, now: new Date() });
      expect(report.mismatches).toEqual([]);
      expect(report.projectionsMatch).toBe(true);
      expect(report.eventsReplayed).toBe(EVENTS + n);
      expect(db.prepare("SELECT count(*) FROM access_log WHERE type = 'AuditorAccessed' AND subject_id = ?").pluck().get(subject)).toBeGreaterThanOrEqual(n);
    } finally {
      await service.close();
      db.close();
      await store.close();
    }
  }, 300_000);
});
