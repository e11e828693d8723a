import { Inject, Injectable } from '@nestjs/common';
import { nextTurn } from '../../../common/async/next-turn';
import { Clock } from '../../clock/clock.port';
import { AppConfig } from '../../config/app-config';
import { RetentionLedgerReader, type LedgerRuleCounts } from '../retention-ledger.reader';
import { RETENTION_RULE_NAMES, retentionDurations } from '../retention-rules';
import type { RetentionReportDto, RetentionRuleReportDto } from './compliance-report.dto';

/** Ledger rows (or operation-log entries) aggregated per query; the event loop runs between two of them. */
const ROWS_PER_CHUNK = 100_000;

/**
 * The compliance report: per rule, items tracked, deleted on time, deleted late, overdue now and
 * the largest lateness, from the retention ledger (a projection of the log). A deletion's due
 * time is the one its event recorded (ImageDeleted.dueAt) where present, else the clock start
 * plus the rule's configured duration (for originals: or the consent withdrawal, if earlier).
 * Operation-log entries leave the ledger when purged: their counts come from the
 * OperationLogsPurged records.
 */
@Injectable()
export class ComplianceReportService {
  constructor(
    @Inject(RetentionLedgerReader) private readonly ledger: RetentionLedgerReader,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  async report(): Promise<RetentionReportDto> {
    const now = this.clock.now();
    const durations = retentionDurations(this.config);
    const totals = new Map<string, LedgerRuleCounts>(
      RETENTION_RULE_NAMES.map((rule) => [rule, { tracked: 0, deletedOnTime: 0, deletedLate: 0, overdue: 0, maxLatenessMs: 0 }]),
    );
    const query = {
      nowMs: now.getTime(),
      originalMs: durations.originalMs,
      tempFilesMs: durations.tempFilesMs,
      oplogMs: durations.oplogMs,
      toleranceMs: durations.toleranceMs,
    };
    const max = this.ledger.maxRowid();
    for (let from = 0; from < max; from += ROWS_PER_CHUNK) {
      if (from > 0) await nextTurn();
      for (const [rule, counts] of this.ledger.countsChunk(from, from + ROWS_PER_CHUNK, query)) {
        const total = totals.get(rule);
        if (total) add(total, counts);
      }
    }
    const oplog = totals.get('operation-logs') as LedgerRuleCounts;
    // Operation-log entries have a table of their own, paged by event id.
    for (let after: string | null = ''; after !== null; ) {
      await nextTurn();
      const chunk = this.ledger.oplogCountsChunk(after, ROWS_PER_CHUNK, query);
      add(oplog, chunk.counts);
      after = chunk.last;
    }
    const purged = this.ledger.oplogPurgeTotals();
    oplog.tracked += purged.removed;
    oplog.deletedOnTime += purged.removed - purged.late;
    oplog.deletedLate += purged.late;
    oplog.maxLatenessMs = Math.max(oplog.maxLatenessMs, purged.maxLatenessSeconds * 1000);

    const rules: RetentionRuleReportDto[] = RETENTION_RULE_NAMES.map((rule) => {
      const t = totals.get(rule) as LedgerRuleCounts;
      return {
        rule,
        tracked: t.tracked,
        deletedOnTime: t.deletedOnTime,
        deletedLate: t.deletedLate,
        overdue: t.overdue,
        maxLatenessSeconds: Math.ceil(t.maxLatenessMs / 1000),
      };
    });
    return { generatedAt: now.toISOString(), rules };
  }
}

function add(total: LedgerRuleCounts, counts: LedgerRuleCounts): void {
  total.tracked += counts.tracked;
  total.deletedOnTime += counts.deletedOnTime;
  total.deletedLate += counts.deletedLate;
  total.overdue += counts.overdue;
  total.maxLatenessMs = Math.max(total.maxLatenessMs, counts.maxLatenessMs);
}
