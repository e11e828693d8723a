import type { EventOfType } from '../../../events';
import type { ImageDeletionReason } from '../../../events/facial-data.events';
import { isOwnedBy, type ImageState } from '../images/image.state';
import { imageNotFound } from '../read-image-content/read-image-content.decider';

export interface ImageDeletionRequest {
  readonly subjectId: string;
  readonly imageId: string;
  readonly reason: ImageDeletionReason;
  readonly retention?: { readonly rule: 'original-after-processing'; readonly dueAt: string };
  readonly requestId?: string;
}

export type ImageDeletionDecision =
  | { readonly kind: 'already-deleted' }
  /** Delete `objectKey` first, then append `event`. */
  | { readonly kind: 'delete'; readonly objectKey: string; readonly event: EventOfType<'ImageDeleted'> };

/**
 * Deleting an original is idempotent: an image already deleted (for any reason) gives no new
 * event; another subject's or an unknown image is 404 IMAGE_NOT_FOUND.
 */
export function decideImageDeletion(state: ImageState, request: ImageDeletionRequest): ImageDeletionDecision {
  if (!isOwnedBy(state, request.subjectId) || !state.purpose || !state.objectKey) throw imageNotFound();
  if (state.deleted) return { kind: 'already-deleted' };
  return {
    kind: 'delete',
    objectKey: state.objectKey,
    event: {
      type: 'ImageDeleted',
      data: {
        imageId: request.imageId,
        subjectId: request.subjectId,
        purpose: state.purpose,
        objectKey: state.objectKey,
        reason: request.reason,
        ...(request.retention ? { rule: request.retention.rule, dueAt: request.retention.dueAt } : {}),
        ...(request.requestId ? { requestId: request.requestId } : {}),
      },
    },
  };
}
