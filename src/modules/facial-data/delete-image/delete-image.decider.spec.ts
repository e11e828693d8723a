import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { foldImage } from '../images/image.state';
import { history } from '../images/image-history.fixture';
import { jobCancelReasonFor } from './delete-image.handler';
import { decideImageDeletion } from './delete-image.decider';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const IMAGE = '22222222-2222-4222-8222-222222222222';
const KEY = `originals/${A}/${IMAGE}`;

const uploaded: DomainEvent = {
  type: 'ImageUploaded',
  data: {
    imageId: IMAGE,
    subjectId: A,
    purpose: 'photo-restore',
    contentType: 'image/png',
    objectKey: KEY,
    size: 100,
    sha256: 'b'.repeat(64),
    width: 10,
    height: 10,
    faceCount: 1,
    faces: [{ x: 1, y: 1, width: 2, height: 2 }],
  },
};
const deletedBy = (reason: 'user' | 'retention'): DomainEvent => ({
  type: 'ImageDeleted',
  data: { imageId: IMAGE, subjectId: A, purpose: 'photo-restore', objectKey: KEY, reason },
});
const state = (...events: DomainEvent[]) => foldImage(history(`image-${IMAGE}`, events));

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('deleting an original', () => {
  it('given a stored image of the caller, deletes its object and records ImageDeleted with the purpose and key', () => {
    expect(decideImageDeletion(state(uploaded), { subjectId: A, imageId: IMAGE, reason: 'user' })).toEqual({
      kind: 'delete',
      objectKey: KEY,
      event: { type: 'ImageDeleted', data: { imageId: IMAGE, subjectId: A, purpose: 'photo-restore', objectKey: KEY, reason: 'user' } },
    });
  });

  it('a retention deletion names the rule and the deadline; a rights-request one the request', () => {
    const retention = decideImageDeletion(state(uploaded), {
      subjectId: A,
      imageId: IMAGE,
      reason: 'retention',
      retention: { rule: 'original-after-processing', dueAt: '2026-03-03T02:00:00.000Z' },
    });
    expect(retention.kind === 'delete' && retention.event.data).toMatchObject({ reason: 'retention', rule: 'original-after-processing', dueAt: '2026-03-03T02:00:00.000Z' });
    const request = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
    const rights = decideImageDeletion(state(uploaded), { subjectId: A, imageId: IMAGE, reason: 'rights-request', requestId: request });
    expect(rights.kind === 'delete' && rights.event.data).toMatchObject({ reason: 'rights-request', requestId: request });
  });

  it('is idempotent: an image already deleted (for any reason) gives no new event', () => {
    expect(decideImageDeletion(state(uploaded, deletedBy('user')), { subjectId: A, imageId: IMAGE, reason: 'user' })).toEqual({ kind: 'already-deleted' });
    expect(decideImageDeletion(state(uploaded, deletedBy('retention')), { subjectId: A, imageId: IMAGE, reason: 'user' })).toEqual({ kind: 'already-deleted' });
  });

  it("another subject's image and an unknown one are both 404 IMAGE_NOT_FOUND", () => {
    for (const run of [
      () => decideImageDeletion(state(uploaded), { subjectId: B, imageId: IMAGE, reason: 'user' }),
      () => decideImageDeletion(state(uploaded, deletedBy('user')), { subjectId: B, imageId: IMAGE, reason: 'user' }),
      () => decideImageDeletion(state(), { subjectId: A, imageId: IMAGE, reason: 'user' }),
    ]) {
      const error = refusal(run);
      expect([error.status, error.code]).toEqual([404, 'IMAGE_NOT_FOUND']);
    }
  });

  it('cancels the image’s jobs with the matching reason', () => {
    expect(jobCancelReasonFor('user')).toBe('original-deleted');
    expect(jobCancelReasonFor('retention')).toBe('original-deleted');
    expect(jobCancelReasonFor('rights-request')).toBe('original-deleted');
    expect(jobCancelReasonFor('erasure')).toBe('erasure');
    expect(jobCancelReasonFor('consent-withdrawn')).toBe('consent-withdrawn');
  });
});
