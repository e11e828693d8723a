import { createHash } from 'node:crypto';
import { DomainError, unprocessable } from '../../../common/errors/domain-error';
import type { EventOfType } from '../../../events';
import { isPurpose, PURPOSES, type Purpose } from '../../../events/purposes';
import type { FaceBox } from '../../processing/face-processor.port';
import { decodeBase64Strict } from '../image-inspection/base64';
import { validateFaceBoxes } from '../image-inspection/face-boxes';
import { isImageInputError } from '../image-inspection/image-input.error';
import { inspectImage, type SupportedImageType } from '../image-inspection/image-inspector';
import type { ImageState } from '../images/image.state';

/**
 * Purposes whose uploads must carry at least one face box. Every purpose works on faces except
 * Erase Pen: it removes marks or objects from any photo (the regions to erase come with the job's
 * options, not from face boxes), so a photo without a face is a legitimate Erase Pen upload.
 */
export const PURPOSES_NEEDING_A_FACE: ReadonlySet<Purpose> = new Set(PURPOSES.filter((purpose) => purpose !== 'erase-pen'));

export function needsFace(purpose: Purpose): boolean {
  return PURPOSES_NEEDING_A_FACE.has(purpose);
}

/** 422 PURPOSE_NOT_ALLOWED unless `purpose` is one of the six the privacy policy names. */
export function requireAllowedPurpose(purpose: unknown): Purpose {
  if (!isPurpose(purpose)) {
    throw unprocessable('PURPOSE_NOT_ALLOWED', `purpose must be one of ${PURPOSES.join(', ')}`, { allowed: [...PURPOSES] });
  }
  return purpose;
}

export interface UploadLimits {
  /** Largest decoded image (UPLOAD_MAX_BYTES). */
  readonly maxBytes: number;
  /** Largest width × height (IMAGE_MAX_PIXELS). */
  readonly maxPixels: number;
}

export interface UploadInput {
  readonly imageBase64: unknown;
  readonly contentType: string;
  readonly purpose: Purpose;
  readonly faces: readonly FaceBox[];
}

/** An upload whose bytes, type, size and face boxes have all been checked. */
export interface CheckedUpload {
  readonly bytes: Buffer;
  readonly contentType: SupportedImageType;
  /** Displayed size (after orientation), the coordinate system of the face boxes. */
  readonly width: number;
  readonly height: number;
  readonly faces: readonly FaceBox[];
  readonly sha256: string;
}

/**
 * The content rules of an upload, in order: strict Base64 within the size limit (400
 * INVALID_BASE64, 413 PAYLOAD_TOO_LARGE), the bytes really of the declared supported type and
 * structurally sound within the pixel limits (422 UNSUPPORTED_CONTENT_TYPE, CONTENT_TYPE_MISMATCH,
 * IMAGE_UNREADABLE, IMAGE_DIMENSIONS_REFUSED), at least one face for a purpose that needs one (422
 * NO_FACE_DETECTED), and every face box inside the image (422 FACE_BOX_OUT_OF_BOUNDS,
 * TOO_MANY_FACES). Pure: no I/O, no clock.
 */
export function checkUploadContent(input: UploadInput, limits: UploadLimits): CheckedUpload {
  try {
    const bytes = decodeBase64Strict(input.imageBase64, limits.maxBytes);
    const inspection = inspectImage(bytes, input.contentType, { maxPixels: limits.maxPixels });
    if (input.faces.length === 0 && needsFace(input.purpose)) {
      throw unprocessable('NO_FACE_DETECTED', `an upload for ${input.purpose} needs at least one face box`, { purpose: input.purpose });
    }
    const faces = validateFaceBoxes(input.faces, inspection.width, inspection.height);
    return {
      bytes,
      contentType: inspection.contentType,
      width: inspection.width,
      height: inspection.height,
      faces,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  } catch (error) {
    if (isImageInputError(error)) throw new DomainError(error.code, error.status, error.message);
    throw error;
  }
}

/** What an Idempotency-Key that already names an image means for this request. */
export type IdempotentUploadDecision =
  | { readonly kind: 'new' }
  | { readonly kind: 'replay'; readonly imageId: string; readonly uploadedAt: string };

/**
 * With an Idempotency-Key the image id derives from the key, so the image stream tells whether
 * the key was used: not yet (a new upload), by the same request (replay the first answer,
 * append nothing), or by a different body (422 IDEMPOTENCY_KEY_REUSED).
 */
export function decideIdempotentUpload(existing: ImageState, requestHash: string): IdempotentUploadDecision {
  if (!existing.exists) return { kind: 'new' };
  if (existing.requestHash !== requestHash || !existing.imageId || !existing.uploadedAt) {
    throw unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request');
  }
  return { kind: 'replay', imageId: existing.imageId, uploadedAt: existing.uploadedAt };
}

export interface UploadFacts {
  readonly subjectId: string;
  readonly imageId: string;
  readonly purpose: Purpose;
  readonly objectKey: string;
  readonly checked: CheckedUpload;
}

/**
 * The events of a checked upload: `ImageUploaded` for `image-<id>` (key, size, hash, geometry,
 * face boxes as a personal field; never the bytes) and `FaceDetectionLogged` for the operation
 * log (counts only).
 */
export function decideUpload(facts: UploadFacts): {
  readonly image: EventOfType<'ImageUploaded'>;
  readonly oplog: EventOfType<'FaceDetectionLogged'>;
} {
  const { checked } = facts;
  return {
    image: {
      type: 'ImageUploaded',
      data: {
        imageId: facts.imageId,
        subjectId: facts.subjectId,
        purpose: facts.purpose,
        contentType: checked.contentType,
        objectKey: facts.objectKey,
        size: checked.bytes.length,
        sha256: checked.sha256,
        width: checked.width,
        height: checked.height,
        faceCount: checked.faces.length,
        faces: checked.faces.map((face) => ({ x: face.x, y: face.y, width: face.width, height: face.height })),
      },
    },
    oplog: {
      type: 'FaceDetectionLogged',
      data: { subjectId: facts.subjectId, imageId: facts.imageId, purpose: facts.purpose, faceCount: checked.faces.length },
    },
  };
}
