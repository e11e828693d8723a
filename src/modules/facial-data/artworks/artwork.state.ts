import type { ArtworkDeletionReason } from '../../../events/facial-data.events';
import type { Purpose } from '../../../events/purposes';
import type { RecordedEvent } from '../../event-store/event-log';

/** The artwork aggregate, folded from `artwork-<id>`: kept until the user or erasure deletes it. */
export interface ArtworkState {
  readonly exists: boolean;
  readonly artworkId: string | null;
  readonly subjectId: string | null;
  readonly jobId: string | null;
  readonly imageId: string | null;
  readonly purpose: Purpose | null;
  readonly objectKey: string | null;
  readonly contentType: 'image/jpeg' | 'image/png' | null;
  readonly size: number;
  readonly sha256: string | null;
  readonly width: number;
  readonly height: number;
  readonly createdAt: string | null;
  readonly deleted: { readonly at: string; readonly reason: ArtworkDeletionReason } | null;
}

export const initialArtworkState: ArtworkState = {
  exists: false,
  artworkId: null,
  subjectId: null,
  jobId: null,
  imageId: null,
  purpose: null,
  objectKey: null,
  contentType: null,
  size: 0,
  sha256: null,
  width: 0,
  height: 0,
  createdAt: null,
  deleted: null,
};

export function evolveArtwork(state: ArtworkState, event: RecordedEvent): ArtworkState {
  switch (event.type) {
    case 'ArtworkGenerated':
      return {
        ...state,
        exists: true,
        artworkId: event.data.artworkId,
        subjectId: event.data.subjectId,
        jobId: event.data.jobId,
        imageId: event.data.imageId,
        purpose: event.data.purpose,
        objectKey: event.data.objectKey,
        contentType: event.data.contentType,
        size: event.data.size,
        sha256: event.data.sha256,
        width: event.data.width,
        height: event.data.height,
        createdAt: event.metadata.occurredAt,
      };
    case 'ArtworkDeleted':
      return state.deleted ? state : { ...state, deleted: { at: event.metadata.occurredAt, reason: event.data.reason } };
    default:
      return state;
  }
}

export function foldArtwork(events: readonly RecordedEvent[]): ArtworkState {
  return events.reduce(evolveArtwork, initialArtworkState);
}
