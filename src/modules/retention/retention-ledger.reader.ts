import { Inject, Injectable } from '@nestjs/common';
import { statements } from '../../projections/projection';
import { ReadModels } from '../../projections/read-models';

/** A due original: the sweep deletes it. */
export interface DueOriginal {
  readonly imageId: string;
  readonly subjectId: string;
  /** The original's object key, as ImageUploaded recorded it. */
  readonly objectKey: string | null;
  /** The epoch ms the due time is computed from (the clock start, or the consent withdrawal). */
  readonly fromMs: number;
}

/** Keyset position of a paged sweep read. */
export interface LedgerCursor {
  readonly ms: number;
  readonly item: string;
}

export interface OplogExpiry {
  /** Entries whose clock start lies in the range asked for. */
  readonly count: number;
  /** Of those, entries whose clock start lies before the lateness bound. */
  readonly late: number;
  readonly oldestMs: number | null;
}

export interface ObjectReference {
  readonly rule: string;
  readonly state: 'pending' | 'done';
}

/** One rule's counts from the ledger (see ComplianceReportService). */
export interface LedgerRuleCounts {
  tracked: number;
  deletedOnTime: number;
  deletedLate: number;
  overdue: number;
  maxLatenessMs: number;
}

export interface LedgerCountsQuery {
  readonly nowMs: number;
  readonly originalMs: number;
  readonly tempFilesMs: number;
  readonly oplogMs: number;
  readonly toleranceMs: number;
}

export interface OplogPurgeTotals {
  readonly removed: number;
  readonly late: number;
  readonly maxLatenessSeconds: number;
}

/** A far-future epoch ms standing for "no due time" in SQL. */
const NEVER = 8.64e15;

const sql = statements({
  dueOriginals: `SELECT item, subject_id, object_key, clock_start_ms FROM retention_ledger
                 WHERE rule = 'original-after-processing' AND state = 'pending' AND clock_start_ms <= ?
                   AND (clock_start_ms > ? OR (clock_start_ms = ? AND item > ?))
                 ORDER BY clock_start_ms, item LIMIT ?`,
  withdrawnOriginals: `SELECT item, subject_id, object_key, withdrawn_ms FROM retention_ledger
                       WHERE rule = 'original-after-processing' AND state = 'pending' AND withdrawn_ms IS NOT NULL
                         AND (withdrawn_ms > ? OR (withdrawn_ms = ? AND item > ?))
                       ORDER BY withdrawn_ms, item LIMIT ?`,
  tempDue: `SELECT 1 FROM retention_ledger WHERE rule = 'temp-files' AND state = 'pending' AND clock_start_ms <= ? LIMIT 1`,
  oplogExpiry: `SELECT COUNT(*) AS count, COALESCE(SUM(clock_start_ms < ?), 0) AS late, MIN(clock_start_ms) AS oldest FROM retention_oplog_entries
                WHERE clock_start_ms >= ? AND clock_start_ms < ?`,
  lastPurgeCutoff: `SELECT MAX(cutoff_ms) AS cutoff FROM retention_oplog_purges`,
  oplogPurgeTotals: `SELECT COALESCE(SUM(entries_removed), 0) AS removed, COALESCE(SUM(entries_late), 0) AS late,
                            COALESCE(MAX(max_lateness_seconds), 0) AS lateness FROM retention_oplog_purges`,
  objectReference: `SELECT rule, state FROM retention_ledger WHERE object_key = ? ORDER BY state DESC LIMIT 1`,
  maxRowid: `SELECT COALESCE(MAX(rowid), 0) AS max FROM retention_ledger`,
  countsChunk: `WITH x AS (
                  SELECT rule, state, done_ms,
                    COALESCE(recorded_due_ms, CASE rule
                      WHEN 'original-after-processing' THEN MIN(clock_start_ms + @originalMs, COALESCE(withdrawn_ms, ${NEVER}))
                      WHEN 'temp-files' THEN clock_start_ms + @tempFilesMs
                      ELSE NULL END) AS due
                  FROM retention_ledger WHERE rowid > @from AND rowid <= @to)
                SELECT rule,
                  COUNT(*) AS tracked,
                  COALESCE(SUM(state = 'done' AND (due IS NULL OR done_ms <= due + @toleranceMs)), 0) AS on_time,
                  COALESCE(SUM(state = 'done' AND due IS NOT NULL AND done_ms > due + @toleranceMs), 0) AS late,
                  COALESCE(SUM(state = 'pending' AND due IS NOT NULL AND @now > due + @toleranceMs), 0) AS overdue,
                  COALESCE(MAX(CASE
                    WHEN state = 'done' AND due IS NOT NULL THEN MAX(done_ms - due, 0)
                    WHEN state = 'pending' AND due IS NOT NULL THEN MAX(@now - due, 0)
                    ELSE 0 END), 0) AS lateness
                FROM x GROUP BY rule`,
  /** Operation-log entries are never closed (a purge deletes them): each is pending, due at its clock start + the rule's duration. */
  oplogCountsChunk: `WITH x AS (SELECT item, clock_start_ms + @oplogMs AS due FROM retention_oplog_entries WHERE item > @after ORDER BY item LIMIT @limit)
                     SELECT COUNT(*) AS tracked, COALESCE(SUM(@now > due + @toleranceMs), 0) AS overdue,
                       COALESCE(MAX(MAX(@now - due, 0)), 0) AS lateness, MAX(item) AS last FROM x`,
});

/** Queries over the retention ledger projection (src/projections/retention-ledger.projection.ts). */
@Injectable()
export class RetentionLedgerReader {
  constructor(@Inject(ReadModels) private readonly readModels: ReadModels) {}

  private get q() {
    return sql(this.readModels.db);
  }

  /** Originals whose clock started at or before `clockStartedBy` (i.e. due), after `cursor`, oldest first. */
  dueOriginals(clockStartedBy: number, cursor: LedgerCursor | null, limit: number): DueOriginal[] {
    const after = cursor ?? { ms: -NEVER, item: '' };
    const rows = this.q.dueOriginals.all(clockStartedBy, after.ms, after.ms, after.item, limit) as { item: string; subject_id: string; object_key: string | null; clock_start_ms: number }[];
    return rows.map((r) => ({ imageId: r.item, subjectId: r.subject_id, objectKey: r.object_key, fromMs: r.clock_start_ms }));
  }

  /** Held originals whose purpose's consent was withdrawn (due at once), after `cursor`. */
  withdrawnOriginals(cursor: LedgerCursor | null, limit: number): DueOriginal[] {
    const after = cursor ?? { ms: -NEVER, item: '' };
    const rows = this.q.withdrawnOriginals.all(after.ms, after.ms, after.item, limit) as { item: string; subject_id: string; object_key: string | null; withdrawn_ms: number }[];
    return rows.map((r) => ({ imageId: r.item, subjectId: r.subject_id, objectKey: r.object_key, fromMs: r.withdrawn_ms }));
  }

  /** Whether a temporary object is still on record for a job that ended at or before `endedBy`. */
  anyTempFileDue(endedBy: number): boolean {
    return this.q.tempDue.get(endedBy) !== undefined;
  }

  /** Operation-log entries with a clock start in [fromMs, toMs); `late` counts those before `lateBefore`. */
  oplogExpiry(fromMs: number, toMs: number, lateBefore: number): OplogExpiry {
    const row = this.q.oplogExpiry.get(lateBefore, fromMs, toMs) as { count: number; late: number; oldest: number | null };
    return { count: row.count, late: row.late, oldestMs: row.oldest };
  }

  /** The cutoff of the newest purge this instance's ledger has applied, or null. */
  lastPurgeCutoff(): number | null {
    return (this.q.lastPurgeCutoff.get() as { cutoff: number | null }).cutoff;
  }

  oplogPurgeTotals(): OplogPurgeTotals {
    const row = this.q.oplogPurgeTotals.get() as { removed: number; late: number; lateness: number };
    return { removed: row.removed, late: row.late, maxLatenessSeconds: row.lateness };
  }

  /** The ledger row that references an object key (a pending one first), or null. */
  objectReference(key: string): ObjectReference | null {
    const row = this.q.objectReference.get(key) as { rule: string; state: 'pending' | 'done' } | undefined;
    return row ?? null;
  }

  maxRowid(): number {
    return (this.q.maxRowid.get() as { max: number }).max;
  }

  /**
   * The operation-logs rule's counts over up to `limit` entries after `after` (an event id; '' for
   * the first), and the last entry counted (null: none left). Callers page through the entries.
   */
  oplogCountsChunk(after: string, limit: number, query: LedgerCountsQuery): { counts: LedgerRuleCounts; last: string | null } {
    const row = this.q.oplogCountsChunk.get({ after, limit, now: query.nowMs, oplogMs: query.oplogMs, toleranceMs: query.toleranceMs }) as {
      tracked: number;
      overdue: number;
      lateness: number;
      last: string | null;
    };
    return { counts: { tracked: row.tracked, deletedOnTime: 0, deletedLate: 0, overdue: row.overdue, maxLatenessMs: row.lateness }, last: row.last };
  }

  /**
   * Per-rule counts over the ledger rows with rowid in (from, to]: originals, temporary files and
   * artworks (operation-log entries are in a table of their own: oplogCountsChunk). Callers page
   * through the table.
   */
  countsChunk(from: number, to: number, query: LedgerCountsQuery): Map<string, LedgerRuleCounts> {
    const params = { from, to, now: query.nowMs, originalMs: query.originalMs, tempFilesMs: query.tempFilesMs, toleranceMs: query.toleranceMs };
    const rows = this.q.countsChunk.all(params) as {
      rule: string;
      tracked: number;
      on_time: number;
      late: number;
      overdue: number;
      lateness: number;
    }[];
    const out = new Map<string, LedgerRuleCounts>();
    for (const r of rows) {
      out.set(r.rule, { tracked: r.tracked, deletedOnTime: r.on_time, deletedLate: r.late, overdue: r.overdue, maxLatenessMs: r.lateness });
    }
    return out;
  }
}
