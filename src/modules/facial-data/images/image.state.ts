import type { FaceBox } from '../../processing/face-processor.port';
import type { ImageDeletionReason } from '../../../events/facial-data.events';
import type { Purpose } from '../../../events/purposes';
import type { Shredded } from '../../../events/schema';
import type { RecordedEvent } from '../../event-store/event-log';

/** The original image aggregate, folded from `image-<id>`. */
export interface ImageState {
  readonly exists: boolean;
  readonly imageId: string | null;
  readonly subjectId: string | null;
  readonly purpose: Purpose | null;
  readonly contentType: 'image/jpeg' | 'image/png' | 'image/heic' | null;
  readonly objectKey: string | null;
  readonly size: number;
  readonly sha256: string | null;
  readonly width: number;
  readonly height: number;
  readonly faces: readonly FaceBox[] | Shredded;
  readonly uploadedAt: string | null;
  /** The request hash of the upload (Idempotency-Key replays compare it). */
  readonly requestHash: string | null;
  readonly deleted: { readonly at: string; readonly reason: ImageDeletionReason } | null;
  readonly views: number;
}

export const initialImageState: ImageState = {
  exists: false,
  imageId: null,
  subjectId: null,
  purpose: null,
  contentType: null,
  objectKey: null,
  size: 0,
  sha256: null,
  width: 0,
  height: 0,
  faces: [],
  uploadedAt: null,
  requestHash: null,
  deleted: null,
  views: 0,
};

export function evolveImage(state: ImageState, event: RecordedEvent): ImageState {
  switch (event.type) {
    case 'ImageUploaded':
      return {
        ...state,
        exists: true,
        imageId: event.data.imageId,
        subjectId: event.data.subjectId,
        purpose: event.data.purpose,
        contentType: event.data.contentType,
        objectKey: event.data.objectKey,
        size: event.data.size,
        sha256: event.data.sha256,
        width: event.data.width,
        height: event.data.height,
        faces: event.data.faces,
        uploadedAt: event.metadata.occurredAt,
        requestHash: typeof event.metadata.requestHash === 'string' ? event.metadata.requestHash : null,
      };
    case 'ImageViewed':
      return { ...state, views: state.views + 1 };
    case 'ImageDeleted':
      return state.deleted ? state : { ...state, deleted: { at: event.metadata.occurredAt, reason: event.data.reason } };
    default:
      return state;
  }
}

export function foldImage(events: readonly RecordedEvent[]): ImageState {
  return events.reduce(evolveImage, initialImageState);
}

/** Whether `subjectId` may see this image: another subject's image is "not found", never "forbidden". */
export function isOwnedBy(state: ImageState, subjectId: string): boolean {
  return state.exists && state.subjectId === subjectId;
}
