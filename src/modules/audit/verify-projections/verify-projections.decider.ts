import type { DomainEvent } from '../../../events/event-registry';
import type { Position } from '../../event-store/event-store.port';
import type { RowMismatch, TableComparison } from '../../../projections/verification/table-comparison';
import type { VerificationReport } from '../../../projections/verification/projection-verifier';
import type { VerificationViolation } from '../../../projections/verification/verification-check';

export interface VerificationOutcome {
  readonly verificationId: string;
  readonly eventsReplayed: number;
  readonly verifiedUpTo: string | null;
  readonly projectionsMatch: boolean;
  readonly mismatchCount: number;
  readonly mismatches: readonly RowMismatch[];
  readonly tables: readonly TableComparison[];
  readonly retentionViolations: readonly VerificationViolation[];
}

/** The result of a verification as the record the log keeps (counts only: rows and ids stay out of the log). */
export function decideVerificationRecord(verificationId: string, requestedBy: string, report: VerificationReport): DomainEvent {
  return {
    type: 'VerificationCompleted',
    data: {
      verificationId,
      requestedBy,
      eventsReplayed: report.eventsReplayed,
      projectionsMatch: report.projectionsMatch && report.mismatchCount === 0,
      mismatchCount: report.mismatchCount,
      retentionViolationCount: report.retentionViolations.length,
    },
  };
}

export function outcomeOf(verificationId: string, report: VerificationReport, format: (p: Position) => string): VerificationOutcome {
  return {
    verificationId,
    eventsReplayed: report.eventsReplayed,
    verifiedUpTo: report.verifiedUpTo ? format(report.verifiedUpTo) : null,
    projectionsMatch: report.projectionsMatch,
    mismatchCount: report.mismatchCount,
    mismatches: report.mismatches,
    tables: report.tables,
    retentionViolations: report.retentionViolations,
  };
}
