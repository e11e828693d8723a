import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nextTurn } from '../../common/async/next-turn';
import { comparePositions, type EventStore, type Position, type StoredEvent } from '../../modules/event-store/event-store.port';
import type { Projection } from '../projection';
import { ProjectionApplier, type Ceilings } from '../projection-applier';
import { openScratchDatabase } from '../read-model-database';
import { compareTable, type RowMismatch, type TableComparison } from './table-comparison';
import type { VerificationCheck, VerificationCheckRun, VerificationViolation } from './verification-check';

export interface VerificationProgress {
  readonly phase: 'replay' | 'compare';
  readonly eventsReplayed: number;
  /** Position reached by the replay, and the position it replays up to. */
  readonly position: Position | null;
  readonly target: Position | null;
}

export interface VerifyProjectionsOptions {
  readonly store: EventStore;
  /** The live read-model database file (opened read-only; the runner may keep writing it). */
  readonly liveDatabaseFile: string;
  readonly projections: readonly Projection[];
  /** Where the scratch database is created (and removed afterwards). */
  readonly scratchDirectory: string;
  readonly checks?: readonly VerificationCheck[];
  /** How many mismatches are listed (all are counted). Default 100. */
  readonly maxMismatches?: number;
  readonly now: Date;
  readonly onProgress?: (progress: VerificationProgress) => void;
  /** Events per scratch transaction. */
  readonly batchSize?: number;
}

export interface VerificationReport {
  /** Events read from the log, up to `verifiedUpTo`. */
  readonly eventsReplayed: number;
  readonly verifiedUpTo: Position | null;
  readonly projectionsMatch: boolean;
  /** Capped at `maxMismatches`; `mismatchCount` counts them all. */
  readonly mismatches: readonly RowMismatch[];
  readonly mismatchCount: number;
  readonly tables: readonly TableComparison[];
  readonly retentionViolations: readonly VerificationViolation[];
}

interface LiveCheckpoint {
  readonly version: number;
  readonly position: Position | null;
  readonly eventsApplied: number;
}

const DEFAULT_BATCH = 2_000;

/**
 * Independent verification of the read models: replays the log from position zero into a fresh
 * scratch database with fresh projections, each stopped exactly where the live one stands, then
 * compares every table row by row with the live database and runs the registered checks.
 *
 * Consistency without stopping the live runner: a first replay goes up to the checkpoints read at
 * the start; then a read transaction on the live file pins a snapshot (WAL), the replay catches up
 * to the snapshot's checkpoints, and the comparison reads the live rows from that same snapshot.
 * The replay runs in batches over the lazily paged log, and the comparison in key-range chunks,
 * with the event loop running in between.
 */
export async function verifyProjections(options: VerifyProjectionsOptions): Promise<VerificationReport> {
  const maxMismatches = options.maxMismatches ?? 100;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH);
  if (!existsSync(options.liveDatabaseFile)) throw new Error('The live read-model database does not exist');
  const scratchFile = join(options.scratchDirectory, `verification-${randomUUID()}.db`);
  const live = new Database(options.liveDatabaseFile, { readonly: true, fileMustExist: true });
  let scratch: Database.Database | null = null;
  try {
    live.pragma('busy_timeout = 5000');
    scratch = openScratchDatabase(scratchFile);
    const applier = new ProjectionApplier(scratch, options.projections);
    const runs = (options.checks ?? []).map((check) => ({ name: check.name, run: check.start({ now: options.now }) }));

    // 1. Replay up to where the live projections are now.
    const first = readLiveCheckpoints(live, options.projections);
    const replay = new Replay(options.store, applier, batchSize, runs, options.onProgress);
    await replay.scan(null, first);

    // 2. Pin a snapshot of the live database and catch up with it.
    live.prepare('ATTACH DATABASE ? AS scratch').run(scratchFile);
    live.exec('BEGIN');
    try {
      const pinned = readLiveCheckpoints(live, options.projections);
      const rebuiltMeanwhile = options.projections.filter((p) => isBehind(pinned.get(p.name), first.get(p.name)));
      if (rebuiltMeanwhile.length > 0) {
        // A live projection was rebuilt while we replayed: replay those again from zero (the
        // others skip what they already have, by their checkpoints).
        applier.reset(rebuiltMeanwhile.map((p) => p.name));
        await replay.scan(null, pinned);
      } else {
        await replay.scan(replay.position, pinned);
      }
      const verifiedUpTo = highest(pinned);

      // 3. Compare.
      options.onProgress?.({ phase: 'compare', eventsReplayed: replay.eventsReplayed, position: replay.position, target: verifiedUpTo });
      const mismatches: RowMismatch[] = [];
      let mismatchCount = 0;
      const report = (m: RowMismatch) => {
        if (mismatches.length < maxMismatches) mismatches.push(m);
      };
      const tables: TableComparison[] = [];
      for (const projection of options.projections) {
        for (const table of projection.tables) {
          const result = await compareTable({ db: live, liveSchema: 'main', replayedSchema: 'scratch', projection: projection.name, table: table.name, orderBy: table.orderBy, report });
          mismatchCount += result.mismatches;
          tables.push(result);
        }
        const checkpointMismatch = compareCheckpoint(projection, pinned.get(projection.name), applier);
        if (checkpointMismatch) {
          mismatchCount++;
          report(checkpointMismatch);
        }
      }

      const retentionViolations: VerificationViolation[] = [];
      for (const { name, run } of runs) {
        const found = await run.finish({ replayed: scratch, live, verifiedUpTo });
        for (const violation of found) retentionViolations.push({ check: name, ...violation });
      }
      return {
        eventsReplayed: replay.eventsReplayed,
        verifiedUpTo,
        projectionsMatch: mismatchCount === 0,
        mismatches,
        mismatchCount,
        tables,
        retentionViolations,
      };
    } finally {
      if (live.inTransaction) live.exec('ROLLBACK');
    }
  } finally {
    live.close();
    scratch?.close();
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(scratchFile + suffix, { force: true });
  }
}

/** Reads the live checkpoints (inside a transaction: from its snapshot). */
function readLiveCheckpoints(live: Database.Database, projections: readonly Projection[]): Map<string, LiveCheckpoint> {
  const rows = live
    .prepare('SELECT name, version, commit_position, prepare_position, events_applied FROM projection_checkpoints')
    .safeIntegers(true)
    .all() as { name: string; version: bigint; commit_position: bigint | null; prepare_position: bigint | null; events_applied: bigint }[];
  const byName = new Map(rows.map((r) => [r.name, r]));
  const out = new Map<string, LiveCheckpoint>();
  for (const p of projections) {
    const row = byName.get(p.name);
    out.set(p.name, {
      version: row ? Number(row.version) : p.version,
      position: row && row.commit_position !== null && row.prepare_position !== null ? { commit: row.commit_position, prepare: row.prepare_position } : null,
      eventsApplied: row ? Number(row.events_applied) : 0,
    });
  }
  return out;
}

function isBehind(now: LiveCheckpoint | undefined, before: LiveCheckpoint | undefined): boolean {
  if (!before?.position) return false;
  if (!now?.position) return true;
  return comparePositions(now.position, before.position) < 0 || now.eventsApplied < before.eventsApplied;
}

function highest(checkpoints: ReadonlyMap<string, LiveCheckpoint>): Position | null {
  let top: Position | null = null;
  for (const c of checkpoints.values()) if (c.position && (!top || comparePositions(c.position, top) > 0)) top = c.position;
  return top;
}

function ceilingsOf(checkpoints: ReadonlyMap<string, LiveCheckpoint>): Ceilings {
  return new Map([...checkpoints].map(([name, c]) => [name, c.position]));
}

/** The live projection's version and event count against the replay's. */
function compareCheckpoint(projection: Projection, live: LiveCheckpoint | undefined, applier: ProjectionApplier): RowMismatch | null {
  const replayed = applier.tracked.find((t) => t.projection.name === projection.name);
  const liveRow = { version: live?.version ?? null, eventsApplied: live?.eventsApplied ?? 0 };
  const replayedRow = { version: projection.version, eventsApplied: replayed?.eventsApplied ?? 0 };
  if (liveRow.version === replayedRow.version && liveRow.eventsApplied === replayedRow.eventsApplied) return null;
  return { projection: projection.name, table: 'projection_checkpoints', key: { name: projection.name }, live: liveRow, replayed: replayedRow };
}

/** The replay of the log into the scratch projections (and the checks), resumable. */
class Replay {
  /** Distinct events read, up to `position`. */
  eventsReplayed = 0;
  /** The last event read. */
  position: Position | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly applier: ProjectionApplier,
    private readonly batchSize: number,
    private readonly runs: readonly { name: string; run: VerificationCheckRun }[],
    private readonly onProgress?: (progress: VerificationProgress) => void,
  ) {}

  /**
   * Reads the log after `from` up to the highest checkpoint and applies it, each projection
   * stopping at its own checkpoint (and skipping what it already has). Events are counted and
   * given to the checks once, however often they are read.
   */
  async scan(from: Position | null, checkpoints: ReadonlyMap<string, LiveCheckpoint>): Promise<void> {
    const target = highest(checkpoints);
    if (!target) return;
    if (from && comparePositions(from, target) >= 0) return;
    const ceilings = ceilingsOf(checkpoints);
    let batch: StoredEvent[] = [];
    let fresh: StoredEvent[] = [];
    const flush = async () => {
      this.applier.apply(batch, ceilings);
      if (fresh.length > 0) for (const { run } of this.runs) run.onEvents?.(fresh);
      batch = [];
      fresh = [];
      this.onProgress?.({ phase: 'replay', eventsReplayed: this.eventsReplayed, position: this.position, target });
      await nextTurn();
    };
    for await (const event of this.store.readAll({ fromPosition: from ?? 'start' })) {
      if (comparePositions(event.position, target) > 0) break;
      if (this.position === null || comparePositions(event.position, this.position) > 0) {
        this.eventsReplayed++;
        this.position = event.position;
        fresh.push(event);
      }
      batch.push(event);
      if (batch.length >= this.batchSize) await flush();
    }
    if (batch.length > 0) await flush();
  }
}
