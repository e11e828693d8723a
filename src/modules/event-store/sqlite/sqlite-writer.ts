import type Database from 'better-sqlite3';
import type { ExpectedRevision } from '../event-store.port';
import { STREAM_LIVE, STREAM_SOFT_DELETED, STREAM_TOMBSTONED } from './sqlite-schema';

/**
 * The write side of the embedded event store: one connection, every write transaction. The same
 * code runs on the main thread (SqliteEventStore `writer: 'inline'`) or on the store's writer
 * thread (`writer: 'thread'`, sqlite-writer.worker.ts), so it speaks only in plain, structured-
 * cloneable values: operations in, outcomes out (refusals as descriptors, not Error objects).
 */

/** An event already validated and serialised by the store. */
export interface SerializedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

export type WriteOperation =
  | { readonly kind: 'append'; readonly stream: string; readonly expected: ExpectedRevision; readonly events: readonly SerializedEvent[] }
  | { readonly kind: 'delete' | 'tombstone'; readonly stream: string; readonly expected: ExpectedRevision }
  | {
      readonly kind: 'metadata';
      readonly stream: string;
      readonly expected: ExpectedRevision;
      readonly metadata: { readonly maxAge: number | null; readonly maxCount: number | null; readonly truncateBefore: number | null };
    };

/** A caller's own refusal inside a committed batch. */
export type WriteRefusal =
  | { readonly type: 'wrong-expected-version'; readonly stream: string; readonly expected: ExpectedRevision; readonly actual: bigint | 'no_stream' }
  | { readonly type: 'stream-deleted'; readonly stream: string };

export type OperationOutcome =
  | { readonly ok: true; readonly nextExpectedRevision?: bigint; readonly position?: bigint }
  | { readonly ok: false; readonly refusal: WriteRefusal };

/** A driver failure, carried across threads: the message and SQLite's code (SQLITE_BUSY …). */
export interface WriteFailure {
  readonly message: string;
  readonly code?: string;
}

export type BatchOutcome =
  | { readonly committed: true; readonly outcomes: readonly OperationOutcome[]; readonly appended: boolean }
  | { readonly committed: false; readonly failure: WriteFailure };

export interface PurgeStepOutcome {
  readonly removed: number;
  readonly afterStream: string;
  readonly done: boolean;
}

/** Rows deleted per purge transaction. */
export const PURGE_BATCH_ROWS = 500;
export const PURGE_STREAMS_PER_TRANSACTION = 200;
const MAX_REVISION = Number.MAX_SAFE_INTEGER;

/** A row of `streams` in raw mode. */
export type StreamRow = [
  lastRevision: number,
  lastPosition: number | null,
  state: number,
  hasMetadata: number,
  deletedBefore: number | null,
  maxAge: number | null,
  maxCount: number | null,
  truncateBefore: number | null,
];

type Statement = Database.Statement<unknown[], unknown>;

export const STREAM_ROW_SQL = `SELECT last_revision, last_position, state, has_metadata, deleted_before, max_age, max_count, truncate_before
  FROM streams WHERE stream = ?`;

/** The lowest revision that truncateBefore, maxCount and an earlier soft delete leave visible. */
export function lowestVisibleRevision(row: StreamRow): number {
  let lowest = 0;
  if (row[4] !== null) lowest = Math.max(lowest, row[4]);
  if (row[7] !== null) lowest = Math.max(lowest, row[7]);
  if (row[6] !== null) lowest = Math.max(lowest, row[0] - row[6] + 1);
  return lowest;
}

/** Turns a driver error into what crosses the thread boundary. */
export function toWriteFailure(error: unknown): WriteFailure {
  const code = (error as { code?: unknown } | undefined)?.code;
  return { message: error instanceof Error ? error.message : String(error), ...(typeof code === 'string' ? { code } : {}) };
}

interface OpState {
  outcome?: OperationOutcome;
}

/**
 * Applies write batches and purge steps on its connection. Each batch is one `BEGIN IMMEDIATE …
 * COMMIT`; every operation is decided on its own inside it (a conflict refuses only that caller,
 * later operations see earlier ones); if the transaction fails, nothing of it is kept.
 */
export class SqliteWriter {
  private readonly s: ReturnType<typeof prepareWriteStatements>;

  constructor(private readonly db: Database.Database) {
    this.s = prepareWriteStatements(db);
  }

  /** `now`: the store clock's time in ms (the `created` of appended events never goes backwards). */
  writeBatch(batch: readonly WriteOperation[], now: number): BatchOutcome {
    const s = this.s;
    const states: OpState[] = batch.map(() => ({}));
    let appended = false;
    try {
      s.begin.run();
      try {
        const head = s.getHead.get() as [number, number];
        const startPosition = head[0];
        let position = startPosition;
        // `created` never goes backwards in log order (see sqlite-schema.ts).
        const created = Math.max(now, head[1]);
        for (let i = 0; i < batch.length; i++) {
          const op = batch[i];
          switch (op.kind) {
            case 'append':
              position = this.applyAppend(op, states[i], position, created);
              break;
            case 'delete':
            case 'tombstone':
              this.applyDelete(op, states[i]);
              break;
            case 'metadata':
              this.applyMetadata(op, states[i]);
              break;
          }
        }
        if (position !== startPosition) {
          s.setHead.run(position, created);
          appended = true;
        }
        s.commit.run();
      } catch (error) {
        this.rollbackQuietly();
        throw error;
      }
    } catch (error) {
      return { committed: false, failure: toWriteFailure(error) };
    }
    return { committed: true, outcomes: states.map((state) => state.outcome ?? { ok: true }), appended };
  }

  /** One purge transaction: at most PURGE_BATCH_ROWS rows, at most PURGE_STREAMS_PER_TRANSACTION streams. Throws on failure. */
  purgeStep(afterStream: string, now: number): PurgeStepOutcome {
    const s = this.s;
    s.begin.run();
    try {
      const candidates = s.purgeCandidates.all(afterStream, PURGE_STREAMS_PER_TRANSACTION) as [string][];
      let budget = PURGE_BATCH_ROWS;
      let removed = 0;
      let cursor = afterStream;
      let done = candidates.length < PURGE_STREAMS_PER_TRANSACTION;
      for (const [stream] of candidates) {
        const row = s.getStream.get(stream) as StreamRow;
        const cutoff = this.purgeCutoff(stream, row, now);
        const deleted = cutoff > 0 ? s.deleteBelow.run(stream, cutoff, budget).changes : 0;
        removed += deleted;
        budget -= deleted;
        if (budget <= 0) {
          // This stream may have more: start the next transaction with it again.
          done = false;
          break;
        }
        cursor = stream;
      }
      s.commit.run();
      return { removed, afterStream: cursor, done };
    } catch (error) {
      this.rollbackQuietly();
      throw error;
    }
  }

  /**
   * One `wal_checkpoint(TRUNCATE)` attempt with a short busy timeout (then the connection's own
   * again); answers SQLite's busy flag (0: done).
   */
  checkpointAttempt(attemptBusyTimeoutMs: number, busyTimeoutMs: number): number {
    this.db.pragma(`busy_timeout = ${attemptBusyTimeoutMs}`);
    try {
      const result = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      return result[0]?.busy ?? 1;
    } finally {
      this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    }
  }

  /**
   * Ends a failed write transaction. SQLite may already have rolled it back (IO errors, full
   * disk); a failing ROLLBACK must not leave the connection inside a transaction, where every
   * later BEGIN would fail.
   */
  private rollbackQuietly(): void {
    for (let attempt = 0; attempt < 3 && this.db.inTransaction; attempt++) {
      try {
        this.s.rollback.run();
      } catch {
        // Retried; the original error is what the callers get.
      }
    }
  }

  /** Decides one append inside the batch transaction; returns the last position used. */
  private applyAppend(op: Extract<WriteOperation, { kind: 'append' }>, state: OpState, position: number, created: number): number {
    const s = this.s;
    const stream = op.stream;
    const events = op.events;
    const expected = op.expected;
    // Fast path, one statement instead of read-then-write: an exact revision that is the live
    // stream's last one, or no_stream on a stream that has no row yet. Anything else (conflicts,
    // idempotent retries, deleted streams, 'any') takes the full commit check below.
    if (typeof expected === 'bigint' && expected <= BigInt(MAX_REVISION)) {
      const last = Number(expected);
      const lastPosition = position + events.length;
      if (s.advanceLiveStream.run(last + events.length, lastPosition, stream, last).changes === 1) {
        return this.insertEvents(op, state, position, last, created);
      }
    } else if (expected === 'no_stream') {
      if (s.insertStreamIfNew.run(stream, events.length - 1, position + events.length).changes === 1) {
        return this.insertEvents(op, state, position, -1, created);
      }
    }
    const row = s.getStream.get(stream) as StreamRow | undefined;
    const decision = this.decide(stream, row, op.expected, op.events);
    if (decision !== null) {
      state.outcome = decision;
      return position;
    }
    const lastRevision = row === undefined ? -1 : row[0];
    const lastPosition = position + events.length;
    const newLastRevision = lastRevision + events.length;
    if (row === undefined) s.insertStream.run(stream, newLastRevision, lastPosition, STREAM_LIVE);
    else if (row[2] === STREAM_SOFT_DELETED) s.recreateStream.run(newLastRevision, lastPosition, lastRevision + 1, stream);
    else s.updateStreamHead.run(newLastRevision, lastPosition, stream);
    return this.insertEvents(op, state, position, lastRevision, created);
  }

  /** Inserts the append's events after `lastRevision` and `position`; sets the caller's outcome. */
  private insertEvents(op: Extract<WriteOperation, { kind: 'append' }>, state: OpState, position: number, lastRevision: number, created: number): number {
    const insert = this.s.insertEvent;
    const stream = op.stream;
    const events = op.events;
    let revision = lastRevision;
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      insert.run(++position, stream, ++revision, e.id, e.type, e.data, e.metadata, created);
    }
    state.outcome = { ok: true, nextExpectedRevision: BigInt(revision), position: BigInt(position) };
    return position;
  }

  /**
   * EventStoreDB's commit check. Returns a refusal (this caller's), a success outcome (an
   * idempotent retry: the original result), or null (append after the stream's last revision).
   * `events` null: a delete or tombstone, where only the expected revision is checked.
   */
  private decide(stream: string, row: StreamRow | undefined, expected: ExpectedRevision, events: readonly SerializedEvent[] | null): OperationOutcome | null {
    const lastRevision = row === undefined ? -1 : row[0];
    const state = row === undefined ? STREAM_LIVE : row[2];
    if (state === STREAM_TOMBSTONED) return refused({ type: 'stream-deleted', stream });
    const actual = lastRevision < 0 ? ('no_stream' as const) : BigInt(lastRevision);

    if (expected === 'any' || expected === 'stream_exists') {
      if (expected === 'stream_exists') {
        // As EventStoreDB: a soft-deleted stream answers "deleted"; a stream that only has
        // metadata counts as existing.
        if (state === STREAM_SOFT_DELETED) return refused({ type: 'stream-deleted', stream });
        if (lastRevision < 0 && (row === undefined || row[3] === 0)) {
          return refused({ type: 'wrong-expected-version', stream, expected, actual });
        }
      }
      // Idempotent retry: the ids are the stream's last events.
      if (events !== null && lastRevision + 1 >= events.length) {
        const original = this.storedIdsMatch(stream, lastRevision - events.length + 1, events);
        if (original === 'all') return this.originalResult(stream, lastRevision);
      }
      return null;
    }

    const expectedRevision = expected === 'no_stream' ? -1 : expected > BigInt(MAX_REVISION) ? Infinity : Number(expected);
    if (expectedRevision === lastRevision) return null;
    if (expectedRevision > lastRevision) return refused({ type: 'wrong-expected-version', stream, expected, actual });
    // expected < last: a retry of events already stored right after `expected`?
    if (events !== null) {
      const match = this.storedIdsMatch(stream, expectedRevision + 1, events);
      if (match === 'all') return this.originalResult(stream, expectedRevision + events.length);
      if (match === 'partial') return refused({ type: 'wrong-expected-version', stream, expected, actual });
    }
    // A soft-deleted stream can be recreated with no_stream (revisions continue).
    if (expected === 'no_stream' && state === STREAM_SOFT_DELETED) return null;
    return refused({ type: 'wrong-expected-version', stream, expected, actual });
  }

  /** Compares the ids stored from `fromRevision` on with the events' ids. */
  private storedIdsMatch(stream: string, fromRevision: number, events: readonly SerializedEvent[]): 'all' | 'partial' | 'none' {
    const rows = this.s.idsInRange.all(stream, fromRevision, fromRevision + events.length - 1) as [number, string][];
    if (rows.length === 0 || rows[0][0] !== fromRevision || rows[0][1] !== events[0].id) return 'none';
    if (rows.length !== events.length) return 'partial';
    for (let i = 1; i < rows.length; i++) {
      if (rows[i][0] !== fromRevision + i || rows[i][1] !== events[i].id) return 'partial';
    }
    return 'all';
  }

  private originalResult(stream: string, revision: number): OperationOutcome {
    const position = this.s.positionOf.get(stream, revision) as [number];
    return { ok: true, nextExpectedRevision: BigInt(revision), position: BigInt(position[0]) };
  }

  private applyDelete(op: Extract<WriteOperation, { kind: 'delete' | 'tombstone' }>, state: OpState): void {
    const s = this.s;
    const row = s.getStream.get(op.stream) as StreamRow | undefined;
    const decision = this.decide(op.stream, row, op.expected, null);
    if (decision !== null && !decision.ok) {
      state.outcome = decision;
      return;
    }
    if (op.kind === 'tombstone') {
      // Even a stream that never existed is tombstoned: its name is reserved for ever.
      if (row === undefined) s.insertStream.run(op.stream, -1, null, STREAM_TOMBSTONED);
      else s.setState.run(STREAM_TOMBSTONED, op.stream);
    } else if (row !== undefined) {
      s.setState.run(STREAM_SOFT_DELETED, op.stream);
    }
  }

  private applyMetadata(op: Extract<WriteOperation, { kind: 'metadata' }>, state: OpState): void {
    const s = this.s;
    const row = s.getStream.get(op.stream) as StreamRow | undefined;
    if (row !== undefined && row[2] === STREAM_TOMBSTONED) {
      state.outcome = refused({ type: 'stream-deleted', stream: op.stream });
      return;
    }
    const m = op.metadata;
    s.upsertMetadata.run(op.stream, m.maxAge, m.maxCount, m.truncateBefore);
  }

  /** Every revision below the returned one is hidden from reads, hence purgeable. */
  private purgeCutoff(stream: string, row: StreamRow, now: number): number {
    const lastRevision = row[0];
    if (row[2] !== STREAM_LIVE) return lastRevision + 1;
    let cutoff = lowestVisibleRevision(row);
    const maxAge = row[5];
    if (maxAge !== null && cutoff <= lastRevision) {
      // `created` is monotonic in log order, so the expired events are a prefix of the stream.
      const fresh = this.s.firstFresh.get(stream, cutoff, now - maxAge * 1000) as [number] | undefined;
      cutoff = fresh === undefined ? lastRevision + 1 : fresh[0];
    }
    return Math.min(cutoff, lastRevision + 1);
  }
}

function refused(refusal: WriteRefusal): OperationOutcome {
  return { ok: false, refusal };
}

function prepareWriteStatements(db: Database.Database) {
  const raw = (sql: string): Statement => db.prepare(sql).raw(true);
  const run = (sql: string): Statement => db.prepare(sql);
  return {
    begin: run('BEGIN IMMEDIATE'),
    commit: run('COMMIT'),
    rollback: run('ROLLBACK'),
    getHead: raw('SELECT last_position, last_created FROM log_head WHERE id = 1'),
    setHead: run('UPDATE log_head SET last_position = ?, last_created = ? WHERE id = 1'),
    getStream: raw(STREAM_ROW_SQL),
    insertEvent: run('INSERT INTO events (position, stream, revision, id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    insertStream: run('INSERT INTO streams (stream, last_revision, last_position, state) VALUES (?, ?, ?, ?)'),
    updateStreamHead: run('UPDATE streams SET last_revision = ?, last_position = ? WHERE stream = ?'),
    advanceLiveStream: run(
      `UPDATE streams SET last_revision = ?, last_position = ? WHERE stream = ? AND last_revision = ? AND state = ${STREAM_LIVE}`,
    ),
    insertStreamIfNew: run(
      `INSERT INTO streams (stream, last_revision, last_position, state) VALUES (?, ?, ?, ${STREAM_LIVE}) ON CONFLICT (stream) DO NOTHING`,
    ),
    recreateStream: run(
      `UPDATE streams SET last_revision = ?, last_position = ?, state = ${STREAM_LIVE}, deleted_before = ? WHERE stream = ?`,
    ),
    setState: run('UPDATE streams SET state = ? WHERE stream = ?'),
    upsertMetadata: run(
      `INSERT INTO streams (stream, last_revision, last_position, state, has_metadata, max_age, max_count, truncate_before)
       VALUES (?, -1, NULL, ${STREAM_LIVE}, 1, ?, ?, ?)
       ON CONFLICT (stream) DO UPDATE SET
         has_metadata = 1, max_age = excluded.max_age, max_count = excluded.max_count, truncate_before = excluded.truncate_before`,
    ),
    idsInRange: raw('SELECT revision, id FROM events WHERE stream = ? AND revision BETWEEN ? AND ? ORDER BY revision'),
    positionOf: raw('SELECT position FROM events WHERE stream = ? AND revision = ?'),
    purgeCandidates: raw(
      `SELECT stream FROM streams
       WHERE (state <> 0 OR deleted_before IS NOT NULL OR max_age IS NOT NULL OR max_count IS NOT NULL OR truncate_before IS NOT NULL)
         AND stream > ? ORDER BY stream LIMIT ?`,
    ),
    firstFresh: raw('SELECT revision FROM events WHERE stream = ? AND revision >= ? AND created >= ? ORDER BY revision LIMIT 1'),
    deleteBelow: run(
      'DELETE FROM events WHERE position IN (SELECT position FROM events WHERE stream = ? AND revision < ? ORDER BY revision LIMIT ?)',
    ),
  };
}
