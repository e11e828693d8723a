import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { comparePositions, type AllSubscription, type EventStore, type Position, type StoredEvent } from '../modules/event-store/event-store.port';
import type { Projection } from './projection';
import { CheckpointsMovedError, ProjectionApplier } from './projection-applier';
import { openReadModelWriter } from './read-model-database';

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
   * While catching up, one transaction takes in subscription pages (one page per turn of the event
   * loop) until it holds this many events or is this old; then it commits. Live events are
   * committed as soon as they are applied.
   */
  readonly catchUpTransactionEvents?: number;
  readonly catchUpTransactionMs?: number;
}

const CATCH_UP_TRANSACTION_EVENTS = 50_000;
const CATCH_UP_TRANSACTION_MS = 1_000;

/**
 * Feeds every projection from `$all`: one subscription from the lowest checkpoint, each event
 * applied only to projections whose checkpoint is behind it, rows and checkpoints committed in the
 * same SQLite transaction (a crash never applies an event twice or skips one).
 *
 * Writes go through a connection of their own (for a file database), so while catching up one
 * transaction can take in many subscription pages, one page per turn of the event loop (requests
 * keep being served), and commit every CATCH_UP_TRANSACTION_EVENTS events or CATCH_UP_TRANSACTION_MS:
 * fewer commits, far less WAL traffic, and readers never see uncommitted rows. Live events are
 * committed at once. Waiters and listeners hear of events only once they are committed. If another
 * process moves a checkpoint (a CLI rebuild on the same file), the transaction is refused, the
 * checkpoints are reloaded and the subscription restarts from them.
 */
export class ProjectionRunner {
  private readonly writer: Database;
  private readonly ownsWriter: boolean;
  private readonly applier: ProjectionApplier;
  private readonly transactionEvents: number;
  private readonly transactionMs: number;
  private subscription: AllSubscription | null = null;
  private loop: Promise<void> | null = null;
  private stopped = true;
  private caughtUp = false;
  private failed: string | null = null;
  private lastPosition: Position | null = null;
  private waiters: Waiter[] = [];
  private readonly listeners = new Set<EventsListener>();
  /** Batches applied in the open transaction, announced once it commits. */
  private uncommitted: (readonly StoredEvent[])[] = [];
  private uncommittedEvents = 0;
  private transactionStartedAt = 0;

  constructor(
    private readonly store: EventStore,
    db: Database,
    projections: readonly Projection[],
    private readonly log?: Logger,
    options: ProjectionRunnerOptions = {},
  ) {
    this.ownsWriter = !db.memory;
    this.writer = this.ownsWriter ? openReadModelWriter(db.name) : db;
    // One connection (an in-memory database): readers would see an open transaction, so never keep one across turns.
    this.transactionEvents = this.ownsWriter ? Math.max(1, options.catchUpTransactionEvents ?? CATCH_UP_TRANSACTION_EVENTS) : 1;
    this.transactionMs = Math.max(0, options.catchUpTransactionMs ?? CATCH_UP_TRANSACTION_MS);
    try {
      this.applier = new ProjectionApplier(this.writer, projections, (projection, from) =>
        this.log?.info({ projection: projection.name, from, to: projection.version }, 'projection version changed: rebuilding'),
      );
    } catch (error) {
      if (this.ownsWriter) this.writer.close();
      throw error;
    }
  }

  get projections(): readonly Projection[] {
    return this.applier.tracked.map((t) => t.projection);
  }

  start(): void {
    if (!this.stopped) return;
    if (!this.writer.open) throw new Error('projection runner closed');
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

  /** Stops and releases the runner's own database connection. */
  async close(): Promise<void> {
    await this.stop();
    if (this.ownsWriter && this.writer.open) this.writer.close();
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
          if (batch.events.length > 0) this.applyBatch(batch.events);
          if (this.applier.inTransaction && (live || this.uncommittedEvents >= this.transactionEvents || Date.now() - this.transactionStartedAt >= this.transactionMs)) {
            this.commit();
          }
          if (batch.caughtUp && !this.caughtUp) {
            this.caughtUp = true;
            this.log?.info({ checkpoint: this.status().checkpoint }, 'projections caught up');
          }
          this.failed = null;
          backoff = 100;
        }
      } catch (error) {
        this.abandonTransaction();
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
        // Stopped mid-transaction: what was not committed is simply applied again next time.
        this.abandonTransaction();
        await this.subscription?.close();
        this.subscription = null;
      }
    }
  }

  private applyBatch(events: readonly StoredEvent[]): void {
    if (!this.applier.inTransaction) {
      this.applier.begin();
      this.transactionStartedAt = Date.now();
    }
    this.applier.applyOpen(events);
    this.uncommitted.push(events);
    this.uncommittedEvents += events.length;
  }

  private commit(): void {
    this.applier.commit();
    const batches = this.uncommitted;
    this.uncommitted = [];
    this.uncommittedEvents = 0;
    if (batches.length === 0) return;
    const lastBatch = batches[batches.length - 1];
    this.lastPosition = lastBatch[lastBatch.length - 1].position;
    this.resolveWaiters();
    if (this.listeners.size === 0) return;
    for (const events of batches) {
      for (const listener of this.listeners) {
        try {
          listener(events);
        } catch (error) {
          this.log?.error({ err: { message: (error as Error).message } }, 'event listener failed');
        }
      }
    }
  }

  private abandonTransaction(): void {
    this.applier.rollback();
    this.uncommitted = [];
    this.uncommittedEvents = 0;
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
