import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { foldImage } from '../images/image.state';
import { history } from '../images/image-history.fixture';
import { decideImageRead, decideImageView } from './read-image-content.decider';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const IMAGE = '22222222-2222-4222-8222-222222222222';
const KEY = `originals/${A}/${IMAGE}`;

const uploaded: DomainEvent = {
  type: 'ImageUploaded',
  data: {
    imageId: IMAGE,
    subjectId: A,
    purpose: 'time-painting',
    contentType: 'image/heic',
    objectKey: KEY,
    size: 100,
    sha256: 'c'.repeat(64),
    width: 10,
    height: 10,
    faceCount: 1,
    faces: [{ x: 1, y: 1, width: 2, height: 2 }],
  },
};
const viewed: DomainEvent = { type: 'ImageViewed', data: { imageId: IMAGE, subjectId: A, purpose: 'subject-view', dataPurpose: 'time-painting' } };
const deleted: DomainEvent = { type: 'ImageDeleted', data: { imageId: IMAGE, subjectId: A, purpose: 'time-painting', objectKey: KEY, reason: 'retention' } };
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

describe('reading an original', () => {
  it('given the caller’s stored image, every read is one ImageViewed with the purpose of access and the data’s purpose', () => {
    const expected = { objectKey: KEY, contentType: 'image/heic', event: viewed };
    expect(decideImageView(state(uploaded), A)).toEqual(expected);
    expect(decideImageView(state(uploaded, viewed, viewed), A)).toEqual(expected);
    expect(decideImageView(state(uploaded), A, 'data-export').event.data.purpose).toBe('data-export');
  });

  it('after deletion: 410 IMAGE_DELETED', () => {
    const error = refusal(() => decideImageView(state(uploaded, viewed, deleted), A));
    expect([error.status, error.code]).toEqual([410, 'IMAGE_DELETED']);
  });

  it("another subject's image (stored or deleted) and an unknown id: 404 IMAGE_NOT_FOUND", () => {
    for (const events of [[uploaded], [uploaded, deleted], []]) {
      const error = refusal(() => decideImageView(state(...events), events.length ? B : A));
      expect([error.status, error.code]).toEqual([404, 'IMAGE_NOT_FOUND']);
    }
  });
});

describe('reading an original on the cheap lookup (upload facts + the read model’s deleted flag)', () => {
  const target = { subjectId: A, objectKey: KEY, contentType: 'image/heic' as const, dataPurpose: 'time-painting' as const };

  it('gives exactly what the decision on the folded stream gives, for every state', () => {
    expect(decideImageRead(target, false, IMAGE, A)).toEqual(decideImageView(state(uploaded, viewed), A));
    expect(decideImageRead(target, false, IMAGE, A, 'data-export')).toEqual(decideImageView(state(uploaded), A, 'data-export'));
    const onStream = refusal(() => decideImageView(state(uploaded, deleted), A));
    const onLookup = refusal(() => decideImageRead(target, true, IMAGE, A));
    expect([onLookup.status, onLookup.code]).toEqual([onStream.status, onStream.code]);
  });

  it("an unknown id, or another subject's image, deleted or not: 404 IMAGE_NOT_FOUND (never 410, which would reveal it)", () => {
    for (const [facts, deletedFlag, subject] of [
      [null, false, A],
      [target, false, B],
      [target, true, B],
    ] as const) {
      const error = refusal(() => decideImageRead(facts, deletedFlag, IMAGE, subject));
      expect([error.status, error.code]).toEqual([404, 'IMAGE_NOT_FOUND']);
    }
  });
});
