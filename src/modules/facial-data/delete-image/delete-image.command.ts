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
    /**
     * An object key the caller has just deleted itself (the retention sweep deletes a page's objects
     * as one batch before recording them): when it is the image's object, it is not deleted again.
     * Originals are never rewritten under the same key, so the object cannot have come back.
     */
    readonly deletedObjectKey?: string,
  ) {
    super();
  }
}
