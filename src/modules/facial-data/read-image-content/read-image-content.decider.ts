import { gone, notFound } from '../../../common/errors/domain-error';
import type { EventOfType } from '../../../events';
import type { AccessPurpose } from '../../../events/facial-data.events';
import { isOwnedBy, type ImageState } from '../images/image.state';

export const imageNotFound = () => notFound('IMAGE_NOT_FOUND', 'No such image');
export const imageDeleted = () => gone('IMAGE_DELETED', 'The original has been deleted');

export interface ImageViewDecision {
  readonly objectKey: string;
  readonly contentType: 'image/jpeg' | 'image/png' | 'image/heic';
  /** Appended (durably) before the bytes are sent. */
  readonly event: EventOfType<'ImageViewed'>;
}

/**
 * Reading an original's content: the subject's own image only (another subject's or an unknown
 * id is 404 IMAGE_NOT_FOUND, never 403), not after deletion (410 IMAGE_DELETED); every read is
 * an `ImageViewed` naming the purpose of access and the data's purpose.
 */
export function decideImageView(state: ImageState, subjectId: string, accessPurpose: AccessPurpose = 'subject-view'): ImageViewDecision {
  if (!isOwnedBy(state, subjectId) || !state.imageId || !state.purpose || !state.objectKey || !state.contentType) throw imageNotFound();
  if (state.deleted) throw imageDeleted();
  return {
    objectKey: state.objectKey,
    contentType: state.contentType,
    event: { type: 'ImageViewed', data: { imageId: state.imageId, subjectId, purpose: accessPurpose, dataPurpose: state.purpose } },
  };
}
