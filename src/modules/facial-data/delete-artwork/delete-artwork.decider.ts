import type { EventOfType } from '../../../events';
import type { ArtworkDeletionReason } from '../../../events/facial-data.events';
import type { ArtworkState } from '../artworks/artwork.state';
import { artworkNotFound, isArtworkOwnedBy } from '../read-artwork-content/read-artwork-content.decider';

export interface ArtworkDeletionRequest {
  readonly subjectId: string;
  readonly artworkId: string;
  readonly reason: ArtworkDeletionReason;
  readonly requestId?: string;
}

export type ArtworkDeletionDecision =
  | { readonly kind: 'already-deleted' }
  | { readonly kind: 'delete'; readonly objectKey: string; readonly event: EventOfType<'ArtworkDeleted'> };

/** Idempotent deletion of the subject's own artwork (404 ARTWORK_NOT_FOUND for anyone else's). */
export function decideArtworkDeletion(state: ArtworkState, request: ArtworkDeletionRequest): ArtworkDeletionDecision {
  if (!isArtworkOwnedBy(state, request.subjectId) || !state.purpose || !state.objectKey) throw artworkNotFound();
  if (state.deleted) return { kind: 'already-deleted' };
  return {
    kind: 'delete',
    objectKey: state.objectKey,
    event: {
      type: 'ArtworkDeleted',
      data: {
        artworkId: request.artworkId,
        subjectId: request.subjectId,
        purpose: state.purpose,
        objectKey: state.objectKey,
        reason: request.reason,
        ...(request.requestId ? { requestId: request.requestId } : {}),
      },
    },
  };
}
