import { Module } from '@nestjs/common';
import { AuditAccessLogController } from './audit-access-log/audit-access-log.controller';
import { ListAuditEventsController } from './audit-events/list-audit-events.controller';
import { AuditSubjectHistoryController } from './audit-subject-history/audit-subject-history.controller';
import { AuditTrail } from './audit-trail.service';
import { SubjectHistoryReader } from './read-models/subject-history.reader';
import { SubjectHistoryController } from './subject-history/subject-history.controller';
import { VerificationChecks } from './verify-projections/verification-checks';
import { VerifyProjectionsController } from './verify-projections/verify-projections.controller';
import { VerifyProjectionsHandler } from './verify-projections/verify-projections.handler';

/**
 * The auditors' side and the subject's right to know: history and access views (from their
 * projections), the log itself, independent verification. Every auditor read is recorded.
 * Exports the history reader (for exports) and the verification check registry (for retention).
 */
@Module({
  controllers: [SubjectHistoryController, ListAuditEventsController, AuditSubjectHistoryController, AuditAccessLogController, VerifyProjectionsController],
  providers: [SubjectHistoryReader, AuditTrail, VerificationChecks, VerifyProjectionsHandler],
  exports: [SubjectHistoryReader, AuditTrail, VerificationChecks],
})
export class AuditModule {}
