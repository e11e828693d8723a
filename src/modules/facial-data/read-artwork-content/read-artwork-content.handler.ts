import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import { AppLogger } from '../../logging/logger';
import { foldArtwork } from '../artworks/artwork.state';
import { EncryptedObjects } from '../encrypted-objects';
import { recordViewThenAnswer } from '../view-recording';
import { ReadArtworkContentCommand, type ArtworkContent } from './read-artwork-content.command';
import { artworkDeleted, decideArtworkView } from './read-artwork-content.decider';

/** As for originals: state from the stream, object read, `ArtworkViewed` appended, then the bytes. */
@CommandHandler(ReadArtworkContentCommand)
export class ReadArtworkContentHandler implements ICommandHandler<ReadArtworkContentCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EncryptedObjects) private readonly objects: EncryptedObjects,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  execute(command: ReadArtworkContentCommand): Promise<ArtworkContent> {
    return recordViewThenAnswer({
      log: this.log,
      objects: this.objects,
      runner: this.runner,
      logger: this.logger,
      stream: streams.artwork(command.artworkId),
      subjectId: command.subjectId,
      context: command.context,
      decide: (events) => decideArtworkView(foldArtwork(events), command.subjectId),
      objectMissing: artworkDeleted,
    });
  }
}
