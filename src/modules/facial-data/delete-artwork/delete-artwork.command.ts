import { Command } from '@nestjs/cqrs';
import type { ArtworkDeletionReason } from '../../../events/facial-data.events';
import type { CommandContext } from '../../event-store/event-log';

/**
 * Deletes an artwork: the object first, then `ArtworkDeleted`. Idempotent: an artwork already
 * deleted answers `{ deleted: false }` and appends nothing; another subject's is 404.
 */
export class DeleteArtworkCommand extends Command<{ deleted: boolean }> {
  constructor(
    readonly subjectId: string,
    readonly artworkId: string,
    readonly reason: ArtworkDeletionReason,
    readonly context: CommandContext,
    readonly requestId?: string,
  ) {
    super();
  }
}
