import { notFound, gone, unprocessable } from '../../../common/errors/domain-error';
import type { EventOfType } from '../../../events';
import type { Purpose } from '../../../events/purposes';
import { SHREDDED } from '../../../events/schema';
import { verdictError } from '../../consent/consent-gate.service';
import type { ConsentVerdict } from '../../consent/subject.state';
import type { JsonObject } from '../../event-store/event-store.port';
import { findBiometricTemplateFields } from '../image-inspection/face-boxes';
import { isOwnedBy, type ImageState } from '../images/image.state';
import type { JobState } from '../jobs/job.state';
import { needsFace, requireAllowedPurpose } from '../upload-image/upload-image.decider';

export interface QueueJobInput {
  readonly subjectId: string;
  readonly imageId: string;
  /** Random, or derived from the Idempotency-Key (then a replay finds the stream already there). */
  readonly jobId: string;
  /** As sent: checked against the six purposes here (422 PURPOSE_NOT_ALLOWED). */
  readonly purpose: string;
  readonly options: JsonObject;
  /** Hash of the request when an Idempotency-Key came with it. */
  readonly requestHash: string | null;
}

export interface QueueJobPast {
  readonly image: ImageState;
  /** The `job-<jobId>` stream folded (status 'none' for a new id). */
  readonly job: JobState;
  /** The consent verdict for the requested purpose, null when the purpose is not one of the six. */
  readonly consent: ConsentVerdict | null;
  readonly currentPolicyVersion: string;
}

export type QueueJobDecision =
  | { readonly kind: 'queue'; readonly event: EventOfType<'JobQueued'> }
  | { readonly kind: 'replay'; readonly jobId: string };

/**
 * Queueing a processing job, in order: an Idempotency-Key already used (same request: replay,
 * nothing new; another request: 422 IDEMPOTENCY_KEY_REUSED), the image is the caller's (404
 * IMAGE_NOT_FOUND, also for another subject's), not deleted (410 IMAGE_DELETED), the purpose is one
 * of the six (422 PURPOSE_NOT_ALLOWED), the options carry no biometric template (422
 * BIOMETRIC_TEMPLATE_REJECTED), consent and restriction (422 CONSENT_REQUIRED /
 * PURPOSE_RESTRICTED), and a face for a purpose that needs one (422 NO_FACE_DETECTED).
 * Pure: throws the DomainError or returns what to append.
 */
export function decideQueueJob(past: QueueJobPast, input: QueueJobInput): QueueJobDecision {
  if (past.job.status !== 'none') {
    if (input.requestHash !== null && past.job.subjectId === input.subjectId && past.job.requestHash === input.requestHash) {
      return { kind: 'replay', jobId: input.jobId };
    }
    throw unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request');
  }
  const { image } = past;
  if (!isOwnedBy(image, input.subjectId)) throw notFound('IMAGE_NOT_FOUND', 'No such image');
  if (image.deleted) throw gone('IMAGE_DELETED', 'The original image has been deleted');
  const purpose: Purpose = requireAllowedPurpose(input.purpose);
  const templateFields = findBiometricTemplateFields(input.options);
  if (templateFields.length > 0) {
    throw unprocessable(
      'BIOMETRIC_TEMPLATE_REJECTED',
      'Job options may not carry biometric templates, embeddings, descriptors or landmark vectors',
      { fields: templateFields.slice(0, 16).map((field) => `options.${field}`) },
    );
  }
  if (past.consent === null) throw new Error('decideQueueJob: a consent verdict is required for a valid purpose');
  if (!past.consent.allowed) throw verdictError(past.consent, purpose, past.currentPolicyVersion);
  const faceCount = image.faces === SHREDDED ? 0 : image.faces.length;
  if (faceCount === 0 && needsFace(purpose)) {
    throw unprocessable('NO_FACE_DETECTED', `a ${purpose} job needs an image with at least one face box`, { purpose });
  }
  return {
    kind: 'queue',
    event: {
      type: 'JobQueued',
      data: { jobId: input.jobId, imageId: input.imageId, subjectId: input.subjectId, purpose, options: input.options },
    },
  };
}
