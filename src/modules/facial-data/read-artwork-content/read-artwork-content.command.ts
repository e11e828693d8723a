import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../event-store/event-log';

export interface ArtworkContent {
  readonly bytes: Buffer;
  readonly contentType: 'image/jpeg' | 'image/png';
}

/** Reads an artwork's decrypted bytes for its subject; `ArtworkViewed` is appended first. */
export class ReadArtworkContentCommand extends Command<ArtworkContent> {
  constructor(
    readonly subjectId: string,
    readonly artworkId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
