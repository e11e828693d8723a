import { Command } from '@nestjs/cqrs';
import type { ImageDeletionReason } from '../../../events/facial-data.events';
import type { CommandContext } from '../../event-store/event-log';

/**
 * Deletes an original: the object first, then `ImageDeleted` (a crash in between is repaired by
 * the next sweep with no duplicate event). Idempotent: an already deleted image answers
 * `{ deleted: false }` and appends nothing. Jobs of the image that have not finished are cancelled.
 */
export class DeleteImageCommand extends Command<{ deleted: boolean }> {
  constructor(
    readonly subjectId: string,
    readonly imageId: string,
    readonly reason: ImageDeletionReason,
    readonly context: CommandContext,
    readonly retention?: { readonly rule: 'original-after-processing'; readonly dueAt: string },
    readonly requestId?: string,
  ) {
    super();
  }
}
