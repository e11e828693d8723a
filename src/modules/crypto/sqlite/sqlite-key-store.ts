import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CachingKeyStore, DESTROYED, type Destroyed, type KeyStoreOptions, type WrappedKeyRecord } from '../caching-key-store';
import { KeyStoreUnavailableError } from '../crypto.errors';

export interface SqliteKeyStoreOptions extends KeyStoreOptions {
  /** The keys live in `<dataDir>/keys.db` (created with mode 0600). */
  readonly dataDir: string;
  /** How long to wait for a lock held by another instance on the same file. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
}

export const KEYS_DB_FILE = 'keys.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS subject_keys (
  subject_id    TEXT PRIMARY KEY,
  wrapped_key   BLOB NOT NULL,
  master_key_id TEXT NOT NULL,
  algorithm     TEXT NOT NULL,
  created_at    TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS destroyed_subject_keys (
  subject_id   TEXT PRIMARY KEY,
  destroyed_at TEXT NOT NULL
) WITHOUT ROWID;
`;

interface KeyRow {
  readonly wrapped_key: Buffer | null;
  readonly master_key_id: string | null;
  readonly algorithm: string | null;
  readonly destroyed_at: string | null;
}

interface CheckpointRow {
  readonly busy: number;
  readonly log: number;
  readonly checkpointed: number;
}

const CHECKPOINT_ATTEMPTS = 5;

/**
 * The embedded KeyStore: `DATA_DIR/keys.db`, WAL, synchronous=FULL, secure_delete=ON.
 *
 * Destroying a key deletes its row (secure_delete overwrites the freed cell with zeros), records a
 * destroyed marker (subject id and time only) in the same transaction, then runs
 * `wal_checkpoint(TRUNCATE)` so that no copy of the wrapped key survives in the WAL either. Several
 * instances (processes) may share the file: creation is `INSERT OR IGNORE` then read, inside an
 * IMMEDIATE transaction that also checks the destroyed marker, so everybody gets the same key and a
 * destroyed subject never gets a new one.
 */
export class SqliteKeyStore extends CachingKeyStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly selectState: Database.Statement<[string], KeyRow>;
  private readonly createTx: (subjectId: string, record: WrappedKeyRecord, createdAt: string) => KeyRow | Destroyed;
  private readonly destroyTx: (subjectId: string, destroyedAt: string) => void;

  constructor(options: SqliteKeyStoreOptions) {
    super(options);
    fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    this.file = path.join(options.dataDir, KEYS_DB_FILE);
    createPrivateFile(this.file);
    this.db = new Database(this.file, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('secure_delete = ON');
      this.db.exec(SCHEMA);
    } catch (error) {
      this.db.close();
      throw new KeyStoreUnavailableError(`Cannot open the key store ${this.file}`, error);
    }

    // One statement, one snapshot: the key row and the destroyed marker are read together.
    this.selectState = this.db.prepare<[string], KeyRow>(`
      SELECT k.wrapped_key, k.master_key_id, k.algorithm, d.destroyed_at
      FROM (SELECT ? AS id) AS q
      LEFT JOIN subject_keys AS k ON k.subject_id = q.id
      LEFT JOIN destroyed_subject_keys AS d ON d.subject_id = q.id`);
    const isDestroyed = this.db.prepare<[string], { one: number }>('SELECT 1 AS one FROM destroyed_subject_keys WHERE subject_id = ?');
    const insertKey = this.db.prepare<[string, Buffer, string, string, string]>(
      `INSERT OR IGNORE INTO subject_keys (subject_id, wrapped_key, master_key_id, algorithm, created_at)
       VALUES (?, ?, ?, ?, ?)`,
    );
    const deleteKey = this.db.prepare<[string]>('DELETE FROM subject_keys WHERE subject_id = ?');
    const insertMarker = this.db.prepare<[string, string]>(
      'INSERT OR IGNORE INTO destroyed_subject_keys (subject_id, destroyed_at) VALUES (?, ?)',
    );

    const create = this.db.transaction((subjectId: string, record: WrappedKeyRecord, createdAt: string): KeyRow | Destroyed => {
      if (isDestroyed.get(subjectId)) return DESTROYED;
      insertKey.run(subjectId, record.wrappedKey, record.masterKeyId, record.algorithm, createdAt);
      const row = this.selectState.get(subjectId);
      if (!row) throw new Error('unreachable: the state query always answers one row');
      return row;
    });
    // IMMEDIATE: take the write lock first, so the marker check and the insert see the same state.
    this.createTx = (subjectId, record, createdAt) => create.immediate(subjectId, record, createdAt);
    const destroy = this.db.transaction((subjectId: string, destroyedAt: string) => {
      deleteKey.run(subjectId);
      insertMarker.run(subjectId, destroyedAt);
    });
    this.destroyTx = (subjectId, destroyedAt) => destroy.immediate(subjectId, destroyedAt);
  }

  protected async readWrapped(subjectId: string): Promise<WrappedKeyRecord | Destroyed | null> {
    const row = this.run(() => this.selectState.get(subjectId));
    return row ? toState(row) : null;
  }

  protected async insertWrapped(subjectId: string, record: WrappedKeyRecord): Promise<WrappedKeyRecord | Destroyed> {
    const stored = this.run(() => this.createTx(subjectId, record, this.clock.now().toISOString()));
    if (stored === DESTROYED) return DESTROYED;
    const state = toState(stored);
    if (state === null) throw new KeyStoreUnavailableError(`The data key of subject ${subjectId} was not stored`);
    return state;
  }

  protected async destroyWrapped(subjectId: string): Promise<void> {
    this.run(() => this.destroyTx(subjectId, this.clock.now().toISOString()));
    await this.truncateWal();
  }

  protected async checkStoreHealth(): Promise<void> {
    this.run(() => this.db.prepare('SELECT 1').get());
  }

  protected async closeStore(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /**
   * Copies the WAL into the database file (where secure_delete already zeroed the deleted cell)
   * and truncates the WAL to zero bytes. A reader of another connection holding an old snapshot
   * makes it report busy: retry a few times, then fail so that the caller retries `destroy`
   * (idempotent; the key itself is already unusable).
   */
  private async truncateWal(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const rows = this.run(() => this.db.pragma('wal_checkpoint(TRUNCATE)') as CheckpointRow[]);
      if (rows[0]?.busy === 0) return;
      if (attempt >= CHECKPOINT_ATTEMPTS) {
        throw new KeyStoreUnavailableError(
          'The key was destroyed, but the key store WAL could not be truncated because another connection is reading; retry destroy',
        );
      }
      await sleep(25 * attempt);
    }
  }

  private run<T>(operation: () => T): T {
    if (!this.db.open || this.isClosed) throw new KeyStoreUnavailableError('The key store is closed');
    try {
      return operation();
    } catch (error) {
      if (error instanceof Database.SqliteError) {
        throw new KeyStoreUnavailableError(`Key store operation failed (${error.code})`, error);
      }
      throw error;
    }
  }
}

function toState(row: KeyRow): WrappedKeyRecord | Destroyed | null {
  if (row.destroyed_at !== null) return DESTROYED;
  if (row.wrapped_key === null || row.master_key_id === null || row.algorithm === null) return null;
  return { wrappedKey: row.wrapped_key, masterKeyId: row.master_key_id, algorithm: row.algorithm };
}

/** Creates the database file with mode 0600 (SQLite gives -wal and -shm the same mode). */
function createPrivateFile(file: string): void {
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
  } finally {
    fs.closeSync(fd);
  }
}
