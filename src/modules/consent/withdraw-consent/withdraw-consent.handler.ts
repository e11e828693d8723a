import { Inject } from '@nestjs/common';
import { CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import { CancelJobsCommand } from '../../facial-data/cancel-jobs/cancel-jobs.command';
import { DeletePurposeOriginalsCommand } from '../../subject-rights/withdrawal-cascade/delete-purpose-originals.command';
import { ConsentLedgerReader, type ConsentView } from '../get-consents/consent-ledger.reader';
import { foldSubject } from '../subject.state';
import { awaitReadModels, lastPositionOf } from '../subject-stream';
import { WithdrawConsentCommand } from './withdraw-consent.command';
import { decideWithdrawConsent } from './withdraw-consent.decider';

@CommandHandler(WithdrawConsentCommand)
export class WithdrawConsentHandler implements ICommandHandler<WithdrawConsentCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(ConsentLedgerReader) private readonly ledger: ConsentLedgerReader,
  ) {}

  async execute(command: WithdrawConsentCommand): Promise<ConsentView> {
    const outcome = await this.log.decideAndAppend(streams.subject(command.subjectId), command.context, (loaded) => ({
      events: decideWithdrawConsent(foldSubject(loaded.events), command.purpose),
      result: { last: lastPositionOf(loaded) },
    }));
    // Withdrawal first (a job checks consent when it starts, so none starts after this), then the
    // queued ones are cancelled. Also when nothing was withdrawn now: a retry repairs a
    // withdrawal whose cancellation was interrupted.
    await this.commandBus.execute(new CancelJobsCommand(command.subjectId, { purpose: command.purpose }, 'consent-withdrawn', command.context));
    // PIPL art. 47: the purpose's originals are deleted at once (ImageDeleted, reason consent-withdrawn).
    await this.commandBus.execute(new DeletePurposeOriginalsCommand(command.subjectId, command.purpose, command.context));
    await awaitReadModels(this.runner, outcome);
    return this.ledger.consentOf(command.subjectId, command.purpose);
  }
}
