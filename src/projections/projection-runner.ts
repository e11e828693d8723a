import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { comparePositions, type AllSubscription, type EventStore, type Position, type StoredEvent } from '../modules/event-store/event-store.port';
import { dropTables, type Projection } from './projection';

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

interface Tracked {
  readonly projection: Projection;
  readonly types: ReadonlySet<string>;
  checkpoint: Position | null;
  eventsApplied: number;
}

interface Waiter {
  readonly position: Position;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const MAX_EVENTS_PER_TRANSACTION = 2_000;

/**
 * Feeds every projection from `$all`: one subscription from the lowest checkpoint, each event
 * applied only to projections whose checkpoint is behind it, rows and checkpoints committed in the
 * same SQLite transaction (a crash never applies an event twice or skips one). Catch-up pages are
 * applied in batches; between transactions the runner yields so requests stay responsive.
 */
export class ProjectionRunner {
  private readonly tracked: Tracked[];
  private subscription: AllSubscription | null = null;
  private loop: Promise<void> | null = null;
  private stopped = true;
  private caughtUp = false;
  private failed: string | null = null;
  private lastPosition: Position | null = null;
  private waiters: Waiter[] = [];
  private readonly listeners = new Set<EventsListener>();
  private restartRequested = false;

  constructor(
    private readonly store: EventStore,
    private readonly db: Database,
    projections: readonly Projection[],
    private readonly log?: Logger,
  ) {
    this.tracked = projections.map((projection) => ({ projection, types: new Set(projection.eventTypes), checkpoint: null, eventsApplied: 0 }));
    this.prepare();
  }

  get projections(): readonly Projection[] {
    return this.tracked.map((t) => t.projection);
  }

  /** Creates tables, rebuilds projections whose version changed, loads checkpoints. */
  private prepare(): void {
    const select = this.db.prepare('SELECT version, commit_position, prepare_position, events_applied FROM projection_checkpoints WHERE name = ?').safeIntegers(true);
    for (const t of this.tracked) {
      const row = select.get(t.projection.name) as { version: bigint; commit_position: bigint | null; prepare_position: bigint | null; events_applied: bigint } | undefined;
      if (row && Number(row.version) !== t.projection.version) {
        this.log?.info({ projection: t.projection.name, from: Number(row.version), to: t.projection.version }, 'projection version changed: rebuilding');
        this.resetProjection(t);
      } else {
        t.projection.setup(this.db);
        if (row && row.commit_position !== null && row.prepare_position !== null) {
          t.checkpoint = { commit: row.commit_position, prepare: row.prepare_position };
          t.eventsApplied = Number(row.events_applied);
        } else if (!row) {
          this.db.prepare('INSERT INTO projection_checkpoints (name, version) VALUES (?, ?)').run(t.projection.name, t.projection.version);
        }
      }
    }
  }

  private resetProjection(t: Tracked): void {
    this.db.transaction(() => {
      dropTables(this.db, t.projection);
      t.projection.setup(this.db);
      this.db
        .prepare(
          `INSERT INTO projection_checkpoints (name, version, commit_position, prepare_position, events_applied) VALUES (?, ?, NULL, NULL, 0)
           ON CONFLICT(name) DO UPDATE SET version = excluded.version, commit_position = NULL, prepare_position = NULL, events_applied = 0`,
        )
        .run(t.projection.name, t.projection.version);
    })();
    t.checkpoint = null;
    t.eventsApplied = 0;
  }

  start(): void {
    if (!this.stopped) return;
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

  /** Drops and rebuilds one projection (or all) from position zero, while the others keep their place. */
  async rebuild(names?: readonly string[]): Promise<void> {
    const wasRunning = !this.stopped;
    if (wasRunning) await this.stop();
    for (const t of this.tracked) if (!names || names.includes(t.projection.name)) this.resetProjection(t);
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
      checkpoint: fmt(this.lowestCheckpoint()),
      projections: this.tracked.map((t) => ({ name: t.projection.name, version: t.projection.version, checkpoint: fmt(t.checkpoint), eventsApplied: t.eventsApplied })),
    };
  }

  private lowestCheckpoint(): Position | null {
    let lowest: Position | null = null;
    for (const t of this.tracked) {
      if (!t.checkpoint) return null;
      if (!lowest || comparePositions(t.checkpoint, lowest) < 0) lowest = t.checkpoint;
    }
    return lowest;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        const from = this.lowestCheckpoint();
        this.lastPosition = from;
        this.subscription = this.store.subscribeAll({ fromPosition: from ?? 'start' });
        for await (const batch of this.subscription) {
          if (this.stopped) break;
          if (batch.events.length > 0) await this.applyEvents(batch.events);
          if (batch.caughtUp && !this.caughtUp) {
            this.caughtUp = true;
            this.log?.info({ checkpoint: this.status().checkpoint }, 'projections caught up');
          }
          this.failed = null;
          backoff = 100;
          if (this.restartRequested) break;
        }
        this.restartRequested = false;
      } catch (error) {
        if (this.stopped) break;
        this.failed = error instanceof Error ? error.message : String(error);
        this.log?.error({ err: { type: (error as Error)?.name, message: this.failed } }, 'projection runner failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      } finally {
        await this.subscription?.close();
        this.subscription = null;
      }
    }
  }

  private async applyEvents(events: readonly StoredEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += MAX_EVENTS_PER_TRANSACTION) {
      const chunk = events.slice(start, start + MAX_EVENTS_PER_TRANSACTION);
      this.applyChunk(chunk);
      this.lastPosition = chunk[chunk.length - 1].position;
      this.resolveWaiters();
      for (const listener of this.listeners) {
        try {
          listener(chunk);
        } catch (error) {
          this.log?.error({ err: { message: (error as Error).message } }, 'event listener failed');
        }
      }
      if (start + MAX_EVENTS_PER_TRANSACTION < events.length) await new Promise((r) => setImmediate(r));
    }
  }

  private applyChunk(events: readonly StoredEvent[]): void {
    const last = events[events.length - 1].position;
    const update = this.db.prepare('UPDATE projection_checkpoints SET commit_position = ?, prepare_position = ?, events_applied = ? WHERE name = ?');
    const counts = new Map<Tracked, number>();
    this.db.transaction(() => {
      for (const event of events) {
        for (const t of this.tracked) {
          if (t.checkpoint && comparePositions(event.position, t.checkpoint) <= 0) continue;
          if (!t.types.has(event.type)) continue;
          t.projection.apply(this.db, event);
          counts.set(t, (counts.get(t) ?? 0) + 1);
        }
      }
      for (const t of this.tracked) {
        if (t.checkpoint && comparePositions(last, t.checkpoint) <= 0) continue;
        update.run(last.commit, last.prepare, t.eventsApplied + (counts.get(t) ?? 0), t.projection.name);
      }
    })();
    for (const t of this.tracked) {
      if (t.checkpoint && comparePositions(last, t.checkpoint) <= 0) continue;
      t.checkpoint = last;
      t.eventsApplied += counts.get(t) ?? 0;
    }
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
