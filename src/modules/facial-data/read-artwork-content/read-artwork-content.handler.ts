import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import { AppLogger } from '../../logging/logger';
import { ObjectNotFoundError } from '../../object-storage/object-storage.port';
import { foldArtwork } from '../artworks/artwork.state';
import { EncryptedObjects } from '../encrypted-objects';
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

  async execute(command: ReadArtworkContentCommand): Promise<ArtworkContent> {
    const result = await this.log.decideAndAppend(streams.artwork(command.artworkId), command.context, async (loaded) => {
      const decision = decideArtworkView(foldArtwork(loaded.events), command.subjectId);
      let bytes: Buffer;
      try {
        bytes = await this.objects.get(command.subjectId, decision.objectKey);
      } catch (error) {
        if (error instanceof ObjectNotFoundError) throw artworkDeleted();
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
