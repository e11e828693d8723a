import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../../clock/clock.port';
import {
  EventStoreUnavailableError,
  InvalidAppendError,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../event-store.errors';
import {
  type AllSubscription,
  type AppendResult,
  EventStore,
  type EventStoreCapabilities,
  type EventToAppend,
  type ExpectedRevision,
  isSystemName,
  type Position,
  type PurgeResult,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredEvent,
  type StreamMetadata,
  type SubscribeAllOptions,
} from '../event-store.port';
import { SqliteAllSubscription, type SubscriptionHost } from './sqlite-all-subscription';
import { type CompiledFilter, compileFilter, EVENT_COLUMNS, type EventRow } from './sqlite-event-rows';
import { type AllPage, AllEventsIterator, nextTurn, type StreamPageReader, StreamEventsIterator } from './sqlite-readers';
import { configureConnection, migrate, STREAM_LIVE, STREAM_SOFT_DELETED, STREAM_TOMBSTONED } from './sqlite-schema';

export interface SqliteEventStoreOptions {
  /** Path of the SQLite file; the file and its folder are created when missing. */
  readonly file: string;
  readonly clock: Clock;
  /** FULL (default): an acknowledged append survives a power cut. NORMAL: survives a process crash. */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** How often a live subscription looks for events written by another process. Default 250 ms. */
  readonly pollIntervalMs?: number;
  /** How long a write waits for another process's write lock before failing. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
}

/** Counters for tests and diagnostics. */
export interface SqliteEventStoreStats {
  /** Write transactions committed (group commits and purge batches). */
  readonly writeTransactions: number;
  /** Write operations (appends, deletes, metadata) acknowledged or refused. */
  readonly writeOperations: number;
}

/** At most this many events per group-commit transaction (a single larger append goes alone). */
const MAX_EVENTS_PER_TRANSACTION = 1000;
/** Events per readAll / subscription page. */
const ALL_PAGE_SIZE = 1000;
/** Positions scanned per statement by a filtered readAll / subscription. */
const FILTER_WINDOW = 8192;
const STREAM_PAGE_SIZE = 500;
/** Rows deleted per purge transaction; the event loop runs between two of them. */
const PURGE_BATCH_ROWS = 500;
const PURGE_STREAMS_PER_TRANSACTION = 200;
/** EventStoreDB's default maximum append size. */
const MAX_APPEND_BYTES = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_REVISION = Number.MAX_SAFE_INTEGER;
const NO_TIME_LIMIT = -Number.MAX_SAFE_INTEGER;
const CHECKPOINT_BUSY_TIMEOUT_MS = 20;
const CHECKPOINT_ATTEMPTS = 100;

interface SerializedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

interface WriteOpBase {
  readonly stream: string;
  readonly expected: ExpectedRevision;
  readonly resolve: (value: never) => void;
  readonly reject: (error: Error) => void;
  /** Set while the batch is applied: the caller's own refusal. */
  error?: Error;
}

interface AppendOp extends WriteOpBase {
  readonly kind: 'append';
  readonly events: readonly SerializedEvent[];
  result?: AppendResult;
}

interface DeleteOp extends WriteOpBase {
  readonly kind: 'delete' | 'tombstone';
}

interface MetadataOp extends WriteOpBase {
  readonly kind: 'metadata';
  readonly metadata: { maxAge: number | null; maxCount: number | null; truncateBefore: number | null };
}

type WriteOp = AppendOp | DeleteOp | MetadataOp;

/** A row of `streams` in raw mode. */
type StreamRow = [
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

/**
 * The embedded EventStore: one SQLite file (better-sqlite3, WAL), EventStoreDB semantics.
 *
 * Writes (appends, deletes, metadata) are queued and applied by a group commit: one
 * `BEGIN IMMEDIATE … COMMIT` per event-loop turn for everything queued so far (bounded), so 100
 * concurrent appends cost one fsync, not 100. Each operation is decided on its own inside the
 * transaction (a conflict refuses only that caller; later operations see earlier ones); if the
 * transaction itself fails, nothing of the batch is kept and every caller gets
 * EventStoreUnavailableError. Reads run directly on committed data.
 *
 * Several processes may open the same file: the write lock serialises them, positions are taken
 * from the file under that lock, and live subscriptions poll for the other processes' commits.
 */
export class SqliteEventStore extends EventStore implements SubscriptionHost {
  readonly capabilities: EventStoreCapabilities = Object.freeze({ physicalPurge: true });

  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly pollIntervalMs: number;
  private readonly busyTimeoutMs: number;
  private readonly s: ReturnType<SqliteEventStore['prepareStatements']>;
  private readonly filteredPageStatements = new Map<string, Statement>();

  private queue: WriteOp[] = [];
  private flushScheduled = false;
  private readonly subscriptions = new Set<SqliteAllSubscription>();
  private purging: Promise<PurgeResult> | null = null;
  private closing: Promise<void> | null = null;
  private closed = false;
  private transactions = 0;
  private operations = 0;

  constructor(options: SqliteEventStoreOptions) {
    super();
    this.clock = options.clock;
    this.pollIntervalMs = Math.max(1, options.pollIntervalMs ?? 250);
    this.busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
    mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    try {
      configureConnection(this.db, { synchronous: options.synchronous ?? 'FULL', busyTimeoutMs: this.busyTimeoutMs });
      migrate(this.db);
      this.s = this.prepareStatements();
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  get stats(): SqliteEventStoreStats {
    return { writeTransactions: this.transactions, writeOperations: this.operations };
  }

  // ---------------------------------------------------------------------------------------------
  // Writes: validation, queue, group commit
  // ---------------------------------------------------------------------------------------------

  append(stream: string, events: readonly EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    let serialized: SerializedEvent[];
    try {
      this.assertOpen();
      checkStreamName(stream);
      checkExpected(expectedRevision);
      serialized = serializeEvents(events);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.enqueue({ kind: 'append', stream, expected: expectedRevision, events: serialized, resolve, reject });
    });
  }

  deleteStream(stream: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    return this.enqueueSimple('delete', stream, expectedRevision);
  }

  tombstoneStream(stream: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    return this.enqueueSimple('tombstone', stream, expectedRevision);
  }

  setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    let values: MetadataOp['metadata'];
    try {
      this.assertOpen();
      checkStreamName(stream);
      values = checkMetadata(metadata);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.enqueue({ kind: 'metadata', stream, expected: 'any', metadata: values, resolve, reject });
    });
  }

  private enqueueSimple(kind: 'delete' | 'tombstone', stream: string, expected: ExpectedRevision): Promise<void> {
    try {
      this.assertOpen();
      checkStreamName(stream);
      checkExpected(expected);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => this.enqueue({ kind, stream, expected, resolve, reject }));
  }

  private enqueue(op: WriteOp): void {
    this.queue.push(op);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes the next bounded batch of the queue in one transaction. */
  private flush(): void {
    const queue = this.queue;
    if (queue.length === 0) return;
    let count = 0;
    let taken = 0;
    while (taken < queue.length) {
      const op = queue[taken];
      const weight = op.kind === 'append' ? op.events.length : 1;
      if (taken > 0 && count + weight > MAX_EVENTS_PER_TRANSACTION) break;
      count += weight;
      taken++;
    }
    let batch: WriteOp[];
    if (taken === queue.length) {
      batch = queue;
      this.queue = [];
    } else {
      batch = queue.splice(0, taken);
      this.scheduleFlush();
    }
    this.writeBatch(batch);
  }

  private writeBatch(batch: WriteOp[]): void {
    const s = this.s;
    let appended = false;
    try {
      s.begin.run();
      try {
        const head = s.getHead.get() as [number, number];
        const startPosition = head[0];
        let position = startPosition;
        // `created` never goes backwards in log order (see sqlite-schema.ts).
        const created = Math.max(this.clock.now().getTime(), head[1]);
        for (const op of batch) {
          switch (op.kind) {
            case 'append':
              position = this.applyAppend(op, position, created);
              break;
            case 'delete':
            case 'tombstone':
              this.applyDelete(op);
              break;
            case 'metadata':
              this.applyMetadata(op);
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
      for (const op of batch) {
        op.reject(new EventStoreUnavailableError('The event store could not commit the write; nothing of it was stored', error));
      }
      return;
    }
    this.transactions++;
    this.operations += batch.length;
    for (const op of batch) {
      if (op.error !== undefined) op.reject(op.error);
      else if (op.kind === 'append') (op.resolve as (r: AppendResult) => void)(op.result as AppendResult);
      else (op.resolve as () => void)();
    }
    if (appended) for (const subscription of this.subscriptions) subscription.notify();
  }

  /** Decides one append inside the batch transaction; returns the last position used. */
  private applyAppend(op: AppendOp, position: number, created: number): number {
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
        return this.insertEvents(op, position, last, created);
      }
    } else if (expected === 'no_stream') {
      if (s.insertStreamIfNew.run(stream, events.length - 1, position + events.length).changes === 1) {
        return this.insertEvents(op, position, -1, created);
      }
    }
    const row = s.getStream.get(stream) as StreamRow | undefined;
    const decision = this.decide(stream, row, op.expected, op.events);
    if (decision instanceof Error) {
      op.error = decision;
      return position;
    }
    if (decision !== null) {
      op.result = decision;
      return position;
    }
    const lastRevision = row === undefined ? -1 : row[0];
    const lastPosition = position + events.length;
    const newLastRevision = lastRevision + events.length;
    if (row === undefined) s.insertStream.run(stream, newLastRevision, lastPosition, STREAM_LIVE);
    else if (row[2] === STREAM_SOFT_DELETED) s.recreateStream.run(newLastRevision, lastPosition, lastRevision + 1, stream);
    else s.updateStreamHead.run(newLastRevision, lastPosition, stream);
    return this.insertEvents(op, position, lastRevision, created);
  }

  /** Inserts the append's events after `lastRevision` and `position`; sets the caller's result. */
  private insertEvents(op: AppendOp, position: number, lastRevision: number, created: number): number {
    const insert = this.s.insertEvent;
    const stream = op.stream;
    const events = op.events;
    let revision = lastRevision;
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      insert.run(++position, stream, ++revision, e.id, e.type, e.data, e.metadata, created);
    }
    const p = BigInt(position);
    op.result = { nextExpectedRevision: BigInt(revision), position: { commit: p, prepare: p } };
    return position;
  }

  /**
   * EventStoreDB's commit check. Returns an error (this caller's refusal), an AppendResult (an
   * idempotent retry: the original result), or null (append after the stream's last revision).
   * `events` null: a delete or tombstone, where only the expected revision is checked.
   */
  private decide(
    stream: string,
    row: StreamRow | undefined,
    expected: ExpectedRevision,
    events: readonly SerializedEvent[] | null,
  ): Error | AppendResult | null {
    const lastRevision = row === undefined ? -1 : row[0];
    const state = row === undefined ? STREAM_LIVE : row[2];
    if (state === STREAM_TOMBSTONED) return new StreamDeletedError(stream);
    const actual = lastRevision < 0 ? ('no_stream' as const) : BigInt(lastRevision);

    if (expected === 'any' || expected === 'stream_exists') {
      if (expected === 'stream_exists') {
        // As EventStoreDB: a soft-deleted stream answers "deleted"; a stream that only has
        // metadata counts as existing.
        if (state === STREAM_SOFT_DELETED) return new StreamDeletedError(stream);
        if (lastRevision < 0 && (row === undefined || row[3] === 0)) {
          return new WrongExpectedVersionError(stream, expected, actual);
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
    if (expectedRevision > lastRevision) return new WrongExpectedVersionError(stream, expected, actual);
    // expected < last: a retry of events already stored right after `expected`?
    if (events !== null) {
      const match = this.storedIdsMatch(stream, expectedRevision + 1, events);
      if (match === 'all') return this.originalResult(stream, expectedRevision + events.length);
      if (match === 'partial') return new WrongExpectedVersionError(stream, expected, actual);
    }
    // A soft-deleted stream can be recreated with no_stream (revisions continue).
    if (expected === 'no_stream' && state === STREAM_SOFT_DELETED) return null;
    return new WrongExpectedVersionError(stream, expected, actual);
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

  private originalResult(stream: string, revision: number): AppendResult {
    const position = this.s.positionOf.get(stream, revision) as [number];
    const p = BigInt(position[0]);
    return { nextExpectedRevision: BigInt(revision), position: { commit: p, prepare: p } };
  }

  private applyDelete(op: DeleteOp): void {
    const s = this.s;
    const row = s.getStream.get(op.stream) as StreamRow | undefined;
    const decision = this.decide(op.stream, row, op.expected, null);
    if (decision instanceof Error) {
      op.error = decision;
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

  private applyMetadata(op: MetadataOp): void {
    const s = this.s;
    const row = s.getStream.get(op.stream) as StreamRow | undefined;
    if (row !== undefined && row[2] === STREAM_TOMBSTONED) {
      op.error = new StreamDeletedError(op.stream);
      return;
    }
    const m = op.metadata;
    s.upsertMetadata.run(op.stream, m.maxAge, m.maxCount, m.truncateBefore);
  }

  // ---------------------------------------------------------------------------------------------
  // Reads
  // ---------------------------------------------------------------------------------------------

  readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
    const forwards = (options.direction ?? 'forwards') === 'forwards';
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const fromRevision = options.fromRevision ?? (forwards ? 'start' : 'end');
    return {
      [Symbol.asyncIterator]: () =>
        new StreamEventsIterator(() => {
          this.assertOpen();
          if (!Number.isInteger(maxCount) || maxCount < 0) throw new RangeError('maxCount must be a non-negative integer');
          const row = this.guard(() => this.s.getStream.get(stream)) as StreamRow | undefined;
          if (row !== undefined && row[2] === STREAM_TOMBSTONED) throw new StreamDeletedError(stream);
          // Missing, soft-deleted, or only metadata so far: not found.
          if (row === undefined || row[2] === STREAM_SOFT_DELETED || row[0] < 0) throw new StreamNotFoundError(stream);
          const lastRevision = row[0];
          const lowest = lowestVisibleRevision(row);
          const notBefore = row[5] === null ? NO_TIME_LIMIT : this.clock.now().getTime() - row[5] * 1000;
          const from =
            fromRevision === 'start' ? 0 : fromRevision === 'end' ? (forwards ? lastRevision + 1 : lastRevision) : clampRevision(fromRevision);
          const statement = forwards ? this.s.streamForwards : this.s.streamBackwards;
          const read: StreamPageReader = forwards
            ? (bound, limit) =>
                this.guard(() => statement.all(stream, Math.max(bound, lowest), lastRevision, notBefore, limit)) as EventRow[]
            : (bound, limit) =>
                this.guard(() => statement.all(stream, lowest, Math.min(bound, lastRevision), notBefore, limit)) as EventRow[];
          return { read, from, maxCount, forwards };
        }, STREAM_PAGE_SIZE),
    };
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<StoredEvent> {
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<StoredEvent> => {
        try {
          const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
          if (!Number.isInteger(maxCount) || maxCount < 0) throw new RangeError('maxCount must be a non-negative integer');
          const after = positionNumber(options.fromPosition);
          const filter = compileFilter(options.filter);
          return new AllEventsIterator(this, after, maxCount, ALL_PAGE_SIZE, filter);
        } catch (error) {
          // Like readStream, argument errors surface from the first next().
          return { next: () => Promise.reject(error) };
        }
      },
    };
  }

  subscribeAll(options: SubscribeAllOptions = {}): AllSubscription {
    const after = positionNumber(options.fromPosition);
    const filter = compileFilter(options.filter);
    const subscription = new SqliteAllSubscription(this, after, filter, ALL_PAGE_SIZE, this.pollIntervalMs);
    if (this.closed || this.closing) void subscription.close();
    else this.subscriptions.add(subscription);
    return subscription;
  }

  /** @internal SubscriptionHost / AllPageSource. */
  readAllPage(after: number, limit: number, filter: CompiledFilter | null): AllPage {
    this.assertOpen();
    return this.guard(() => {
      if (filter === null) {
        const rows = this.s.allPage.all(after, limit) as EventRow[];
        const next = rows.length > 0 ? rows[rows.length - 1][0] : after;
        return { rows, next, atHead: rows.length < limit };
      }
      // The head first: every position up to it is committed, so reading up to it skips nothing
      // even while another process appends.
      const head = (this.s.headPosition.get() as [number | null])[0] ?? 0;
      if (head <= after) return { rows: [], next: after, atHead: true };
      const bound = Math.min(after + FILTER_WINDOW, head);
      const rows = this.filteredPage(filter).all(after, bound, ...filter.params, limit) as EventRow[];
      if (rows.length === limit) return { rows, next: rows[rows.length - 1][0], atHead: false };
      return { rows, next: bound, atHead: bound === head };
    });
  }

  /** @internal SubscriptionHost. */
  release(subscription: SqliteAllSubscription): void {
    this.subscriptions.delete(subscription);
  }

  /** @internal SubscriptionHost. */
  isTransient(error: unknown): boolean {
    const cause = error instanceof EventStoreUnavailableError ? error.cause : error;
    const code = (cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
  }

  async headPosition(): Promise<Position | null> {
    this.assertOpen();
    const head = this.guard(() => (this.s.headPosition.get() as [number | null])[0]);
    if (head === null) return null;
    const p = BigInt(head);
    return { commit: p, prepare: p };
  }

  async getStreamMetadata(stream: string): Promise<StreamMetadata | null> {
    this.assertOpen();
    const row = this.guard(() => this.s.getStream.get(stream)) as StreamRow | undefined;
    if (row === undefined) return null;
    if (row[2] === STREAM_TOMBSTONED) throw new StreamDeletedError(stream);
    if (row[3] === 0) return null;
    const metadata: { maxAge?: number; maxCount?: number; truncateBefore?: bigint } = {};
    if (row[5] !== null) metadata.maxAge = row[5];
    if (row[6] !== null) metadata.maxCount = row[6];
    if (row[7] !== null) metadata.truncateBefore = BigInt(row[7]);
    return metadata;
  }

  // ---------------------------------------------------------------------------------------------
  // Purge
  // ---------------------------------------------------------------------------------------------

  /**
   * Physically deletes every event that stream metadata, a soft delete or a tombstone hides, in
   * short transactions with the event loop running between them, then checkpoints and truncates
   * the WAL. With secure_delete on, the removed rows are overwritten with zeros, so they leave the
   * file. Stream rows stay (tombstoned names stay reserved, revisions keep counting).
   */
  purge(): Promise<PurgeResult> {
    try {
      this.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.purging === null) {
      this.purging = this.runPurge().finally(() => {
        this.purging = null;
      });
    }
    return this.purging;
  }

  private async runPurge(): Promise<PurgeResult> {
    let removed = 0;
    let afterStream = '';
    for (;;) {
      await nextTurn();
      this.assertOpen();
      const step = this.guard(() => this.purgeStep(afterStream));
      removed += step.removed;
      if (step.transactions) this.transactions++;
      if (step.done) break;
      afterStream = step.afterStream;
    }
    await this.checkpoint();
    return { mode: 'removed', removedEvents: removed };
  }

  /** One purge transaction: at most PURGE_BATCH_ROWS rows, at most PURGE_STREAMS_PER_TRANSACTION streams. */
  private purgeStep(afterStream: string): { removed: number; afterStream: string; done: boolean; transactions: boolean } {
    const s = this.s;
    s.begin.run();
    try {
      const candidates = s.purgeCandidates.all(afterStream, PURGE_STREAMS_PER_TRANSACTION) as [string][];
      const now = this.clock.now().getTime();
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
      return { removed, afterStream: cursor, done, transactions: true };
    } catch (error) {
      this.rollbackQuietly();
      throw error;
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

  /**
   * Moves the WAL into the main file and truncates it, so purged data leaves the disk. A TRUNCATE
   * checkpoint waits for other connections' readers through the busy handler, which would block
   * the event loop for up to busy_timeout: each attempt gets a short timeout, and attempts are
   * spaced by asynchronous waits instead.
   */
  private async checkpoint(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.assertOpen();
      const result = this.guard(() => {
        this.db.pragma(`busy_timeout = ${CHECKPOINT_BUSY_TIMEOUT_MS}`);
        try {
          return this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        } finally {
          this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
        }
      });
      if (result[0]?.busy === 0) return;
      if (attempt >= CHECKPOINT_ATTEMPTS) {
        throw new EventStoreUnavailableError(
          'Purged events were deleted, but the WAL could not be checkpointed (another connection kept reading); run purge again',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle
  // ---------------------------------------------------------------------------------------------

  async checkHealth(): Promise<void> {
    this.assertOpen();
    this.guard(() => this.s.ping.get());
  }

  /** Writes what is queued, ends every subscription, waits for a running purge, closes the file. */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    while (this.queue.length > 0) this.flush();
    for (const subscription of [...this.subscriptions]) await subscription.close();
    if (this.purging !== null) await this.purging.catch(() => undefined);
    while (this.queue.length > 0) this.flush();
    this.closed = true;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed || this.closing !== null || !this.db.open) {
      throw new EventStoreUnavailableError('The event store is closed');
    }
  }

  /** Runs a synchronous SQLite call, turning driver errors into EventStoreUnavailableError. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof EventStoreUnavailableError) throw error;
      throw new EventStoreUnavailableError('The event store could not be read', error);
    }
  }

  private filteredPage(filter: CompiledFilter): Statement {
    let statement = this.filteredPageStatements.get(filter.key);
    if (statement === undefined) {
      statement = this.db
        .prepare(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? AND position <= ? AND ${filter.predicate} ORDER BY position LIMIT ?`,
        )
        .raw(true);
      this.filteredPageStatements.set(filter.key, statement);
    }
    return statement;
  }

  private prepareStatements() {
    const db = this.db;
    const raw = (sql: string): Statement => db.prepare(sql).raw(true);
    const run = (sql: string): Statement => db.prepare(sql);
    return {
      begin: run('BEGIN IMMEDIATE'),
      commit: run('COMMIT'),
      rollback: run('ROLLBACK'),
      ping: raw('SELECT 1'),
      getHead: raw('SELECT last_position, last_created FROM log_head WHERE id = 1'),
      setHead: run('UPDATE log_head SET last_position = ?, last_created = ? WHERE id = 1'),
      getStream: raw(
        `SELECT last_revision, last_position, state, has_metadata, deleted_before, max_age, max_count, truncate_before
         FROM streams WHERE stream = ?`,
      ),
      insertEvent: run(
        'INSERT INTO events (position, stream, revision, id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
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
      allPage: raw(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`),
      headPosition: raw('SELECT max(position) FROM events'),
      streamForwards: raw(
        `SELECT ${EVENT_COLUMNS} FROM events
         WHERE stream = ? AND revision >= ? AND revision <= ? AND created >= ? ORDER BY revision LIMIT ?`,
      ),
      streamBackwards: raw(
        `SELECT ${EVENT_COLUMNS} FROM events
         WHERE stream = ? AND revision >= ? AND revision <= ? AND created >= ? ORDER BY revision DESC LIMIT ?`,
      ),
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
}

/** The lowest revision that truncateBefore, maxCount and an earlier soft delete leave visible. */
function lowestVisibleRevision(row: StreamRow): number {
  let lowest = 0;
  if (row[4] !== null) lowest = Math.max(lowest, row[4]);
  if (row[7] !== null) lowest = Math.max(lowest, row[7]);
  if (row[6] !== null) lowest = Math.max(lowest, row[0] - row[6] + 1);
  return lowest;
}

function clampRevision(revision: bigint): number {
  if (revision < 0n) throw new RangeError('fromRevision must not be negative');
  return revision > BigInt(MAX_REVISION) ? MAX_REVISION : Number(revision);
}

function positionNumber(position: Position | 'start' | undefined): number {
  if (position === undefined || position === 'start') return 0;
  const commit = position.commit;
  if (typeof commit !== 'bigint' || commit < 0n) throw new RangeError('fromPosition.commit must be a non-negative bigint');
  return commit > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(commit);
}

function checkStreamName(stream: string): void {
  if (typeof stream !== 'string' || stream.length === 0) throw new InvalidAppendError('A stream name must be a non-empty string');
  if (isSystemName(stream)) throw new InvalidAppendError(`System stream names ($…) are refused: ${stream}`);
}

function checkExpected(expected: ExpectedRevision): void {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected !== 'bigint' || expected < 0n) {
    throw new InvalidAppendError(`Invalid expected revision: ${String(expected)}`);
  }
}

function isJsonObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function serializeEvents(events: readonly EventToAppend[]): SerializedEvent[] {
  if (!Array.isArray(events) || events.length === 0) throw new InvalidAppendError('An append needs at least one event');
  const out: SerializedEvent[] = new Array(events.length);
  let bytes = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (typeof event.id !== 'string' || !UUID.test(event.id)) throw new InvalidAppendError(`Event id must be a UUID: ${String(event.id)}`);
    if (typeof event.type !== 'string' || event.type.length === 0) throw new InvalidAppendError('Event type must be a non-empty string');
    if (isSystemName(event.type)) throw new InvalidAppendError(`System event types ($…) are refused: ${event.type}`);
    if (!isJsonObject(event.data) || !isJsonObject(event.metadata)) {
      throw new InvalidAppendError(`Event data and metadata must be JSON objects (${event.type})`);
    }
    let data: string;
    let metadata: string;
    try {
      data = JSON.stringify(event.data);
      metadata = JSON.stringify(event.metadata);
    } catch (error) {
      throw new InvalidAppendError(`Event ${event.type} is not JSON-serialisable: ${(error as Error).message}`);
    }
    bytes += data.length + metadata.length;
    out[i] = { id: event.id.toLowerCase(), type: event.type, data, metadata };
  }
  // String length counts UTF-16 units; a byte count is only needed near the limit.
  if (bytes * 3 > MAX_APPEND_BYTES) {
    let exact = 0;
    for (const e of out) exact += Buffer.byteLength(e.data) + Buffer.byteLength(e.metadata) + Buffer.byteLength(e.type);
    if (exact > MAX_APPEND_BYTES) throw new InvalidAppendError(`An append may hold at most ${MAX_APPEND_BYTES} bytes (got ${exact})`);
  }
  return out;
}

function checkMetadata(metadata: StreamMetadata): MetadataOp['metadata'] {
  if (typeof metadata !== 'object' || metadata === null) throw new InvalidAppendError('Stream metadata must be an object');
  const { maxAge, maxCount, truncateBefore } = metadata;
  if (maxAge !== undefined && (!Number.isSafeInteger(maxAge) || maxAge < 1)) {
    throw new InvalidAppendError('maxAge must be a positive whole number of seconds');
  }
  if (maxCount !== undefined && (!Number.isSafeInteger(maxCount) || maxCount < 1)) {
    throw new InvalidAppendError('maxCount must be a positive integer');
  }
  if (truncateBefore !== undefined && (typeof truncateBefore !== 'bigint' || truncateBefore < 0n)) {
    throw new InvalidAppendError('truncateBefore must be a non-negative bigint');
  }
  return {
    maxAge: maxAge ?? null,
    maxCount: maxCount ?? null,
    truncateBefore: truncateBefore === undefined ? null : clampRevision(truncateBefore),
  };
}
