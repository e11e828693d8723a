import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../modules/config/app-config';
import { ArtworksReadModel } from '../modules/facial-data/artworks/artworks.read-model';
import { ImagesReadModel } from '../modules/facial-data/images/images.read-model';
import { artworksProjection } from './artworks.projection';
import { storedEventLog } from '../../test/support/stored-events';
import { imagesProjection } from './images.projection';
import { ReadModels } from './read-models';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const IMG1 = '11111111-1111-4111-8111-111111111111';
const IMG2 = '22222222-2222-4222-8222-222222222222';
const ART = '33333333-3333-4333-8333-333333333333';
const JOB = '44444444-4444-4444-8444-444444444444';

const stored = storedEventLog(`subject:${A}`);

const uploaded = (imageId: string, subjectId: string, at: string) =>
  stored(`image-${imageId}`, 'ImageUploaded', {
    imageId,
    subjectId,
    purpose: 'photo-enlarge',
    contentType: 'image/jpeg',
    objectKey: `originals/${subjectId}/${imageId}`,
    size: 10,
    sha256: 'a'.repeat(64),
    width: 8,
    height: 8,
    faceCount: 1,
    faces: { $pii: 'ciphertext' },
  }, at);
const jobCompleted = (imageId: string, at: string) =>
  stored(`job-${JOB}`, 'JobCompleted', { jobId: JOB, subjectId: A, imageId, purpose: 'photo-enlarge', artworkId: ART, summary: {} }, at);

function setup() {
  const db = new Database(':memory:');
  imagesProjection.setup(db);
  artworksProjection.setup(db);
  const config = loadConfig({ DATA_DIR: '/tmp/unused', RETENTION_ORIGINAL_MAX: 'PT12H' });
  const readModels = new ReadModels(db);
  return { db, images: new ImagesReadModel(readModels, config), artworks: new ArtworksReadModel(readModels) };
}

describe('images projection and query', () => {
  it('lists only the caller’s originals, oldest first, with deleteBy = clock start + RETENTION_ORIGINAL_MAX', () => {
    const { db, images } = setup();
    imagesProjection.apply(db, uploaded(IMG2, A, '2026-03-02T03:00:00.000Z'));
    imagesProjection.apply(db, uploaded(IMG1, A, '2026-03-02T02:00:00.000Z'));
    imagesProjection.apply(db, uploaded('55555555-5555-4555-8555-555555555555', B, '2026-03-02T01:00:00.000Z'));
    expect(images.list(A)).toEqual([
      { imageId: IMG1, status: 'stored', purpose: 'photo-enlarge', uploadedAt: '2026-03-02T02:00:00.000Z', deleteBy: '2026-03-02T14:00:00.000Z' },
      { imageId: IMG2, status: 'stored', purpose: 'photo-enlarge', uploadedAt: '2026-03-02T03:00:00.000Z', deleteBy: '2026-03-02T15:00:00.000Z' },
    ]);
    expect(images.get(B, IMG1)).toBeNull();
    expect(images.get(A, IMG1)?.imageId).toBe(IMG1);
  });

  it('the first completed job restarts the clock; later ones do not; deletion drops deleteBy', () => {
    const { db, images } = setup();
    imagesProjection.apply(db, uploaded(IMG1, A, '2026-03-02T02:00:00.000Z'));
    imagesProjection.apply(db, jobCompleted(IMG1, '2026-03-02T05:30:00.000Z'));
    imagesProjection.apply(db, jobCompleted(IMG1, '2026-03-02T09:00:00.000Z'));
    expect(images.get(A, IMG1)?.deleteBy).toBe('2026-03-02T17:30:00.000Z');
    imagesProjection.apply(
      db,
      stored(`image-${IMG1}`, 'ImageDeleted', { imageId: IMG1, subjectId: A, purpose: 'photo-enlarge', objectKey: `originals/${A}/${IMG1}`, reason: 'user' }, '2026-03-02T06:00:00.000Z'),
    );
    expect(images.get(A, IMG1)).toEqual({ imageId: IMG1, status: 'deleted', purpose: 'photo-enlarge', uploadedAt: '2026-03-02T02:00:00.000Z' });
  });

  it('stores no personal field (the face boxes stay in the log only)', () => {
    const { db } = setup();
    imagesProjection.apply(db, uploaded(IMG1, A, '2026-03-02T02:00:00.000Z'));
    expect(JSON.stringify(db.prepare('SELECT * FROM images').all())).not.toContain('ciphertext');
  });
});

describe('artworks projection and query', () => {
  it('lists the caller’s artworks with their record fields; deletion marks them deleted', () => {
    const { db, artworks } = setup();
    artworksProjection.apply(
      db,
      stored(`artwork-${ART}`, 'ArtworkGenerated', {
        artworkId: ART,
        subjectId: A,
        jobId: JOB,
        imageId: IMG1,
        purpose: 'photo-enlarge',
        objectKey: `artworks/${A}/${ART}`,
        contentType: 'image/png',
        size: 99,
        sha256: 'b'.repeat(64),
        width: 128,
        height: 96,
      }, '2026-03-02T04:00:00.000Z'),
    );
    const record = { artworkId: ART, jobId: JOB, imageId: IMG1, purpose: 'photo-enlarge', status: 'stored', contentType: 'image/png', width: 128, height: 96, createdAt: '2026-03-02T04:00:00.000Z' };
    expect(artworks.list(A)).toEqual([record]);
    expect(artworks.list(B)).toEqual([]);
    expect(artworks.get(B, ART)).toBeNull();
    artworksProjection.apply(
      db,
      stored(`artwork-${ART}`, 'ArtworkDeleted', { artworkId: ART, subjectId: A, purpose: 'photo-enlarge', objectKey: `artworks/${A}/${ART}`, reason: 'user' }, '2026-03-02T05:00:00.000Z'),
    );
    expect(artworks.get(A, ART)).toEqual({ ...record, status: 'deleted' });
  });
});
