import { Inject } from '@nestjs/common';
import { CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { ImageDeletionReason, JobCancelReason } from '../../../events/facial-data.events';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import type { Position } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { CancelJobsCommand } from '../cancel-jobs/cancel-jobs.command';
import { EncryptedObjects } from '../encrypted-objects';
import { foldImage } from '../images/image.state';
import { DeleteImageCommand } from './delete-image.command';
import { decideImageDeletion } from './delete-image.decider';

const ATTEMPTS = 5;

/** Why the jobs of a deleted original are cancelled. */
export function jobCancelReasonFor(reason: ImageDeletionReason): JobCancelReason {
  switch (reason) {
    case 'erasure':
      return 'erasure';
    case 'consent-withdrawn':
      return 'consent-withdrawn';
    default:
      return 'original-deleted';
  }
}

/**
 * Deletes an original: the object FIRST, then `ImageDeleted` at the loaded revision. A crash in
 * between leaves an event-less deletion that the next attempt (or the retention sweep) completes
 * with exactly one event, since deleting an absent object succeeds. A concurrent deletion makes
 * the append conflict: the stream is read again and, being deleted now, nothing more is appended.
 * Then the image's unfinished jobs are cancelled (idempotent, so it also runs for an image that
 * was already deleted: a retry after a failure there completes the cancellation).
 */
@CommandHandler(DeleteImageCommand)
export class DeleteImageHandler implements ICommandHandler<DeleteImageCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EncryptedObjects) private readonly objects: EncryptedObjects,
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  async execute(command: DeleteImageCommand): Promise<{ deleted: boolean }> {
    const stream = streams.image(command.imageId);
    let deleted = false;
    let position: Position | null = null;
    let lastConflict: unknown = null;
    for (let attempt = 0; attempt < ATTEMPTS && !deleted; attempt++) {
      const loaded = await this.log.load(stream);
      const decision = decideImageDeletion(foldImage(loaded.events), command);
      if (decision.kind === 'already-deleted') {
        lastConflict = null;
        break;
      }
      if (decision.objectKey !== command.deletedObjectKey) await this.objects.delete(decision.objectKey);
      try {
        position = (await this.log.append(stream, [decision.event], loaded.revision, command.context)).position;
        deleted = true;
        lastConflict = null;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        lastConflict = error;
      }
    }
    if (lastConflict) throw lastConflict;

    await this.commandBus.execute(new CancelJobsCommand(command.subjectId, { imageId: command.imageId }, jobCancelReasonFor(command.reason), command.context));

    if (position) {
      this.logger.get().info({ imageId: command.imageId, reason: command.reason }, 'original deleted');
      try {
        await this.runner.waitFor(position);
      } catch {
        this.logger.get().warn({ component: 'projections' }, 'read model did not catch up after a deletion');
      }
    }
    return { deleted };
  }
}
