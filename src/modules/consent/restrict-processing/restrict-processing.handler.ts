import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Purpose } from '../../../events/purposes';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import { ConsentLedgerReader } from '../get-consents/consent-ledger.reader';
import { foldSubject } from '../subject.state';
import { awaitReadModels, lastPositionOf } from '../subject-stream';
import { SetRestrictionCommand } from './restrict-processing.command';
import { decideRestriction } from './restrict-processing.decider';

@CommandHandler(SetRestrictionCommand)
export class SetRestrictionHandler implements ICommandHandler<SetRestrictionCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(ConsentLedgerReader) private readonly ledger: ConsentLedgerReader,
  ) {}

  async execute(command: SetRestrictionCommand): Promise<{ purpose: Purpose; restricted: boolean }> {
    const outcome = await this.log.decideAndAppend(streams.subject(command.subjectId), command.context, (loaded) => ({
      events: decideRestriction(foldSubject(loaded.events), { purpose: command.purpose, restricted: command.restricted, requestId: command.requestId }),
      result: { last: lastPositionOf(loaded) },
    }));
    await awaitReadModels(this.runner, outcome);
    return { purpose: command.purpose, restricted: this.ledger.isRestricted(command.subjectId, command.purpose) };
  }
}
