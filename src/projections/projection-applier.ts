import type { Database, Statement } from 'better-sqlite3';
import { comparePositions, type Position, type StoredEvent } from '../modules/event-store/event-store.port';
import { createQueryIndexes, dropTables, type Projection } from './projection';
import { ensureCheckpointTable } from './read-model-database';

/** One projection and where it stands in the log. */
export interface TrackedProjection {
  readonly projection: Projection;
  /** The last event position this projection has seen (applied or skipped), null before the first. */
  checkpoint: Position | null;
  /** Events of its types applied since it was last (re)built. */
  eventsApplied: number;
}

/**
 * Someone else (another process sharing the read-model file, e.g. `npm run audit -- rebuild-projections`)
 * moved a checkpoint: the transaction was rolled back, nothing was applied. Reload and resume.
 */
export class CheckpointsMovedError extends Error {
  constructor(readonly projection: string) {
    super(`The checkpoint of projection ${projection} was changed by another writer`);
    this.name = 'CheckpointsMovedError';
  }
}

/** Per-projection upper bounds for a replay: events after the bound are not applied (null: none at all). */
export type Ceilings = ReadonlyMap<string, Position | null>;

interface CheckpointRow {
  name: string;
  version: bigint;
  commit_position: bigint | null;
  prepare_position: bigint | null;
  events_applied: bigint;
}

/**
 * Applies events to a set of projections on one read-model database, exactly once: every
 * transaction first checks that the stored checkpoints are still the ones this applier knows
 * (a concurrent writer makes it roll back with CheckpointsMovedError), applies each event only to
 * the projections whose checkpoint is behind it, and writes the new checkpoints in the same
 * transaction as the rows. The runner (live) and the verification replay (scratch) both use it.
 */
export class ProjectionApplier {
  /** Committed state: what the database holds. */
  readonly tracked: readonly TrackedProjection[];
  /** Event type → indexes (into `tracked`) of the projections handling it. */
  private readonly byType = new Map<string, number[]>();
  private readonly selectCheckpoints: Statement;
  private readonly updateCheckpoint: Statement;
  private readonly beginStatement: Statement;
  private readonly commitStatement: Statement;
  private readonly rollbackStatement: Statement;
  /** State inside the open transaction, indexed like `tracked`. */
  private readonly pendingCheckpoint: (Position | null)[];
  private readonly pendingApplied: number[];
  /** Each projection's memo for the open transaction (Projection.apply), indexed like `tracked`. */
  private readonly memos: Map<string, unknown>[];
  /** Scratch state of one applyOpen call. */
  private readonly from: number[];
  private readonly to: number[];
  private open = false;

  constructor(
    readonly db: Database,
    projections: readonly Projection[],
    private readonly onVersionChange?: (projection: Projection, from: number) => void,
    /** Leave the projections' query indexes out (an initial build creates them at its end: createAllQueryIndexes). */
    private readonly deferQueryIndexes = false,
  ) {
    const names = new Set<string>();
    for (const p of projections) {
      if (names.has(p.name)) throw new Error(`Two projections are named ${p.name}`);
      names.add(p.name);
    }
    ensureCheckpointTable(db);
    this.tracked = projections.map((projection) => ({ projection, checkpoint: null, eventsApplied: 0 }));
    this.tracked.forEach((t, i) => {
      for (const type of new Set(t.projection.eventTypes)) {
        const list = this.byType.get(type);
        if (list) list.push(i);
        else this.byType.set(type, [i]);
      }
    });
    this.pendingCheckpoint = this.tracked.map(() => null);
    this.pendingApplied = this.tracked.map(() => 0);
    this.memos = this.tracked.map(() => new Map<string, unknown>());
    this.from = this.tracked.map(() => 0);
    this.to = this.tracked.map(() => 0);
    this.selectCheckpoints = db
      .prepare('SELECT name, version, commit_position, prepare_position, events_applied FROM projection_checkpoints')
      .safeIntegers(true);
    this.updateCheckpoint = db.prepare(
      'UPDATE projection_checkpoints SET commit_position = ?, prepare_position = ?, events_applied = ? WHERE name = ?',
    );
    // IMMEDIATE: the checkpoint check and the writes happen under the write lock, so another
    // process cannot slip a write in between.
    this.beginStatement = db.prepare('BEGIN IMMEDIATE');
    this.commitStatement = db.prepare('COMMIT');
    this.rollbackStatement = db.prepare('ROLLBACK');
    this.load();
  }

  get inTransaction(): boolean {
    return this.open;
  }

  /** Creates missing tables, rebuilds projections whose version changed, loads every checkpoint. */
  load(): void {
    this.assertNoTransaction();
    const rows = this.readCheckpoints();
    const insert = this.db.prepare('INSERT OR IGNORE INTO projection_checkpoints (name, version) VALUES (?, ?)');
    for (const t of this.tracked) {
      const row = rows.get(t.projection.name);
      if (row && Number(row.version) !== t.projection.version) {
        this.onVersionChange?.(t.projection, Number(row.version));
        this.reset([t.projection.name]);
        continue;
      }
      this.setup(t.projection);
      if (!row) insert.run(t.projection.name, t.projection.version);
      t.checkpoint = row && row.commit_position !== null && row.prepare_position !== null ? { commit: row.commit_position, prepare: row.prepare_position } : null;
      t.eventsApplied = row ? Number(row.events_applied) : 0;
    }
  }

  /** Drops the tables of the named projections (all when omitted), recreates them, checkpoints back to zero. */
  reset(names?: readonly string[]): void {
    this.assertNoTransaction();
    const upsert = this.db.prepare(
      `INSERT INTO projection_checkpoints (name, version, commit_position, prepare_position, events_applied) VALUES (?, ?, NULL, NULL, 0)
       ON CONFLICT(name) DO UPDATE SET version = excluded.version, commit_position = NULL, prepare_position = NULL, events_applied = 0`,
    );
    for (const t of this.tracked) {
      if (names && !names.includes(t.projection.name)) continue;
      this.db.transaction(() => {
        dropTables(this.db, t.projection);
        this.setup(t.projection);
        upsert.run(t.projection.name, t.projection.version);
      }).immediate();
      t.checkpoint = null;
      t.eventsApplied = 0;
    }
  }

  /** The lowest committed checkpoint: where a subscription feeding every projection has to start (null: the beginning). */
  lowestCheckpoint(): Position | null {
    let lowest: Position | null = null;
    for (const t of this.tracked) {
      if (!t.checkpoint) return null;
      if (!lowest || comparePositions(t.checkpoint, lowest) < 0) lowest = t.checkpoint;
    }
    return lowest;
  }

  /**
   * Applies `events` (in log order) in one transaction of their own. With `ceilings`, a projection
   * gets only the events up to its ceiling (verification replays stop each projection where the
   * live one is).
   */
  apply(events: readonly StoredEvent[], ceilings?: Ceilings): void {
    if (events.length === 0) return;
    this.begin();
    try {
      this.applyOpen(events, ceilings);
      this.commit();
    } catch (error) {
      this.rollback();
      throw error;
    }
  }

  /**
   * Opens a write transaction that several `applyOpen` calls fill, over several turns of the
   * event loop if the caller wants (fewer, larger commits while catching up). Checks first that
   * nobody else moved the checkpoints (CheckpointsMovedError).
   */
  begin(): void {
    this.assertNoTransaction();
    this.beginStatement.run();
    this.open = true;
    try {
      this.assertCheckpointsUnchanged();
    } catch (error) {
      this.rollback();
      throw error;
    }
    for (let i = 0; i < this.tracked.length; i++) {
      this.pendingCheckpoint[i] = this.tracked[i].checkpoint;
      this.pendingApplied[i] = this.tracked[i].eventsApplied;
      this.memos[i].clear();
    }
  }

  /** Applies events inside the open transaction; each projection only those after its checkpoint. */
  applyOpen(events: readonly StoredEvent[], ceilings?: Ceilings): void {
    if (!this.open) throw new Error('No open projection transaction');
    const n = events.length;
    if (n === 0) return;
    const from = this.from;
    const to = this.to;
    let anything = false;
    for (let i = 0; i < this.tracked.length; i++) {
      const cp = this.pendingCheckpoint[i];
      let f = 0;
      if (cp) {
        if (comparePositions(events[n - 1].position, cp) <= 0) f = n;
        else if (comparePositions(events[0].position, cp) <= 0) f = firstAfter(events, cp);
      }
      let t = n;
      if (ceilings && ceilings.has(this.tracked[i].projection.name)) {
        const ceiling = ceilings.get(this.tracked[i].projection.name) ?? null;
        t = ceiling === null ? 0 : comparePositions(events[n - 1].position, ceiling) <= 0 ? n : firstAfter(events, ceiling);
      }
      from[i] = f;
      to[i] = t;
      if (t > f) anything = true;
    }
    if (!anything) return;
    const db = this.db;
    const tracked = this.tracked;
    const applied = this.pendingApplied;
    const memos = this.memos;
    for (let e = 0; e < n; e++) {
      const event = events[e];
      const handlers = this.byType.get(event.type);
      if (handlers === undefined) continue;
      for (let h = 0; h < handlers.length; h++) {
        const i = handlers[h];
        if (e < from[i] || e >= to[i]) continue;
        tracked[i].projection.apply(db, event, memos[i]);
        applied[i]++;
      }
    }
    for (let i = 0; i < tracked.length; i++) if (to[i] > from[i]) this.pendingCheckpoint[i] = events[to[i] - 1].position;
  }

  /**
   * Inside the open transaction: every projection has seen the log up to `position` (a filtered
   * read skipped the events of other types). Moves the checkpoints that are behind it; none moves back.
   */
  advanceTo(position: Position): void {
    if (!this.open) throw new Error('No open projection transaction');
    for (let i = 0; i < this.tracked.length; i++) {
      const cp = this.pendingCheckpoint[i];
      if (cp === null || comparePositions(cp, position) < 0) this.pendingCheckpoint[i] = position;
    }
  }

  /** Writes the checkpoints that moved and commits: rows and checkpoints become durable together. */
  commit(): void {
    if (!this.open) throw new Error('No open projection transaction');
    try {
      for (let i = 0; i < this.tracked.length; i++) {
        const flush = this.tracked[i].projection.flush;
        if (flush && this.memos[i].size > 0) flush.call(this.tracked[i].projection, this.db, this.memos[i]);
        this.memos[i].clear();
      }
      for (let i = 0; i < this.tracked.length; i++) {
        const t = this.tracked[i];
        const cp = this.pendingCheckpoint[i];
        if (cp === t.checkpoint) continue;
        if (cp === null) continue;
        this.updateCheckpoint.run(cp.commit, cp.prepare, this.pendingApplied[i], t.projection.name);
      }
      this.commitStatement.run();
    } catch (error) {
      this.rollback();
      throw error;
    }
    this.open = false;
    for (let i = 0; i < this.tracked.length; i++) {
      this.tracked[i].checkpoint = this.pendingCheckpoint[i];
      this.tracked[i].eventsApplied = this.pendingApplied[i];
    }
  }

  /** Undoes the open transaction (nothing of it was applied). */
  rollback(): void {
    if (!this.open) return;
    this.open = false;
    for (const memo of this.memos) memo.clear();
    if (this.db.inTransaction) this.rollbackStatement.run();
  }

  /** Every projection's query indexes (after a build that deferred them). */
  createAllQueryIndexes(): void {
    for (const t of this.tracked) createQueryIndexes(this.db, t.projection);
  }

  private setup(projection: Projection): void {
    projection.setup(this.db);
    if (!this.deferQueryIndexes) createQueryIndexes(this.db, projection);
  }

  private assertNoTransaction(): void {
    if (this.open) throw new Error('A projection transaction is open');
  }

  private assertCheckpointsUnchanged(): void {
    const rows = this.readCheckpoints();
    for (const t of this.tracked) {
      const row = rows.get(t.projection.name);
      if (!row || Number(row.version) !== t.projection.version) throw new CheckpointsMovedError(t.projection.name);
      const stored = row.commit_position !== null && row.prepare_position !== null ? { commit: row.commit_position, prepare: row.prepare_position } : null;
      const same = stored === null || t.checkpoint === null ? stored === t.checkpoint : comparePositions(stored, t.checkpoint) === 0;
      if (!same) throw new CheckpointsMovedError(t.projection.name);
    }
  }

  private readCheckpoints(): Map<string, CheckpointRow> {
    const rows = this.selectCheckpoints.all() as CheckpointRow[];
    return new Map(rows.map((r) => [r.name, r]));
  }
}

/** Index of the first event strictly after `position` (events in log order). */
function firstAfter(events: readonly StoredEvent[], position: Position): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (comparePositions(events[mid].position, position) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
