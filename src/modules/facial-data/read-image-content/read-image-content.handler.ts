import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import { AppLogger } from '../../logging/logger';
import { EncryptedObjects } from '../encrypted-objects';
import { foldImage } from '../images/image.state';
import { recordViewThenAnswer } from '../view-recording';
import { decideImageView, imageDeleted } from './read-image-content.decider';
import { ReadImageContentCommand, type ImageContent } from './read-image-content.command';

/**
 * Loads the image from its stream (never the read model, so a deletion is seen at once), reads
 * and decrypts the object, then appends `ImageViewed` at the loaded revision: a deletion that
 * raced in makes the append conflict, the stream is read again and the answer is 410. Only after
 * the view is durably recorded are the bytes handed back.
 */
@CommandHandler(ReadImageContentCommand)
export class ReadImageContentHandler implements ICommandHandler<ReadImageContentCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EncryptedObjects) private readonly objects: EncryptedObjects,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  execute(command: ReadImageContentCommand): Promise<ImageContent> {
    return recordViewThenAnswer({
      log: this.log,
      objects: this.objects,
      runner: this.runner,
      logger: this.logger,
      stream: streams.image(command.imageId),
      subjectId: command.subjectId,
      context: command.context,
      decide: (events) => decideImageView(foldImage(events), command.subjectId),
      objectMissing: imageDeleted,
    });
  }
}
