import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { EventLog } from '../../event-store/event-log';
import { EncryptedObjects } from '../encrypted-objects';
import { foldImage } from '../images/image.state';
import { ImagesReadModel } from '../images/images.read-model';
import { recordViewThenAnswer } from '../view-recording';
import { ViewTargets } from '../view-targets';
import { decideImageRead, decideImageView, imageDeleted, type ImageViewDecision } from './read-image-content.decider';
import { ReadImageContentCommand, type ImageContent } from './read-image-content.command';

/**
 * Looks the image up cheaply (its upload facts from the cached first event of its stream; its
 * deleted flag from the read model), reads and decrypts the object, appends `ImageViewed` at
 * 'stream_exists', then hands the bytes back (see recordViewThenAnswer). A deletion that the read
 * model does not show yet has already removed the object (deletions remove the object first), so
 * the read answers 410 without recording a view. When the read model does not know the image at
 * all (uploaded an instant ago through another instance), the whole stream decides instead.
 */
@CommandHandler(ReadImageContentCommand)
export class ReadImageContentHandler implements ICommandHandler<ReadImageContentCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EncryptedObjects) private readonly objects: EncryptedObjects,
    @Inject(ViewTargets) private readonly targets: ViewTargets,
    @Inject(ImagesReadModel) private readonly images: ImagesReadModel,
  ) {}

  execute(command: ReadImageContentCommand): Promise<ImageContent> {
    return recordViewThenAnswer({
      log: this.log,
      objects: this.objects,
      stream: streams.image(command.imageId),
      subjectId: command.subjectId,
      context: command.context,
      decide: () => this.decide(command),
      objectMissing: imageDeleted,
    });
  }

  private async decide({ subjectId, imageId }: ReadImageContentCommand): Promise<ImageViewDecision> {
    const target = await this.targets.image(imageId);
    if (target?.subjectId !== subjectId) return decideImageRead(target, false, imageId, subjectId);
    const status = this.images.status(subjectId, imageId);
    if (status === null) return decideImageView(foldImage((await this.log.load(streams.image(imageId))).events), subjectId);
    return decideImageRead(target, status === 'deleted', imageId, subjectId);
  }
}
