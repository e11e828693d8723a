import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { foldArtwork } from '../artworks/artwork.state';
import { history } from '../images/image-history.fixture';
import { decideArtworkRead, decideArtworkView } from '../read-artwork-content/read-artwork-content.decider';
import { decideArtworkDeletion } from './delete-artwork.decider';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const ARTWORK = '33333333-3333-4333-8333-333333333333';
const JOB = '44444444-4444-4444-8444-444444444444';
const IMAGE = '22222222-2222-4222-8222-222222222222';
const KEY = `artworks/${A}/${ARTWORK}`;

const generated: DomainEvent = {
  type: 'ArtworkGenerated',
  data: {
    artworkId: ARTWORK,
    subjectId: A,
    jobId: JOB,
    imageId: IMAGE,
    purpose: 'photo-enlarge',
    objectKey: KEY,
    contentType: 'image/png',
    size: 500,
    sha256: 'd'.repeat(64),
    width: 160,
    height: 120,
  },
};
const deleted: DomainEvent = { type: 'ArtworkDeleted', data: { artworkId: ARTWORK, subjectId: A, purpose: 'photo-enlarge', objectKey: KEY, reason: 'user' } };
const state = (...events: DomainEvent[]) => foldArtwork(history(`artwork-${ARTWORK}`, events));

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('artworks: reading', () => {
  it('given the caller’s artwork, a read is one ArtworkViewed (subject-view, the data’s purpose)', () => {
    expect(decideArtworkView(state(generated), A)).toEqual({
      objectKey: KEY,
      contentType: 'image/png',
      event: { type: 'ArtworkViewed', data: { artworkId: ARTWORK, subjectId: A, purpose: 'subject-view', dataPurpose: 'photo-enlarge' } },
    });
  });

  it('410 ARTWORK_DELETED after deletion; 404 ARTWORK_NOT_FOUND for another subject or an unknown id', () => {
    const gone = refusal(() => decideArtworkView(state(generated, deleted), A));
    expect([gone.status, gone.code]).toEqual([410, 'ARTWORK_DELETED']);
    for (const [events, subject] of [[[generated], B], [[generated, deleted], B], [[], A]] as const) {
      const error = refusal(() => decideArtworkView(state(...events), subject));
      expect([error.status, error.code]).toEqual([404, 'ARTWORK_NOT_FOUND']);
    }
  });
});

describe('artworks: reading on the cheap lookup (generation facts + the read model’s deleted flag)', () => {
  const target = { subjectId: A, objectKey: KEY, contentType: 'image/png' as const, dataPurpose: 'photo-enlarge' as const };

  it('gives what the decision on the folded stream gives', () => {
    expect(decideArtworkRead(target, false, ARTWORK, A)).toEqual(decideArtworkView(state(generated), A));
    const gone = refusal(() => decideArtworkRead(target, true, ARTWORK, A));
    expect([gone.status, gone.code]).toEqual([410, 'ARTWORK_DELETED']);
  });

  it("an unknown id or another subject's artwork (deleted or not): 404 ARTWORK_NOT_FOUND", () => {
    for (const [facts, deletedFlag, subject] of [
      [null, false, A],
      [target, false, B],
      [target, true, B],
    ] as const) {
      const error = refusal(() => decideArtworkRead(facts, deletedFlag, ARTWORK, subject));
      expect([error.status, error.code]).toEqual([404, 'ARTWORK_NOT_FOUND']);
    }
  });
});

describe('artworks: deletion', () => {
  it('deletes the object and records ArtworkDeleted with the reason', () => {
    expect(decideArtworkDeletion(state(generated), { subjectId: A, artworkId: ARTWORK, reason: 'user' })).toEqual({ kind: 'delete', objectKey: KEY, event: deleted });
    const request = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
    const rights = decideArtworkDeletion(state(generated), { subjectId: A, artworkId: ARTWORK, reason: 'rights-request', requestId: request });
    expect(rights.kind === 'delete' && rights.event.data).toMatchObject({ reason: 'rights-request', requestId: request });
  });

  it('is idempotent and refuses other subjects with 404', () => {
    expect(decideArtworkDeletion(state(generated, deleted), { subjectId: A, artworkId: ARTWORK, reason: 'user' })).toEqual({ kind: 'already-deleted' });
    const error = refusal(() => decideArtworkDeletion(state(generated), { subjectId: B, artworkId: ARTWORK, reason: 'user' }));
    expect([error.status, error.code]).toEqual([404, 'ARTWORK_NOT_FOUND']);
  });
});
