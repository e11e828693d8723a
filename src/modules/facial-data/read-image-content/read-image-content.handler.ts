import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import { ObjectNotFoundError } from '../../object-storage/object-storage.port';
import { AppLogger } from '../../logging/logger';
import { EncryptedObjects } from '../encrypted-objects';
import { foldImage } from '../images/image.state';
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

  async execute(command: ReadImageContentCommand): Promise<ImageContent> {
    const result = await this.log.decideAndAppend(streams.image(command.imageId), command.context, async (loaded) => {
      const decision = decideImageView(foldImage(loaded.events), command.subjectId);
      let bytes: Buffer;
      try {
        bytes = await this.objects.get(command.subjectId, decision.objectKey);
      } catch (error) {
        // The object goes first when an original is deleted: its deletion is under way.
        if (error instanceof ObjectNotFoundError) throw imageDeleted();
        throw error;
      }
      return { events: [decision.event], result: { content: { bytes, contentType: decision.contentType } } };
    });
    if (result.appended) {
      try {
        await this.runner.waitFor(result.appended.position);
      } catch {
        this.logger.get().warn({ component: 'projections' }, 'read model did not catch up before the content answer');
      }
    }
    return result.content;
  }
}
