import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import type { Position } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { foldArtwork } from '../artworks/artwork.state';
import { EncryptedObjects } from '../encrypted-objects';
import { DeleteArtworkCommand } from './delete-artwork.command';
import { decideArtworkDeletion } from './delete-artwork.decider';

const ATTEMPTS = 5;

/** The object first, then `ArtworkDeleted` at the loaded revision; idempotent, like originals. */
@CommandHandler(DeleteArtworkCommand)
export class DeleteArtworkHandler implements ICommandHandler<DeleteArtworkCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EncryptedObjects) private readonly objects: EncryptedObjects,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  async execute(command: DeleteArtworkCommand): Promise<{ deleted: boolean }> {
    const stream = streams.artwork(command.artworkId);
    let position: Position | null = null;
    let lastConflict: unknown = null;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const loaded = await this.log.load(stream);
      const decision = decideArtworkDeletion(foldArtwork(loaded.events), command);
      if (decision.kind === 'already-deleted') return { deleted: false };
      await this.objects.delete(decision.objectKey);
      try {
        position = (await this.log.append(stream, [decision.event], loaded.revision, command.context)).position;
        break;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        lastConflict = error;
      }
    }
    if (!position) throw lastConflict;
    this.logger.get().info({ artworkId: command.artworkId, reason: command.reason }, 'artwork deleted');
    try {
      await this.runner.waitFor(position);
    } catch {
      this.logger.get().warn({ component: 'projections' }, 'read model did not catch up after a deletion');
    }
    return { deleted: true };
  }
}
