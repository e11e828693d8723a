import Database, { type Database as Db } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The local SQLite database of read models. Each instance keeps its own; the log is the source of
 * truth. synchronous=NORMAL is enough: the checkpoint is written in the same transaction as the
 * rows, so a lost tail of transactions is simply replayed.
 */
export function openReadModelDatabase(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  configureReadModelConnection(db);
  return db;
}

/** The settings of a read-model connection (the journal aside: WAL, set by whoever opens the file). */
export function configureReadModelConnection(db: Db): void {
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('secure_delete = ON');
  db.pragma('cache_size = -65536');
  ensureCheckpointTable(db);
}

/**
 * A throw-away database for a verification replay: no journal, no fsync (a crash just loses the
 * scratch file), temporary b-trees on disk so a large comparison does not grow the heap.
 */
export function openScratchDatabase(file: string): Db {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('wal_autocheckpoint = 5000');
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
