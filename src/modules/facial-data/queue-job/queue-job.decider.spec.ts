import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { SHREDDED } from '../../../events/schema';
import type { ConsentVerdict } from '../../consent/subject.state';
import { foldImage } from '../images/image.state';
import { recorded } from '../jobs/job-history.fixture';
import { foldJob, initialJobState } from '../jobs/job.state';
import { decideQueueJob, type QueueJobInput, type QueueJobPast } from './queue-job.decider';

const subjectId = '22222222-2222-4222-8222-222222222222';
const otherSubject = '44444444-4444-4444-8444-444444444444';
const imageId = '33333333-3333-4333-8333-333333333333';
const jobId = '11111111-1111-4111-8111-111111111111';
const allowed: ConsentVerdict = { allowed: true };

function uploaded(owner = subjectId, faces = [{ x: 1, y: 1, width: 10, height: 10 }]): DomainEvent {
  return {
    type: 'ImageUploaded',
    data: {
      imageId,
      subjectId: owner,
      purpose: 'photo-enlarge',
      contentType: 'image/jpeg',
      objectKey: `originals/${owner}/${imageId}`,
      size: 100,
      sha256: 'a'.repeat(64),
      width: 64,
      height: 48,
      faceCount: faces.length,
      faces,
    },
  };
}

function given(events: DomainEvent[], overrides: Partial<QueueJobPast> = {}): QueueJobPast {
  return { image: foldImage(recorded(`image-${imageId}`, events)), job: initialJobState, consent: allowed, currentPolicyVersion: '2025-06-24', ...overrides };
}

const command = (overrides: Partial<QueueJobInput> = {}): QueueJobInput => ({
  subjectId,
  imageId,
  jobId,
  purpose: 'photo-enlarge',
  options: {},
  requestHash: null,
  ...overrides,
});

function refusal(fn: () => unknown): { status: number; code: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return { status: error.status, code: error.code };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('decideQueueJob', () => {
  it('given the caller’s image and consent, when queueing, then JobQueued with the options as given', () => {
    const decision = decideQueueJob(given([uploaded()]), command({ options: { strength: 2 } }));
    expect(decision).toEqual({
      kind: 'queue',
      event: { type: 'JobQueued', data: { jobId, imageId, subjectId, purpose: 'photo-enlarge', options: { strength: 2 } } },
    });
  });

  it('refuses an unknown image and another subject’s image alike: 404 IMAGE_NOT_FOUND', () => {
    expect(refusal(() => decideQueueJob(given([]), command()))).toEqual({ status: 404, code: 'IMAGE_NOT_FOUND' });
    expect(refusal(() => decideQueueJob(given([uploaded(otherSubject)]), command()))).toEqual({ status: 404, code: 'IMAGE_NOT_FOUND' });
  });

  it('refuses a deleted original: 410 IMAGE_DELETED', () => {
    const deleted: DomainEvent = {
      type: 'ImageDeleted',
      data: { imageId, subjectId, purpose: 'photo-enlarge', objectKey: `originals/${subjectId}/${imageId}`, reason: 'user' },
    };
    expect(refusal(() => decideQueueJob(given([uploaded(), deleted]), command()))).toEqual({ status: 410, code: 'IMAGE_DELETED' });
  });

  it('refuses a purpose outside the six: 422 PURPOSE_NOT_ALLOWED', () => {
    expect(refusal(() => decideQueueJob(given([uploaded()], { consent: null }), command({ purpose: 'face-recognition' })))).toEqual({ status: 422, code: 'PURPOSE_NOT_ALLOWED' });
  });

  it('refuses biometric templates in the options: 422 BIOMETRIC_TEMPLATE_REJECTED', () => {
    expect(refusal(() => decideQueueJob(given([uploaded()]), command({ options: { hints: { faceEmbedding: [0.1, 0.2] } } })))).toEqual({
      status: 422,
      code: 'BIOMETRIC_TEMPLATE_REJECTED',
    });
  });

  it('refuses without consent or under restriction: 422 CONSENT_REQUIRED / PURPOSE_RESTRICTED', () => {
    const noConsent: ConsentVerdict = { allowed: false, code: 'CONSENT_REQUIRED', reason: 'consent needed' };
    const restricted: ConsentVerdict = { allowed: false, code: 'PURPOSE_RESTRICTED', reason: 'restricted' };
    expect(refusal(() => decideQueueJob(given([uploaded()], { consent: noConsent }), command()))).toEqual({ status: 422, code: 'CONSENT_REQUIRED' });
    expect(refusal(() => decideQueueJob(given([uploaded()], { consent: restricted }), command()))).toEqual({ status: 422, code: 'PURPOSE_RESTRICTED' });
  });

  it('refuses an image without faces for a purpose that needs one, but not for erase-pen', () => {
    expect(refusal(() => decideQueueJob(given([uploaded(subjectId, [])]), command()))).toEqual({ status: 422, code: 'NO_FACE_DETECTED' });
    expect(decideQueueJob(given([uploaded(subjectId, [])]), command({ purpose: 'erase-pen' })).kind).toBe('queue');
  });

  it('given a job already queued with the same key and body, when retried, then replays with nothing new', () => {
    const job = foldJob(
      recorded(`job-${jobId}`, [{ type: 'JobQueued', data: { jobId, imageId, subjectId, purpose: 'photo-enlarge', options: {} } }], undefined, { requestHash: 'h1' }),
    );
    expect(decideQueueJob(given([uploaded()], { job }), command({ requestHash: 'h1' }))).toEqual({ kind: 'replay', jobId });
  });

  it('given a key already used by another body, when reused, then 422 IDEMPOTENCY_KEY_REUSED', () => {
    const job = foldJob(
      recorded(`job-${jobId}`, [{ type: 'JobQueued', data: { jobId, imageId, subjectId, purpose: 'photo-enlarge', options: {} } }], undefined, { requestHash: 'h1' }),
    );
    expect(refusal(() => decideQueueJob(given([uploaded()], { job }), command({ requestHash: 'h2' })))).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('treats shredded face boxes as no face', () => {
    const image = { ...foldImage(recorded(`image-${imageId}`, [uploaded()])), faces: SHREDDED };
    expect(refusal(() => decideQueueJob({ ...given([]), image }, command()))).toEqual({ status: 422, code: 'NO_FACE_DETECTED' });
  });
});
