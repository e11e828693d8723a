import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { nextTurn } from '../../../common/async/next-turn';
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
import { type CompiledFilter, compileFilter, EVENT_ENVELOPE, type EventRow, rowPosition } from './sqlite-event-rows';
import { type AllPage, AllEventsIterator, type StreamPageReader, StreamEventsIterator } from './sqlite-readers';
import { configureConnection, migrate, STREAM_SOFT_DELETED, STREAM_TOMBSTONED } from './sqlite-schema';
import {
  type BatchOutcome,
  lowestVisibleRevision,
  type OperationOutcome,
  type PurgeStepOutcome,
  type SerializedEvent,
  SqliteWriter,
  STREAM_ROW_SQL,
  type StreamRow,
  type WriteFailure,
  type WriteOperation,
  type WriteRefusal,
} from './sqlite-writer';
import type { WriterReply, WriterRequest, WriterThreadOptions } from './sqlite-writer.worker';

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
  /**
   * Where write transactions run. 'inline' (default): on the calling thread, so a commit blocks
   * the event loop for its fsync. 'thread': on a writer thread with its own connection, so the
   * event loop keeps serving while commits wait for the disk; the same code, the same group
   * commit, the same durability (an append is acknowledged after its commit). 'thread' runs the
   * compiled writer script (see `writerScript`).
   */
  readonly writer?: 'inline' | 'thread';
  /** The compiled sqlite-writer.worker.js; default: the one beside this module (the build). */
  readonly writerScript?: string;
  /**
   * Page cache of the store's own connection in KiB (default 32 MiB). A connection that only
   * scans the log once (a worker of the initial read-model build) needs little: every page is
   * read once.
   */
  readonly cacheKiB?: number;
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
/** EventStoreDB's default maximum append size. */
const MAX_APPEND_BYTES = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_REVISION = Number.MAX_SAFE_INTEGER;
const NO_TIME_LIMIT = -Number.MAX_SAFE_INTEGER;
const CHECKPOINT_BUSY_TIMEOUT_MS = 20;
const CHECKPOINT_ATTEMPTS = 100;
/** The compiled writer thread script, beside this module in the build. */
const DEFAULT_WRITER_SCRIPT = join(__dirname, 'sqlite-writer.worker.js');

/** A queued write and its caller. */
interface PendingWrite {
  readonly operation: WriteOperation;
  readonly resolve: (value: never) => void;
  readonly reject: (error: Error) => void;
}

/** A request before it gets its id (distributes over the union). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

type MetadataValues = Extract<WriteOperation, { kind: 'metadata' }>['metadata'];

type Statement = Database.Statement<unknown[], unknown>;

/**
 * How writes reach the writer: synchronously on this thread, or by message to the writer thread.
 * `run` answers the writer's value or throws/rejects with the driver failure.
 */
interface WriteChannel {
  batch(operations: readonly WriteOperation[], now: number): BatchOutcome | Promise<BatchOutcome>;
  purgeStep(afterStream: string, now: number): Promise<PurgeStepOutcome>;
  checkpointAttempt(): Promise<number>;
  close(): Promise<void>;
}

/** A driver failure of a write (from either writer), keeping SQLite's code for isTransient. */
class SqliteWriteError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'SqliteWriteError';
  }
}

function failureError(failure: WriteFailure): SqliteWriteError {
  return new SqliteWriteError(failure.message, failure.code);
}

/**
 * The embedded EventStore: one SQLite file (better-sqlite3, WAL), EventStoreDB semantics.
 *
 * Writes (appends, deletes, metadata) are queued and applied by a group commit: one
 * `BEGIN IMMEDIATE … COMMIT` for everything queued so far (bounded), so 100 concurrent appends
 * cost one fsync, not 100. While a batch is being committed the next one gathers. Each operation
 * is decided on its own inside the transaction (a conflict refuses only that caller; later
 * operations see earlier ones); if the transaction itself fails, nothing of the batch is kept and
 * every caller gets EventStoreUnavailableError. Reads run directly on committed data.
 *
 * With `writer: 'thread'` the transactions run on a writer thread with its own connection (the
 * service's default when built): a commit's fsync then never blocks the event loop, and a commit
 * is visible to readers exactly when it is durable and acknowledged, as with 'inline'.
 *
 * Several processes may open the same file: the write lock serialises them, positions are taken
 * from the file under that lock, and live subscriptions poll for the other processes' commits.
 */
export class SqliteEventStore extends EventStore implements SubscriptionHost {
  readonly capabilities: EventStoreCapabilities = Object.freeze({ physicalPurge: true });

  /** Whether the compiled writer thread script is present (the service runs from the build). */
  static threadWriterAvailable(writerScript = DEFAULT_WRITER_SCRIPT): boolean {
    return existsSync(writerScript);
  }

  /** The store's file (a worker thread may open it with a connection of its own). */
  readonly file: string;
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly pollIntervalMs: number;
  private readonly busyTimeoutMs: number;
  private readonly s: ReturnType<SqliteEventStore['prepareStatements']>;
  private readonly filteredPageStatements = new Map<string, Statement>();
  private readonly channel: WriteChannel;

  private queue: PendingWrite[] = [];
  private flushScheduled = false;
  /** A batch is at the writer (thread mode); the next one waits for its answer. */
  private writing = false;
  private idleWaiters: (() => void)[] = [];
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
    this.file = options.file;
    mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    const synchronous = options.synchronous ?? 'FULL';
    try {
      configureConnection(this.db, { synchronous, busyTimeoutMs: this.busyTimeoutMs, cacheKiB: options.cacheKiB });
      migrate(this.db);
      this.s = this.prepareStatements();
      this.channel =
        options.writer === 'thread'
          ? new ThreadChannel(options.writerScript ?? DEFAULT_WRITER_SCRIPT, { file: options.file, synchronous, busyTimeoutMs: this.busyTimeoutMs })
          : new InlineChannel(new SqliteWriter(this.db), this.busyTimeoutMs);
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
      this.enqueue({ operation: { kind: 'append', stream, expected: expectedRevision, events: serialized }, resolve, reject });
    });
  }

  deleteStream(stream: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    return this.enqueueSimple('delete', stream, expectedRevision);
  }

  tombstoneStream(stream: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    return this.enqueueSimple('tombstone', stream, expectedRevision);
  }

  setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    let values: MetadataValues;
    try {
      this.assertOpen();
      checkStreamName(stream);
      values = checkMetadata(metadata);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.enqueue({ operation: { kind: 'metadata', stream, expected: 'any', metadata: values }, resolve, reject });
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
    return new Promise<void>((resolve, reject) => this.enqueue({ operation: { kind, stream, expected }, resolve, reject }));
  }

  private enqueue(write: PendingWrite): void {
    this.queue.push(write);
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

  /** Sends the next bounded batch of the queue to the writer (one transaction). */
  private flush(): void {
    if (this.writing) return; // the answer to the batch at the writer flushes again
    const queue = this.queue;
    if (queue.length === 0) {
      this.notifyIdle();
      return;
    }
    let count = 0;
    let taken = 0;
    while (taken < queue.length) {
      const operation = queue[taken].operation;
      const weight = operation.kind === 'append' ? operation.events.length : 1;
      if (taken > 0 && count + weight > MAX_EVENTS_PER_TRANSACTION) break;
      count += weight;
      taken++;
    }
    let batch: PendingWrite[];
    if (taken === queue.length) {
      batch = queue;
      this.queue = [];
    } else {
      batch = queue.splice(0, taken);
      this.scheduleFlush();
    }
    const operations = batch.map((write) => write.operation);
    let outcome: BatchOutcome | Promise<BatchOutcome>;
    try {
      outcome = this.channel.batch(operations, this.clock.now().getTime());
    } catch (error) {
      outcome = { committed: false, failure: { message: error instanceof Error ? error.message : String(error) } };
    }
    if (!(outcome instanceof Promise)) {
      this.settle(batch, outcome);
      if (this.queue.length === 0) this.notifyIdle();
      return;
    }
    this.writing = true;
    outcome
      .catch((error: unknown): BatchOutcome => ({ committed: false, failure: { message: error instanceof Error ? error.message : String(error) } }))
      .then((answer) => {
        this.writing = false;
        this.settle(batch, answer);
        if (this.queue.length > 0) this.scheduleFlush();
        else this.notifyIdle();
      });
  }

  /** Answers every caller of a batch from the writer's outcome. */
  private settle(batch: readonly PendingWrite[], outcome: BatchOutcome): void {
    if (!outcome.committed) {
      const cause = failureError(outcome.failure);
      for (const write of batch) {
        write.reject(new EventStoreUnavailableError('The event store could not commit the write; nothing of it was stored', cause));
      }
      return;
    }
    this.transactions++;
    this.operations += batch.length;
    for (let i = 0; i < batch.length; i++) {
      const write = batch[i];
      const result = outcome.outcomes[i];
      if (!result.ok) write.reject(refusalError(result.refusal));
      else if (write.operation.kind === 'append') (write.resolve as (r: AppendResult) => void)(appendResult(result));
      else (write.resolve as () => void)();
    }
    if (outcome.appended) for (const subscription of this.subscriptions) subscription.notify();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once nothing is queued and no batch is at the writer. */
  private whenIdle(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.scheduleFlush();
    });
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
        const next = rows.length > 0 ? rowPosition(rows[rows.length - 1]) : after;
        return { rows, next, atHead: rows.length < limit };
      }
      // The head first: every position up to it is committed, so reading up to it skips nothing
      // even while another process appends.
      const head = (this.s.headPosition.get() as [number | null])[0] ?? 0;
      if (head <= after) return { rows: [], next: after, atHead: true };
      const bound = Math.min(after + FILTER_WINDOW, head);
      const rows = this.filteredPage(filter).all(after, bound, ...filter.params, limit) as EventRow[];
      if (rows.length === limit) return { rows, next: rowPosition(rows[rows.length - 1]), atHead: false };
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

  /**
   * Each event type's share of the log, estimated from `samples` events, one in each of as many
   * equal slices of the positions, at a different place in each slice (a log with a period would
   * fool evenly spaced points); a point read each: milliseconds for any log. Empty for an empty
   * log. Used to plan work over the log (planLanes), never for anything that must be exact.
   */
  typeShares(samples = 1_000): Map<string, number> {
    this.assertOpen();
    return this.guard(() => {
      const shares = new Map<string, number>();
      const head = (this.s.headPosition.get() as [number | null])[0];
      if (head === null) return shares;
      const n = Math.max(1, Math.min(samples, head));
      let seen = 0;
      for (let k = 0; k < n; k++) {
        const within = (k * 0.6180339887498949) % 1; // the golden ratio's steps: spread, repeatable
        const row = this.s.typeAt.get(Math.floor(((k + within) * head) / n)) as [string] | undefined;
        if (row === undefined) continue;
        shares.set(row[0], (shares.get(row[0]) ?? 0) + 1);
        seen++;
      }
      for (const [type, count] of shares) shares.set(type, count / seen);
      return shares;
    });
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
      const step = await this.writerCall(() => this.channel.purgeStep(afterStream, this.clock.now().getTime()));
      removed += step.removed;
      this.transactions++;
      if (step.done) break;
      afterStream = step.afterStream;
    }
    await this.checkpoint();
    return { mode: 'removed', removedEvents: removed };
  }

  /**
   * Moves the WAL into the main file and truncates it, so purged data leaves the disk. A TRUNCATE
   * checkpoint waits for other connections' readers through the busy handler, which would block
   * its thread for up to busy_timeout: each attempt gets a short timeout, and attempts are spaced
   * by asynchronous waits instead.
   */
  private async checkpoint(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.assertOpen();
      const busy = await this.writerCall(() => this.channel.checkpointAttempt());
      if (busy === 0) return;
      if (attempt >= CHECKPOINT_ATTEMPTS) {
        throw new EventStoreUnavailableError(
          'Purged events were deleted, but the WAL could not be checkpointed (another connection kept reading); run purge again',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A purge or checkpoint call to the writer, driver errors as EventStoreUnavailableError. */
  private async writerCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof EventStoreUnavailableError) throw error;
      throw new EventStoreUnavailableError('The event store could not be read', error);
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
    await this.whenIdle();
    for (const subscription of [...this.subscriptions]) await subscription.close();
    if (this.purging !== null) await this.purging.catch(() => undefined);
    await this.whenIdle();
    this.closed = true;
    await this.channel.close().catch(() => undefined);
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
          `SELECT ${EVENT_ENVELOPE} FROM events WHERE position > ? AND position <= ? AND ${filter.predicate} ORDER BY position LIMIT ?`,
        )
        .pluck(true);
      this.filteredPageStatements.set(filter.key, statement);
    }
    return statement;
  }

  /** The read side's statements (writes have their own, in SqliteWriter). */
  private prepareStatements() {
    const db = this.db;
    const raw = (sql: string): Statement => db.prepare(sql).raw(true);
    const envelopes = (sql: string): Statement => db.prepare(sql).pluck(true);
    return {
      ping: raw('SELECT 1'),
      getStream: raw(STREAM_ROW_SQL),
      allPage: envelopes(`SELECT ${EVENT_ENVELOPE} FROM events WHERE position > ? ORDER BY position LIMIT ?`),
      headPosition: raw('SELECT max(position) FROM events'),
      typeAt: raw('SELECT type FROM events WHERE position > ? ORDER BY position LIMIT 1'),
      streamForwards: envelopes(
        `SELECT ${EVENT_ENVELOPE} FROM events
         WHERE stream = ? AND revision >= ? AND revision <= ? AND created >= ? ORDER BY revision LIMIT ?`,
      ),
      streamBackwards: envelopes(
        `SELECT ${EVENT_ENVELOPE} FROM events
         WHERE stream = ? AND revision >= ? AND revision <= ? AND created >= ? ORDER BY revision DESC LIMIT ?`,
      ),
    };
  }
}

/** Writes on the calling thread (the commit's fsync blocks it). */
class InlineChannel implements WriteChannel {
  constructor(
    private readonly writer: SqliteWriter,
    private readonly busyTimeoutMs: number,
  ) {}

  batch(operations: readonly WriteOperation[], now: number): BatchOutcome {
    return this.writer.writeBatch(operations, now);
  }

  async purgeStep(afterStream: string, now: number): Promise<PurgeStepOutcome> {
    return this.writer.purgeStep(afterStream, now);
  }

  async checkpointAttempt(): Promise<number> {
    return this.writer.checkpointAttempt(CHECKPOINT_BUSY_TIMEOUT_MS, this.busyTimeoutMs);
  }

  async close(): Promise<void> {
    // The connection belongs to the store.
  }
}

/**
 * Writes on the writer thread (sqlite-writer.worker.ts), one message per batch, purge step or
 * checkpoint attempt, answered in order. If the thread dies, every call in flight fails with
 * EventStoreUnavailableError (its outcome is unknown, as with a network store) and the next call
 * starts a new thread. The thread holds the process open only while calls are in flight.
 */
class ThreadChannel implements WriteChannel {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(
    private readonly script: string,
    private readonly options: WriterThreadOptions,
  ) {
    if (!existsSync(script)) throw new Error(`The event store writer thread script is missing: ${script} (build the project first)`);
    this.start();
  }

  batch(operations: readonly WriteOperation[], now: number): Promise<BatchOutcome> {
    return this.call({ type: 'batch', operations, now }) as Promise<BatchOutcome>;
  }

  purgeStep(afterStream: string, now: number): Promise<PurgeStepOutcome> {
    return this.call({ type: 'purge-step', afterStream, now }) as Promise<PurgeStepOutcome>;
  }

  checkpointAttempt(): Promise<number> {
    return this.call({ type: 'checkpoint', attemptBusyTimeoutMs: CHECKPOINT_BUSY_TIMEOUT_MS }) as Promise<number>;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await this.call({ type: 'close' }).catch(() => undefined);
    this.worker = null;
    await worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(this.script, { workerData: this.options });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      if (reply.id === 0) return; // ready
      const call = this.pending.get(reply.id);
      if (!call) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.failure) call.reject(failureError(reply.failure));
      else call.resolve(reply.value);
    });
    const fail = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const calls = [...this.pending.values()];
      this.pending.clear();
      for (const call of calls) call.reject(new EventStoreUnavailableError('The event store writer thread stopped; the outcome of the write is unknown', error));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`writer thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private call(request: WithoutId<WriterRequest>): Promise<unknown> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ ...request, id } as WriterRequest);
    });
  }
}

function refusalError(refusal: WriteRefusal): Error {
  return refusal.type === 'stream-deleted' ? new StreamDeletedError(refusal.stream) : new WrongExpectedVersionError(refusal.stream, refusal.expected, refusal.actual);
}

function appendResult(outcome: Extract<OperationOutcome, { ok: true }>): AppendResult {
  const p = outcome.position ?? 0n;
  return { nextExpectedRevision: outcome.nextExpectedRevision ?? -1n, position: { commit: p, prepare: p } };
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

function checkMetadata(metadata: StreamMetadata): MetadataValues {
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
