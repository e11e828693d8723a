import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../event-store/event-log';

export interface ImageContent {
  readonly bytes: Buffer;
  readonly contentType: 'image/jpeg' | 'image/png' | 'image/heic';
}

/**
 * Reads an original's decrypted bytes for its subject. Appends `ImageViewed` (who, what, when,
 * purpose of access) before answering; if that cannot be recorded, the bytes are not returned.
 */
export class ReadImageContentCommand extends Command<ImageContent> {
  constructor(
    readonly subjectId: string,
    readonly imageId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
