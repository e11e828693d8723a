import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { comparePositions, type AllSubscription, type EventStore, type Position, type StoredEvent } from '../modules/event-store/event-store.port';
import type { Projection } from './projection';
import { CheckpointsMovedError, ProjectionApplier } from './projection-applier';
import { walPages } from './read-model-database';

export interface ProjectionStatus {
  readonly name: string;
  readonly version: number;
  readonly checkpoint: { commit: string; prepare: string } | null;
  readonly eventsApplied: number;
}

export interface RunnerStatus {
  readonly running: boolean;
  readonly caughtUp: boolean;
  readonly failed: string | null;
  readonly checkpoint: { commit: string; prepare: string } | null;
  readonly projections: readonly ProjectionStatus[];
}

export type EventsListener = (events: readonly StoredEvent[]) => void;

interface Waiter {
  readonly position: Position;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface ProjectionRunnerOptions {
  /**
   * While catching up, subscription pages are gathered until they hold this many events (or the
   * oldest has waited `catchUpTransactionMs`) and applied in one transaction: fewer commits, far
   * less WAL traffic. Live events are applied and committed as soon as they arrive.
   */
  readonly catchUpTransactionEvents?: number;
  readonly catchUpTransactionMs?: number;
}

const CATCH_UP_TRANSACTION_EVENTS = 2_000;
const CATCH_UP_TRANSACTION_MS = 500;
/**
 * WAL bytes before an automatic checkpoint while catching up (about 80 MB, as pages of the file:
 * walPages): each checkpoint costs two fsyncs, and catch-up transactions are large, so the default
 * of 1000 pages would checkpoint after every one of them. Back to the connection's own setting
 * once live.
 */
const CATCH_UP_WAL_AUTOCHECKPOINT_BYTES = 81_920_000;

/**
 * Feeds every projection from `$all`: one subscription from the lowest checkpoint, each event
 * applied only to projections whose checkpoint is behind it, rows and checkpoints committed in the
 * same SQLite transaction (a crash never applies an event twice or skips one).
 *
 * While catching up, pages are gathered and applied CATCH_UP_TRANSACTION_EVENTS at a time, each
 * batch in one synchronous transaction; the event loop runs between batches (and while pages are
 * read). A transaction is never left open across turns of the event loop: other code may write
 * the same file through its own connection, and would otherwise wait on a lock this thread can
 * only release once it runs again. Waiters and listeners hear of events once they are committed.
 * If another process moves a checkpoint (a CLI rebuild on the same file), the transaction is
 * refused, the checkpoints are reloaded and the subscription restarts from them.
 */
export class ProjectionRunner {
  private readonly applier: ProjectionApplier;
  private readonly transactionEvents: number;
  private readonly transactionMs: number;
  private subscription: AllSubscription | null = null;
  private loop: Promise<void> | null = null;
  private stopped = true;
  private closed = false;
  private caughtUp = false;
  private failed: string | null = null;
  private lastPosition: Position | null = null;
  private waiters: Waiter[] = [];
  private readonly listeners = new Set<EventsListener>();
  /** Pages read while catching up, not applied yet. */
  private pending: (readonly StoredEvent[])[] = [];
  private pendingEvents = 0;
  private pendingSince = 0;
  private readonly db: Database;
  /** The connection's wal_autocheckpoint while catching up (null: not raised now). */
  private savedAutocheckpoint: number | null = null;

  constructor(
    private readonly store: EventStore,
    db: Database,
    projections: readonly Projection[],
    private readonly log?: Logger,
    options: ProjectionRunnerOptions = {},
  ) {
    this.transactionEvents = Math.max(1, options.catchUpTransactionEvents ?? CATCH_UP_TRANSACTION_EVENTS);
    this.transactionMs = Math.max(0, options.catchUpTransactionMs ?? CATCH_UP_TRANSACTION_MS);
    this.db = db;
    this.applier = new ProjectionApplier(db, projections, (projection, from) =>
      this.log?.info({ projection: projection.name, from, to: projection.version }, 'projection version changed: rebuilding'),
    );
  }

  get projections(): readonly Projection[] {
    return this.applier.tracked.map((t) => t.projection);
  }

  start(): void {
    if (!this.stopped) return;
    if (this.closed) throw new Error('projection runner closed');
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.close();
    await this.loop;
    this.loop = null;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('projection runner stopped'));
    }
    this.waiters = [];
  }

  /** Stops for good (the database stays open: it belongs to the caller). */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  /** Drops and rebuilds one projection (or all) from position zero, while the others keep their place. */
  async rebuild(names?: readonly string[]): Promise<void> {
    if (names) {
      const unknown = names.filter((name) => !this.projections.some((p) => p.name === name));
      if (unknown.length > 0) throw new Error(`Unknown projection: ${unknown.join(', ')}`);
    }
    const wasRunning = !this.stopped;
    if (wasRunning) await this.stop();
    this.applier.reset(names);
    this.caughtUp = false;
    if (wasRunning) this.start();
  }

  onEvents(listener: EventsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every projection has applied the event at `position` (read-your-writes). */
  waitFor(position: Position, timeoutMs = 10_000): Promise<void> {
    if (this.lastPosition && comparePositions(this.lastPosition, position) >= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error('timed out waiting for projections'));
      }, timeoutMs);
      this.waiters.push({ position, resolve, reject, timer });
    });
  }

  /** Resolves once the runner has caught up with the log as it was when it started. */
  async waitUntilCaughtUp(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.caughtUp) {
      if (this.failed) throw new Error(`projections failed: ${this.failed}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for projections to catch up');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  status(): RunnerStatus {
    const fmt = (p: Position | null) => (p ? { commit: p.commit.toString(), prepare: p.prepare.toString() } : null);
    return {
      running: !this.stopped,
      caughtUp: this.caughtUp,
      failed: this.failed,
      checkpoint: fmt(this.applier.lowestCheckpoint()),
      projections: this.applier.tracked.map((t) => ({
        name: t.projection.name,
        version: t.projection.version,
        checkpoint: fmt(t.checkpoint),
        eventsApplied: t.eventsApplied,
      })),
    };
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        const from = this.applier.lowestCheckpoint();
        this.lastPosition = from;
        this.subscription = this.store.subscribeAll({ fromPosition: from ?? 'start' });
        for await (const batch of this.subscription) {
          if (this.stopped) break;
          const live = batch.caughtUp || this.caughtUp;
          if (batch.events.length > 0) {
            if (this.pendingEvents === 0) this.pendingSince = Date.now();
            this.pending.push(batch.events);
            this.pendingEvents += batch.events.length;
          }
          if (this.pendingEvents > 0 && (live || this.pendingEvents >= this.transactionEvents || Date.now() - this.pendingSince >= this.transactionMs)) {
            this.applyPending();
          }
          if (batch.caughtUp && !this.caughtUp) {
            this.caughtUp = true;
            this.catchingUp(false);
            this.log?.info({ checkpoint: this.status().checkpoint }, 'projections caught up');
          } else if (!this.caughtUp) {
            this.catchingUp(true);
          }
          this.failed = null;
          backoff = 100;
        }
      } catch (error) {
        this.dropPending();
        if (this.stopped) break;
        if (error instanceof CheckpointsMovedError) {
          // Another writer rebuilt or advanced a projection: take its checkpoints and resume.
          this.log?.warn({ projection: error.projection }, 'projection checkpoints moved by another writer; reloading');
          this.applier.load();
          this.caughtUp = false;
          continue;
        }
        this.failed = error instanceof Error ? error.message : String(error);
        this.log?.error({ err: { type: (error as Error)?.name, message: this.failed } }, 'projection runner failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      } finally {
        // Stopped with pages not applied yet: they are read again next time.
        this.dropPending();
        this.catchingUp(false);
        await this.subscription?.close();
        this.subscription = null;
      }
    }
  }

  /** Applies the gathered pages in one transaction, then tells waiters and listeners. */
  private applyPending(): void {
    const pages = this.pending;
    this.dropPending();
    this.applier.begin();
    try {
      for (const page of pages) this.applier.applyOpen(page);
      this.applier.commit();
    } catch (error) {
      this.applier.rollback();
      throw error;
    }
    const lastPage = pages[pages.length - 1];
    this.lastPosition = lastPage[lastPage.length - 1].position;
    this.resolveWaiters();
    if (this.listeners.size === 0) return;
    for (const events of pages) {
      for (const listener of this.listeners) {
        try {
          listener(events);
        } catch (error) {
          this.log?.error({ err: { message: (error as Error).message } }, 'event listener failed');
        }
      }
    }
  }

  /** Fewer, larger WAL checkpoints while catching up; the connection's own setting otherwise. */
  private catchingUp(on: boolean): void {
    if (this.db.memory || !this.db.open) return;
    if (on && this.savedAutocheckpoint === null) {
      this.savedAutocheckpoint = Number(this.db.pragma('wal_autocheckpoint', { simple: true }));
      this.db.pragma(`wal_autocheckpoint = ${Math.max(walPages(this.db, CATCH_UP_WAL_AUTOCHECKPOINT_BYTES), this.savedAutocheckpoint)}`);
    } else if (!on && this.savedAutocheckpoint !== null) {
      this.db.pragma(`wal_autocheckpoint = ${this.savedAutocheckpoint}`);
      this.savedAutocheckpoint = null;
    }
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingEvents = 0;
  }

  private resolveWaiters(): void {
    if (!this.lastPosition || this.waiters.length === 0) return;
    const reached = this.lastPosition;
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (comparePositions(reached, waiter.position) >= 0) {
        clearTimeout(waiter.timer);
        waiter.resolve();
      } else still.push(waiter);
    }
    this.waiters = still;
  }
}
