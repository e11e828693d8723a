import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { conflict } from '../../../common/errors/domain-error';
import { commandContext } from '../../../common/http/request-context';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { ReadModels } from '../../../projections/read-models';
import { verifyProjections } from '../../../projections/verification/projection-verifier';
import { Clock } from '../../clock/clock.port';
import { AppConfig } from '../../config/app-config';
import { EventLog } from '../../event-store/event-log';
import { EventStore } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { formatPosition } from '../audit-events/audit-position';
import { VerificationChecks } from './verification-checks';
import { VerifyProjections } from './verify-projections.command';
import { decideVerificationRecord, outcomeOf, type VerificationOutcome } from './verify-projections.decider';

/**
 * Runs the verification (replay into a scratch database under DATA_DIR/tmp, compare with the live
 * read models, registered checks) and records VerificationCompleted. One at a time per instance.
 */
@CommandHandler(VerifyProjections)
export class VerifyProjectionsHandler implements ICommandHandler<VerifyProjections> {
  private running = false;

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(VerificationChecks) private readonly checks: VerificationChecks,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  async execute(command: VerifyProjections): Promise<VerificationOutcome> {
    if (this.running) throw conflict('VERIFICATION_IN_PROGRESS', 'A verification is already running on this instance; retry when it has finished');
    this.running = true;
    try {
      const verificationId = randomUUID();
      const report = await verifyProjections({
        store: this.store,
        liveDatabaseFile: this.readModels.db.name,
        projections: this.runner.projections,
        scratchDirectory: join(this.config.dataDir, 'tmp'),
        checks: this.checks.all(),
        now: this.clock.now(),
      });
      await this.log.append(
        streams.audit(this.clock.now()),
        [decideVerificationRecord(verificationId, command.auditor.actor, report)],
        'any',
        commandContext(command.auditor, command.requestId),
      );
      this.logger.get().info(
        { verificationId, eventsReplayed: report.eventsReplayed, mismatchCount: report.mismatchCount, retentionViolations: report.retentionViolations.length },
        'projection verification completed',
      );
      return outcomeOf(verificationId, report, formatPosition);
    } finally {
      this.running = false;
    }
  }
}
