import { gone, notFound } from '../../../common/errors/domain-error';
import type { EventOfType } from '../../../events';
import type { AccessPurpose } from '../../../events/facial-data.events';
import type { ArtworkState } from '../artworks/artwork.state';
import type { ArtworkViewTarget } from '../view-targets';

export const artworkNotFound = () => notFound('ARTWORK_NOT_FOUND', 'No such artwork');
export const artworkDeleted = () => gone('ARTWORK_DELETED', 'The artwork has been deleted');

export function isArtworkOwnedBy(state: ArtworkState, subjectId: string): boolean {
  return state.exists && state.subjectId === subjectId;
}

export interface ArtworkViewDecision {
  readonly objectKey: string;
  readonly contentType: 'image/jpeg' | 'image/png';
  readonly event: EventOfType<'ArtworkViewed'>;
}

/**
 * Reading an artwork's content: the subject's own only (404 ARTWORK_NOT_FOUND otherwise), not
 * after deletion (410 ARTWORK_DELETED); every read is an `ArtworkViewed`.
 */
export function decideArtworkView(state: ArtworkState, subjectId: string, accessPurpose: AccessPurpose = 'subject-view'): ArtworkViewDecision {
  if (!isArtworkOwnedBy(state, subjectId) || !state.artworkId || !state.purpose || !state.objectKey || !state.contentType) throw artworkNotFound();
  if (state.deleted) throw artworkDeleted();
  return {
    objectKey: state.objectKey,
    contentType: state.contentType,
    event: { type: 'ArtworkViewed', data: { artworkId: state.artworkId, subjectId, purpose: accessPurpose, dataPurpose: state.purpose } },
  };
}

/**
 * The same rules on the cheap lookup a content read uses: the artwork's immutable facts (null for
 * an unknown id) and whether the read model shows it as deleted.
 */
export function decideArtworkRead(
  target: ArtworkViewTarget | null,
  deleted: boolean,
  artworkId: string,
  subjectId: string,
  accessPurpose: AccessPurpose = 'subject-view',
): ArtworkViewDecision {
  if (!target || target.subjectId !== subjectId) throw artworkNotFound();
  if (deleted) throw artworkDeleted();
  return {
    objectKey: target.objectKey,
    contentType: target.contentType,
    event: { type: 'ArtworkViewed', data: { artworkId, subjectId, purpose: accessPurpose, dataPurpose: target.dataPurpose } },
  };
}
