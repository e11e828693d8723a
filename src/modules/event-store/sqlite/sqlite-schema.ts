import type Database from 'better-sqlite3';

/**
 * Schema of the embedded event store (one SQLite file, WAL mode).
 *
 * - `events`: the log. `position` is the rowid: global, strictly increasing, never reused (it is
 *   assigned from `log_head`, not from max(rowid), so purging the newest events cannot make a
 *   position come back). `position` is both the commit and the prepare position of the event.
 * - `streams`: one row per stream that was ever written, deleted or given metadata: last revision,
 *   deletion state, the user's metadata (`max_age` seconds, `max_count`, `truncate_before`) and
 *   `deleted_before` (revisions below it were soft-deleted before the stream was recreated).
 *   The row of a tombstoned stream stays for ever, so the name stays reserved.
 * - `log_head`: the last position ever assigned and the newest `created` time. `created` (ms, from
 *   the injected clock) never goes backwards in log order, so the events a stream's maxAge hides
 *   are always a prefix of the stream and a purge can remove them by revision.
 *
 * Names starting with `$` are refused on append, so the tables never hold system events.
 */
export const SCHEMA_VERSION = 1;

export const STREAM_LIVE = 0;
export const STREAM_SOFT_DELETED = 1;
export const STREAM_TOMBSTONED = 2;

const SCHEMA_V1 = `
CREATE TABLE events (
  position  INTEGER PRIMARY KEY,
  stream    TEXT    NOT NULL,
  revision  INTEGER NOT NULL,
  id        TEXT    NOT NULL,
  type      TEXT    NOT NULL,
  data      TEXT    NOT NULL,
  metadata  TEXT    NOT NULL,
  created   INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_by_stream ON events (stream, revision);

CREATE TABLE streams (
  stream          TEXT    PRIMARY KEY,
  last_revision   INTEGER NOT NULL,
  last_position   INTEGER,
  state           INTEGER NOT NULL DEFAULT 0,
  deleted_before  INTEGER,
  has_metadata    INTEGER NOT NULL DEFAULT 0,
  max_age         INTEGER,
  max_count       INTEGER,
  truncate_before INTEGER
) WITHOUT ROWID;
-- The streams a purge has to look at.
CREATE INDEX streams_to_purge ON streams (stream)
  WHERE state <> 0 OR deleted_before IS NOT NULL OR max_age IS NOT NULL
     OR max_count IS NOT NULL OR truncate_before IS NOT NULL;

CREATE TABLE log_head (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  last_position INTEGER NOT NULL,
  last_created  INTEGER NOT NULL
);
INSERT INTO log_head (id, last_position, last_created) VALUES (1, 0, -9007199254740991);
`;

export interface ConnectionSettings {
  readonly synchronous: 'FULL' | 'NORMAL';
  readonly busyTimeoutMs: number;
  /** Page cache of the connection in KiB (default 32 MiB). */
  readonly cacheKiB?: number;
}

/**
 * Pragmas of every connection to the store's file: WAL, the chosen durability, a busy timeout
 * (another process may hold the write lock) and secure_delete, so that deleted rows are
 * overwritten with zeros instead of lingering in free space.
 */
export function configureConnection(db: Database.Database, settings: ConnectionSettings): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(settings.busyTimeoutMs))}`);
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (typeof mode !== 'string' || mode.toLowerCase() !== 'wal') {
    throw new Error(`SQLite event store needs WAL mode, got ${String(mode)}`);
  }
  db.pragma(`synchronous = ${settings.synchronous}`);
  db.pragma('secure_delete = ON');
  // Bigger page cache than the 2 MB default: stream reads and readAll scans stay in memory.
  db.pragma(`cache_size = -${Math.max(64, Math.floor(settings.cacheKiB ?? 32768))}`);
  db.pragma('temp_store = MEMORY');
}

/** Creates the schema in an empty file; refuses a file written by a newer schema. */
export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true });
  if (typeof version !== 'number') throw new Error('Cannot read the schema version of the event store file');
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(`The event store file has schema version ${version}; this build knows ${SCHEMA_VERSION}`);
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    // Another process may have created the schema while we waited for the write lock.
    const now = db.pragma('user_version', { simple: true });
    if (now === 0) {
      db.exec(SCHEMA_V1);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
