import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { AppConfig } from '../../config/app-config';
import { EventLog } from '../../event-store/event-log';
import { ConsentLedgerReader, type ConsentView } from '../get-consents/consent-ledger.reader';
import { foldSubject } from '../subject.state';
import { awaitReadModels, lastPositionOf } from '../subject-stream';
import { GrantConsentCommand } from './grant-consent.command';
import { decideGrantConsent } from './grant-consent.decider';

@CommandHandler(GrantConsentCommand)
export class GrantConsentHandler implements ICommandHandler<GrantConsentCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(ConsentLedgerReader) private readonly ledger: ConsentLedgerReader,
  ) {}

  async execute(command: GrantConsentCommand): Promise<ConsentView> {
    const outcome = await this.log.decideAndAppend(streams.subject(command.subjectId), command.context, (loaded) => ({
      events: decideGrantConsent(foldSubject(loaded.events), { purpose: command.purpose, policyVersion: command.policyVersion }, this.config.policyVersion),
      result: { last: lastPositionOf(loaded) },
    }));
    await awaitReadModels(this.runner, outcome);
    return this.ledger.consentOf(command.subjectId, command.purpose);
  }
}
