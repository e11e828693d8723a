import { gone, notFound } from '../../../common/errors/domain-error';
import type { EventOfType } from '../../../events';
import type { AccessPurpose } from '../../../events/facial-data.events';
import { isOwnedBy, type ImageState } from '../images/image.state';
import type { ImageViewTarget } from '../view-targets';

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

/**
 * The same rules on the cheap lookup a content read uses: the upload's immutable facts (null for
 * an unknown id) and whether the read model shows the original as deleted. Gives the same answer
 * as `decideImageView` on the folded stream whenever the read model has caught up.
 */
export function decideImageRead(
  target: ImageViewTarget | null,
  deleted: boolean,
  imageId: string,
  subjectId: string,
  accessPurpose: AccessPurpose = 'subject-view',
): ImageViewDecision {
  if (!target || target.subjectId !== subjectId) throw imageNotFound();
  if (deleted) throw imageDeleted();
  return {
    objectKey: target.objectKey,
    contentType: target.contentType,
    event: { type: 'ImageViewed', data: { imageId, subjectId, purpose: accessPurpose, dataPurpose: target.dataPurpose } },
  };
}
