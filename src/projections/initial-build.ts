import Database, { type Database as Db } from 'better-sqlite3';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { EventStore, StoredEvent } from '../modules/event-store/event-store.port';
import type { Projection } from './projection';
import { ProjectionApplier } from './projection-applier';
import { configureReadModelConnection, openReadModelDatabase } from './read-model-database';

/**
 * Opening this instance's read models, building them in bulk when the file does not exist yet.
 *
 * A missing read-model file (a new instance, a new DATA_DIR over an existing log, or the file
 * removed to have it rebuilt) used to be filled by the projection runner from position zero:
 * WAL mode, a commit every 2,000 events. Random index pages are then written again at every
 * commit, once to the WAL and once more by the checkpoints (20 GB written for 1,000,000 events).
 * Nobody reads a file that does not exist yet, so it is built first, before the service uses it:
 * no journal, no fsync, a commit every BUILD_TRANSACTION_EVENTS events (dirty pages are written
 * once), the same projections through the same ProjectionApplier, checkpoints in the same
 * transactions as the rows, and the indexes only readers use (Projection.queryIndexes) created at
 * the end, each by one sort of its finished table rather than grown in random order. At the end the file is made durable (one fsync), turned to WAL and
 * handed to the runner, which goes on live from the checkpoints.
 *
 * Without a journal a crash mid-build can leave the file inconsistent, so the build is marked: a
 * table BUILD_MARKER is committed first and dropped by the final, fsynced commit. A file found
 * with the marker (or one SQLite calls corrupt or not a database) is a read model that can be
 * rebuilt, and is: it is removed and built again. If the log cannot be read (the store is down),
 * the partial file is removed and a fresh one is opened for the runner, which catches up when the
 * store is back.
 *
 * Event listeners of the runner do not hear of the events of an initial build (as after a restart
 * over an existing file): the sagas' own sweeps cover what the log already holds.
 */
export interface InitialBuild {
  readonly events: number;
  readonly seconds: number;
}

export interface OpenReadModelsOptions {
  readonly log?: Logger;
  /** Events per build transaction (default BUILD_TRANSACTION_EVENTS). */
  readonly transactionEvents?: number;
  /** Told the number of events built after every commit of the build. */
  readonly onProgress?: (events: number) => void;
}

export const BUILD_MARKER = 'read_model_initial_build';
const BUILD_TRANSACTION_EVENTS = 250_000;
const BUILD_PAGE_EVENTS = 1_000;

export async function openReadModels(
  file: string,
  store: EventStore,
  projections: readonly Projection[],
  options: OpenReadModelsOptions = {},
): Promise<{ db: Db; build: InitialBuild | null }> {
  if (file === ':memory:') return { db: openReadModelDatabase(file), build: null };
  discardUnusableFile(file, options.log);
  if (existsSync(file)) return { db: openReadModelDatabase(file), build: null };

  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    // Nobody else may open the file while it has no journal (another instance misconfigured onto
    // the same file, the audit CLI): they get SQLITE_BUSY instead of a half-built file.
    db.pragma('locking_mode = EXCLUSIVE');
    // Rows of erased subjects deleted during the build are overwritten, as in the live file.
    db.pragma('secure_delete = ON');
    db.pragma('cache_size = -65536');
    db.exec(`CREATE TABLE ${BUILD_MARKER} (started INTEGER NOT NULL)`);
    db.prepare(`INSERT INTO ${BUILD_MARKER} (started) VALUES (1)`).run();
    const build = await buildFromLog(db, store, projections, options.transactionEvents ?? BUILD_TRANSACTION_EVENTS, options.onProgress);
    // The last commit flushes everything before it to the disk, then the file is an ordinary read model.
    db.pragma('synchronous = FULL');
    db.pragma('locking_mode = NORMAL'); // the exclusive lock goes with the next commit
    db.exec(`DROP TABLE ${BUILD_MARKER}`);
    db.pragma('journal_mode = WAL');
    configureReadModelConnection(db);
    if (build.events > 0) options.log?.info({ events: build.events, seconds: Math.round(build.seconds * 10) / 10 }, 'read models built from the log');
    return { db, build };
  } catch (error) {
    db.close();
    removeDatabaseFiles(file);
    options.log?.warn({ err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'initial build of the read models failed; the projection runner catches up instead');
    return { db: openReadModelDatabase(file), build: null };
  }
}

async function buildFromLog(
  db: Db,
  store: EventStore,
  projections: readonly Projection[],
  transactionEvents: number,
  onProgress?: (events: number) => void,
): Promise<InitialBuild> {
  const started = process.hrtime.bigint();
  const applier = new ProjectionApplier(db, projections, undefined, true);
  let events = 0;
  let inTransaction = 0;
  let page: StoredEvent[] = [];
  applier.begin();
  try {
    for await (const event of store.readAll({ fromPosition: 'start' })) {
      page.push(event);
      if (page.length < BUILD_PAGE_EVENTS) continue;
      applier.applyOpen(page);
      events += page.length;
      inTransaction += page.length;
      page = [];
      if (inTransaction >= transactionEvents) {
        applier.commit();
        onProgress?.(events);
        applier.begin();
        inTransaction = 0;
      }
    }
    applier.applyOpen(page);
    events += page.length;
    applier.commit();
    onProgress?.(events);
    // Indexes only readers use, on the full tables: one sort each.
    db.transaction(() => applier.createAllQueryIndexes())();
  } catch (error) {
    applier.rollback();
    throw error;
  }
  return { events, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Removes a read-model file left by an interrupted initial build, or one SQLite cannot read. */
function discardUnusableFile(file: string, log?: Logger): void {
  if (!existsSync(file)) return;
  let reason: string | null = null;
  let db: Db | null = null;
  try {
    db = new Database(file, { fileMustExist: true });
    const marker = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).pluck().get(BUILD_MARKER);
    if (marker !== undefined) reason = 'an initial build was interrupted';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'SQLITE_CORRUPT' && code !== 'SQLITE_NOTADB') throw error;
    reason = 'SQLite cannot read it';
  } finally {
    db?.close();
  }
  if (reason === null) return;
  log?.warn({ reason }, 'read-model file discarded: it is rebuilt from the log');
  removeDatabaseFiles(file);
}

function removeDatabaseFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
}
