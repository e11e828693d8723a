import Database, { type Database as Db } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The page size of a read-model file SQLite creates (it has no effect on an existing file, which
 * keeps its own). Larger than SQLite's default of 4 KiB: the tables are many rows of a few hundred
 * bytes each, written mostly in order, so each page holds four times as many of them, the b-trees
 * are a level shallower and a build writes and splits a quarter as many pages. Measured on the
 * initial build of 1,000,000 events (`npm run bench:replay`, six interleaved pairs): 9% less
 * wall time and 8% less CPU than with 4 KiB pages. The page cache is sized in KiB, so it holds as
 * much as before.
 */
export const READ_MODEL_PAGE_SIZE = 16_384;
/** A verification replay's automatic checkpoint (its WAL), in bytes: about 20 MB. */
const SCRATCH_WAL_AUTOCHECKPOINT_BYTES = 20_480_000;

/** Sets READ_MODEL_PAGE_SIZE on a connection to a file not written yet; before its journal mode. */
export function setReadModelPageSize(db: Db): void {
  db.pragma(`page_size = ${READ_MODEL_PAGE_SIZE}`);
}

/** How many pages of `db` make `bytes` (at least one): WAL thresholds are counted in pages. */
export function walPages(db: Db, bytes: number): number {
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  return Math.max(1, Math.ceil(bytes / pageSize));
}

/**
 * The local SQLite database of read models. Each instance keeps its own; the log is the source of
 * truth. synchronous=NORMAL is enough: the checkpoint is written in the same transaction as the
 * rows, so a lost tail of transactions is simply replayed.
 */
export function openReadModelDatabase(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  setReadModelPageSize(db);
  db.pragma('journal_mode = WAL');
  configureReadModelConnection(db);
  return db;
}

/**
 * The settings of a read-model connection (the journal aside: WAL, set by whoever opens the file).
 *
 * Temporary storage in memory: a statement that writes several rows and may fail half-way (the
 * runner's 40-row inserts, under UNIQUE and NOT NULL constraints) keeps a statement journal, a copy
 * of each page it changes, so that it can be undone alone. SQLite writes that journal to a
 * temporary file once it passes 64 KiB, four 16 KiB pages: under the content-read load of
 * `npm run bench:api`, those writes were 6.5% of the event loop's time (perf). In memory it is a
 * few pages per statement, freed when the statement ends. Large sorts are not this connection's:
 * the indexes it creates go through createQueryIndexes, which sorts them on disk.
 */
export function configureReadModelConnection(db: Db): void {
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('secure_delete = ON');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  ensureCheckpointTable(db);
}

/**
 * A throw-away database for a verification replay: no journal, no fsync (a crash just loses the
 * scratch file), temporary b-trees on disk so a large comparison does not grow the heap.
 */
export function openScratchDatabase(file: string): Db {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  setReadModelPageSize(db);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma(`wal_autocheckpoint = ${walPages(db, SCRATCH_WAL_AUTOCHECKPOINT_BYTES)}`);
  db.pragma('cache_size = -32768');
  db.pragma('temp_store = FILE');
  ensureCheckpointTable(db);
  return db;
}

/** Where each projection stands: written in the same transaction as its rows. */
export function ensureCheckpointTable(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    commit_position INTEGER,
    prepare_position INTEGER,
    events_applied INTEGER NOT NULL DEFAULT 0
  )`);
}
