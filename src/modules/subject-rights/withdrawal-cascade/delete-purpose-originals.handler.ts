import { Inject } from '@nestjs/common';
import { CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DomainError } from '../../../common/errors/domain-error';
import { ConsentGate } from '../../consent/consent-gate.service';
import type { CommandContext } from '../../event-store/event-log';
import { DeleteImageCommand } from '../../facial-data/delete-image/delete-image.command';
import { SubjectDataReadModel } from '../erase-account/subject-data.read-model';
import { DeletePurposeOriginalsCommand } from './delete-purpose-originals.command';
import { shouldDeleteAfterWithdrawal } from './withdrawal-cascade.decider';

/**
 * The withdrawal cascade: the purpose's originals still held are deleted (DeleteImageCommand,
 * reason consent-withdrawn: object first, then ImageDeleted, and the image's jobs cancelled),
 * unless consent to the purpose was given again meanwhile (decided from the subject's stream).
 */
@CommandHandler(DeletePurposeOriginalsCommand)
export class DeletePurposeOriginalsHandler implements ICommandHandler<DeletePurposeOriginalsCommand> {
  constructor(
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(ConsentGate) private readonly consent: ConsentGate,
    @Inject(SubjectDataReadModel) private readonly data: SubjectDataReadModel,
  ) {}

  async execute(command: DeletePurposeOriginalsCommand): Promise<{ deleted: number }> {
    const state = await this.consent.subjectState(command.subjectId);
    if (!shouldDeleteAfterWithdrawal(state, command.purpose)) return { deleted: 0 };
    const context: CommandContext = { ...command.context, idempotency: undefined };
    let deleted = 0;
    for (const imageId of this.data.storedImagesOfPurpose(command.subjectId, command.purpose)) {
      try {
        const result = await this.commandBus.execute(new DeleteImageCommand(command.subjectId, imageId, 'consent-withdrawn', context));
        if (result.deleted) deleted++;
      } catch (error) {
        if (!(error instanceof DomainError) || error.status !== 404) throw error;
      }
    }
    return { deleted };
  }
}
