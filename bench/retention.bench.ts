/**
 * Retention sweep benchmark (npm run bench:retention): one sweep of 10,000 due originals among
 * 1,000,000 tracked ones on the embedded stores, then the same 10,000 due among 10× as many
 * tracked, and the ratio of the two times. The sweep's cost must follow the due count only.
 *
 * Prefill (not timed), laid out as a running service's log is (ids are UUIDv7 of the time each
 * thing was created, as the service mints them): in time order, the due originals
 * first (uploaded 25 h before the sweep, one after the other), then the tracked ones that are not
 * due yet (uploaded within the last 24 h). The due originals' ImageUploaded events are encoded by
 * the service's own EventLog (personal fields encrypted with real subject keys, so the sweep
 * decrypts them exactly as in production); the others are bulk-inserted raw (a copy of an encoded
 * event with their own random ids, stream names and object keys: never read by the sweep, they
 * make the log, its stream index, the streams table and the ledger big). The retention ledger gets
 * one row per original, the projection checkpoints are set to the head of the log, and the due
 * originals' objects are written as files.
 *
 * Timed: `RetentionSweeper.sweepOnce()` on the real service (createApp on the prefilled DATA_DIR,
 * schedulers off, an injected clock): the ledger query of due rows, DeleteImageCommand for each
 * (load and decrypt the image stream, decide, delete the object on the filesystem storage, append
 * ImageDeleted with group commit, cancel jobs, wait for the read models), plus the other rules'
 * checks of a sweep. Prints both times, the ratio, and exactly one JSON line:
 * `{"bench":"retention","results":[{"name":…,"value":N,"unit":…,"ceiling":N,"ratio":N}]}`.
 *
 * BENCH_RETENTION_TRACKED (default 1000000) sets the base tracked count; BENCH_RETENTION_DUE
 * (default 10000) the due count; BENCH_CPU_PROF=<folder> profiles each timed sweep; BENCH_RETENTION_BASE_ONLY=1 runs
 * the base scenario alone (no JSON line).
 */
// As the service's entry point does: libuv's thread pool sized before anything uses it.
import '../src/threadpool';
import 'reflect-metadata';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/bootstrap';
import { uuidV7From } from '../src/common/ids/uuid-v7';
import { ManualClock } from '../src/modules/clock/clock.port';
import { loadConfig } from '../src/modules/config/app-config';
import { EventLog } from '../src/modules/event-store/event-log';
import type { EventToAppend } from '../src/modules/event-store/event-store.port';
import { RetentionSweeper } from '../src/modules/retention/sweep/retention-sweeper';
import { createQueryIndexes } from '../src/projections/projection';
import { retentionLedgerProjection } from '../src/projections/retention-ledger.projection';
import { benchLine, type BenchResult } from './bench-result';

const BASE = Number(process.env.BENCH_RETENTION_TRACKED ?? 1_000_000);
const DUE = Number(process.env.BENCH_RETENTION_DUE ?? 10_000);
const GROWTH = 10;
const SUBJECTS_WITH_DUE = 1_000;
const H = 3_600_000;
/** The sweep runs at this (injected) time: due originals were uploaded 25 h before, the others 1 h before. */
const SWEEP_AT = Date.parse('2026-03-10T12:00:00.000Z');
const MASTER_KEY = randomBytes(32).toString('base64');


interface ScenarioResult {
  readonly tracked: number;
  readonly seconds: number;
  readonly deleted: number;
  readonly prefillSeconds: number;
}

/** BENCH_CPU_PROF=<folder>: each timed sweep runs under the V8 profiler (summarise with dist/bench/cpu-profile-summary.js). */
const CPU_PROF = process.env.BENCH_CPU_PROF;

async function startProfiler(): Promise<{ stop(file: string): Promise<string> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      mkdirSync(CPU_PROF as string, { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      return file;
    },
  };
}

/** Ids as the service mints them (UUIDv7, src/common/ids/uuid-v7.ts) at the time the thing was created. */
const idAt = (ms: number) => uuidV7From(ms, randomBytes(10));

const since = (start: number) => (performance.now() - start) / 1000;

function uploadedEvent(imageId: string, subjectId: string) {
  return {
    type: 'ImageUploaded' as const,
    data: {
      imageId,
      subjectId,
      purpose: 'photo-restore' as const,
      contentType: 'image/jpeg' as const,
      objectKey: `originals/${subjectId}/${imageId}`,
      size: 182_331,
      sha256: 'c0ffee5e7a0d9e6c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c',
      width: 1024,
      height: 768,
      faceCount: 1,
      faces: [{ x: 120, y: 80, width: 200, height: 240 }],
    },
  };
}

function config(dataDir: string) {
  return loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', MASTER_KEY, RETENTION_ORPHAN_GRACE: 'PT10M' });
}

async function scenario(tracked: number): Promise<ScenarioResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pm-bench-retention-'));
  try {
    const prefillStart = performance.now();
    const clock = new ManualClock(new Date(SWEEP_AT));

    // 1. The due events, encoded by the service (keys created in its key store), and one template.
    const encoded = new Map<number, { event: EventToAppend; imageId: string; subjectId: string; at: number }>();
    let template: { event: EventToAppend; imageId: string; subjectId: string };
    {
      const app = await createApp(config(dataDir), { clock, schedulers: false });
      const log = app.get(EventLog);
      const subjects = Array.from({ length: SUBJECTS_WITH_DUE }, (_, k) => idAt(SWEEP_AT - 30 * 24 * H + k * 1000)); // registered a month earlier
      const context = { actor: 'subject:bench' as const, correlationId: randomUUID(), causationId: null };
      for (let k = 0; k < DUE; k++) {
        const subjectId = subjects[k % SUBJECTS_WITH_DUE];
        const at = SWEEP_AT - 25 * H + k; // due an hour ago, in upload order
        const imageId = idAt(at);
        clock.set(new Date(at));
        const [event] = await log.encode(`image-${imageId}`, [uploadedEvent(imageId, subjectId)], { ...context, actor: `subject:${subjectId}` });
        encoded.set(k, { event, imageId, subjectId, at });
      }
      clock.set(new Date(SWEEP_AT - H));
      const imageId = idAt(SWEEP_AT - H);
      const subjectId = idAt(SWEEP_AT - 30 * 24 * H);
      const [event] = await log.encode(`image-${imageId}`, [uploadedEvent(imageId, subjectId)], context);
      template = { event, imageId, subjectId };
      await app.close();
    }
    const templateData = JSON.stringify(template.event.data);
    const templateMetadata = JSON.stringify(template.event.metadata);
    const templateAt = new Date(SWEEP_AT - H).toISOString();

    // 2. Bulk insert: events + streams, ledger rows, checkpoints at the head.
    const events = new Database(join(dataDir, 'events.db'));
    events.pragma('journal_mode = OFF');
    events.pragma('synchronous = OFF');
    events.pragma('cache_size = -3000000');
    events.exec('DROP INDEX IF EXISTS events_by_stream');
    const models = new Database(join(dataDir, 'readmodels.db'));
    models.pragma('journal_mode = OFF');
    models.pragma('synchronous = OFF');
    models.pragma('cache_size = -3000000');
    const ledgerIndexes = models
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'retention_ledger' AND sql IS NOT NULL`)
      .pluck()
      .all() as string[];
    for (const index of ledgerIndexes) models.exec(`DROP INDEX IF EXISTS "${index}"`);
    const insertEvent = events.prepare('INSERT INTO events (position, stream, revision, id, type, data, metadata, created) VALUES (?, ?, 0, ?, ?, ?, ?, ?)');
    // Streams are staged and inserted in key order afterwards (a sorted bulk load of the WITHOUT ROWID table).
    events.exec('CREATE TABLE bench_streams_stage (stream TEXT NOT NULL, position INTEGER NOT NULL)');
    const insertStream = events.prepare('INSERT INTO bench_streams_stage (stream, position) VALUES (?, ?)');
    const insertItem = models.prepare(
      `INSERT INTO retention_ledger (rule, item, subject_id, resource, purpose, object_key, clock_start, clock_start_ms, clock_source, state)
       VALUES ('original-after-processing', ?, ?, ?, 'photo-restore', ?, ?, ?, 'upload', 'pending')`,
    );
    const createdBase = SWEEP_AT - 26 * H;
    const CHUNK = 50_000;
    for (let from = 0; from < tracked; from += CHUNK) {
      const to = Math.min(tracked, from + CHUNK);
      events.exec('BEGIN');
      models.exec('BEGIN');
      for (let i = from; i < to; i++) {
        const position = i + 1;
        const created = createdBase + Math.floor((i * H) / tracked);
        const due = encoded.get(i);
        let imageId: string;
        let subjectId: string;
        let at: string;
        let atMs: number;
        if (due) {
          ({ imageId, subjectId } = due);
          atMs = due.at;
          at = new Date(atMs).toISOString();
          insertEvent.run(position, `image-${imageId}`, due.event.id, due.event.type, JSON.stringify(due.event.data), JSON.stringify(due.event.metadata), created);
        } else {
          imageId = idAt(created);
          subjectId = idAt(created - 30 * 24 * H);
          at = templateAt;
          atMs = SWEEP_AT - H;
          const data = templateData.replaceAll(template.imageId, imageId).replaceAll(template.subjectId, subjectId);
          const metadata = templateMetadata.replaceAll(template.subjectId, subjectId);
          insertEvent.run(position, `image-${imageId}`, idAt(created), 'ImageUploaded', data, metadata, created);
        }
        insertStream.run(`image-${imageId}`, position);
        insertItem.run(imageId, subjectId, `image:${imageId}`, `originals/${subjectId}/${imageId}`, at, atMs);
      }
      events.exec('COMMIT');
      models.exec('COMMIT');
    }
    const lastCreated = createdBase + Math.floor(((tracked - 1) * H) / tracked);
    events.prepare('UPDATE log_head SET last_position = ?, last_created = ? WHERE id = 1').run(tracked, lastCreated);
    events.exec('INSERT INTO streams (stream, last_revision, last_position, state) SELECT stream, 0, position, 0 FROM bench_streams_stage ORDER BY stream');
    events.exec('DROP TABLE bench_streams_stage');
    events.exec('CREATE UNIQUE INDEX events_by_stream ON events (stream, revision)');
    events.pragma('journal_mode = WAL');
    events.close();
    // The indexes, built once over the whole table.
    retentionLedgerProjection.setup(models);
    createQueryIndexes(models, retentionLedgerProjection);
    models.prepare('UPDATE projection_checkpoints SET commit_position = ?, prepare_position = ?').run(tracked, tracked);
    models.pragma('journal_mode = WAL');
    models.close();

    // 3. The due originals' objects.
    for (const { imageId, subjectId } of encoded.values()) {
      const dir = join(dataDir, 'objects', 'originals', subjectId);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, imageId), randomBytes(256));
    }
    const prefillSeconds = since(prefillStart);

    // 4. The service on the prefilled stores; one timed sweep. The prefill's gigabytes of dirty
    // pages are written back first (as bench:api does before each phase): their writeback would
    // otherwise land on the sweep's fsyncs.
    execFileSync('sync');
    clock.set(new Date(SWEEP_AT));
    const app = await createApp(config(dataDir), { clock, schedulers: false });
    try {
      const sweeper = app.get(RetentionSweeper);
      const profiler = CPU_PROF ? await startProfiler() : null;
      const start = performance.now();
      const report = await sweeper.sweepOnce();
      const seconds = since(start);
      if (profiler) console.log(`  profile: ${await profiler.stop(join(CPU_PROF as string, `sweep-${tracked}.cpuprofile`))}`);
      const deleted = report.originals?.deleted ?? 0;
      if (deleted !== DUE || (report.originals?.failed ?? 0) > 0) throw new Error(`the sweep deleted ${deleted} of ${DUE} due originals: ${JSON.stringify(report.originals)}`);
      return { tracked, seconds, deleted, prefillSeconds };
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`retention sweep benchmark: ${DUE.toLocaleString('en')} due among ${BASE.toLocaleString('en')} and ${(BASE * GROWTH).toLocaleString('en')} tracked originals`);
  const small = await scenario(BASE);
  console.log(`  ${small.tracked.toLocaleString('en')} tracked: prefill ${small.prefillSeconds.toFixed(1)} s, one sweep deleted ${small.deleted} in ${small.seconds.toFixed(2)} s`);
  if (process.env.BENCH_RETENTION_BASE_ONLY === '1') return; // profiling runs: the base scenario alone, no JSON line
  const large = await scenario(BASE * GROWTH);
  console.log(`  ${large.tracked.toLocaleString('en')} tracked: prefill ${large.prefillSeconds.toFixed(1)} s, one sweep deleted ${large.deleted} in ${large.seconds.toFixed(2)} s`);
  const growth = large.seconds / small.seconds;
  console.log(`  growth for ${GROWTH}x tracked with the same due count: ${growth.toFixed(2)}x`);
  console.log('');
  const results: BenchResult[] = [
    { name: `sweep of ${DUE.toLocaleString('en')} due among ${BASE.toLocaleString('en')}`, value: round(small.seconds), unit: 's', ceiling: 5, ratio: round(small.seconds / 5) },
    { name: `growth for ${GROWTH}x tracked`, value: round(growth), unit: 'x', ceiling: 1.5, ratio: round(growth / 1.5) },
  ];
  console.log(benchLine('retention', results));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
