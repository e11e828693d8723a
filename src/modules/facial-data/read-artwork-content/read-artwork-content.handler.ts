import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { EventLog } from '../../event-store/event-log';
import { foldArtwork } from '../artworks/artwork.state';
import { ArtworksReadModel } from '../artworks/artworks.read-model';
import { EncryptedObjects } from '../encrypted-objects';
import { recordViewThenAnswer } from '../view-recording';
import { ViewTargets } from '../view-targets';
import { ReadArtworkContentCommand, type ArtworkContent } from './read-artwork-content.command';
import { artworkDeleted, decideArtworkRead, decideArtworkView, type ArtworkViewDecision } from './read-artwork-content.decider';

/**
 * As for originals: the artwork's facts from the cached first event of its stream, its deleted
 * flag from the read model (the whole stream when the read model does not know it yet), the
 * object read and decrypted, `ArtworkViewed` appended at 'stream_exists', then the bytes.
 */
@CommandHandler(ReadArtworkContentCommand)
export class ReadArtworkContentHandler implements ICommandHandler<ReadArtworkContentCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EncryptedObjects) private readonly objects: EncryptedObjects,
    @Inject(ViewTargets) private readonly targets: ViewTargets,
    @Inject(ArtworksReadModel) private readonly artworks: ArtworksReadModel,
  ) {}

  execute(command: ReadArtworkContentCommand): Promise<ArtworkContent> {
    return recordViewThenAnswer({
      log: this.log,
      objects: this.objects,
      stream: streams.artwork(command.artworkId),
      subjectId: command.subjectId,
      context: command.context,
      decide: () => this.decide(command),
      objectMissing: artworkDeleted,
    });
  }

  private async decide({ subjectId, artworkId }: ReadArtworkContentCommand): Promise<ArtworkViewDecision> {
    const target = await this.targets.artwork(artworkId);
    if (target?.subjectId !== subjectId) return decideArtworkRead(target, false, artworkId, subjectId);
    const status = this.artworks.status(subjectId, artworkId);
    if (status === null) return decideArtworkView(foldArtwork((await this.log.load(streams.artwork(artworkId))).events), subjectId);
    return decideArtworkRead(target, status === 'deleted', artworkId, subjectId);
  }
}
