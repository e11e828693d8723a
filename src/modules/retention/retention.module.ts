import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AuditModule } from '../audit/audit.module';
import { VerificationChecks } from '../audit/verify-projections/verification-checks';
import { FacialDataModule } from '../facial-data/facial-data.module';
import { ComplianceReportController } from './compliance-report/compliance-report.controller';
import { ComplianceReportService } from './compliance-report/compliance-report.service';
import { LifecycleBackstop } from './lifecycle/lifecycle-backstop';
import { OplogMetadata } from './operation-logs/oplog-metadata';
import { ScavengeSchedule } from './operation-logs/scavenge-schedule';
import { OrphanSweeper } from './orphans/orphan-sweeper';
import { PurgeOperationLogsHandler } from './purge-operation-logs/purge-operation-logs.handler';
import { RetentionLedgerReader } from './retention-ledger.reader';
import { retentionDurations } from './retention-rules';
import { OriginalDeletions } from './sweep/original-deletions';
import { RetentionSaga } from './sweep/retention.saga';
import { RetentionSweeper } from './sweep/retention-sweeper';
import { RetentionDeadlinesCheck } from './verification/retention-deadlines.check';

/**
 * Retention: the policy's rules enforced from the log (sweep + sagas), the operation-log
 * maintenance, the OSS lifecycle backstop, the compliance report and the verification check.
 */
@Module({
  imports: [FacialDataModule, AuditModule],
  controllers: [ComplianceReportController],
  providers: [
    RetentionLedgerReader,
    OriginalDeletions,
    OplogMetadata,
    PurgeOperationLogsHandler,
    OrphanSweeper,
    LifecycleBackstop,
    ScavengeSchedule,
    RetentionSaga,
    RetentionSweeper,
    ComplianceReportService,
  ],
  exports: [RetentionSweeper, RetentionSaga, RetentionLedgerReader, ComplianceReportService],
})
export class RetentionModule implements OnModuleInit {
  constructor(
    @Inject(VerificationChecks) private readonly checks: VerificationChecks,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.checks.register(new RetentionDeadlinesCheck(retentionDurations(this.config)));
  }
}
