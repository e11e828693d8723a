/**
 * Artworks over REST, end to end: list, get, content (one ArtworkViewed), delete (object first,
 * then ArtworkDeleted), 410 afterwards, other subjects 404, and one full flow where a real
 * photo-enlarge job produces the artwork. Artworks for the focused tests are produced as the
 * worker does it: the encrypted object under artworks/ plus ArtworkGenerated.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streams } from '../../src/events/streams';
import { EventLog } from '../../src/modules/event-store/event-log';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { EncryptedObjects } from '../../src/modules/facial-data/encrypted-objects';
import { ProcessingWorker } from '../../src/modules/facial-data/processing-worker/processing-worker';
import { TempFilesSaga } from '../../src/modules/facial-data/temp-files/temp-files.saga';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { binary } from '../fixtures/binary-body';
import { base64Of, containsRunOf, jpegImage, pngImage } from '../fixtures/images';
import { bearer, filesUnder, registerSubject, startTestApp, type TestApp } from '../support/test-app';

type Subject = Awaited<ReturnType<typeof registerSubject>>;

const summary = (events: readonly StoredEvent[]) => events.map((e) => `${e.type}@${e.stream}`);

async function grant(t: TestApp, subject: Subject, purpose: string): Promise<void> {
  const res = await t.http().put(`/v1/me/consents/${purpose}`).set(bearer(subject.token)).send({ policyVersion: t.config.policyVersion });
  if (res.status !== 200) throw new Error(`consent failed: ${res.status} ${JSON.stringify(res.body)}`);
}

async function uploadJpeg(t: TestApp, subject: Subject, width = 64, height = 48): Promise<string> {
  const image = await jpegImage(width, height);
  const res = await t
    .http()
    .post('/v1/images')
    .set(bearer(subject.token))
    .send({ imageBase64: base64Of(image), contentType: image.contentType, purpose: 'photo-enlarge', faces: [{ x: 4, y: 4, width: 20, height: 20 }] });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.imageId;
}

/** An artwork as the processing worker leaves it: encrypted object, then ArtworkGenerated. */
async function seedArtwork(t: TestApp, subject: Subject, imageId: string): Promise<{ artworkId: string; jobId: string; bytes: Buffer; objectKey: string }> {
  const { bytes } = await pngImage(80, 60);
  const artworkId = randomUUID();
  const jobId = randomUUID();
  const objectKey = objectKeys.artwork(subject.subjectId, artworkId);
  await t.app.get(EncryptedObjects).put(subject.subjectId, objectKey, bytes, 'image/png');
  await t.app.get(EventLog).append(
    streams.artwork(artworkId),
    [
      {
        type: 'ArtworkGenerated',
        data: {
          artworkId,
          subjectId: subject.subjectId,
          jobId,
          imageId,
          purpose: 'photo-enlarge',
          objectKey,
          contentType: 'image/png',
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          width: 80,
          height: 60,
        },
      },
    ],
    'no_stream',
    { actor: 'system:processing', correlationId: randomUUID(), causationId: null },
  );
  await t.settle();
  return { artworkId, jobId, bytes, objectKey };
}

describe('artworks over REST', () => {
  let t: TestApp;
  let a: Subject;
  let b: Subject;

  beforeAll(async () => {
    t = await startTestApp({ env: { TOKEN_TTL: 'PT24H' } });
    a = await registerSubject(t);
    b = await registerSubject(t);
    await grant(t, a, 'photo-enlarge');
    await grant(t, b, 'photo-enlarge');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('list → get → content (one ArtworkViewed) → DELETE (object gone, ArtworkDeleted) → 410, listed as deleted', async () => {
    t.clock.set('2026-03-02T05:00:00.000Z');
    const imageId = await uploadJpeg(t, a);
    const { artworkId, jobId, bytes, objectKey } = await seedArtwork(t, a, imageId);
    const file = join(t.dataDir, 'objects', objectKey);
    expect(existsSync(file)).toBe(true);
    expect(containsRunOf(readFileSync(file), bytes)).toBe(false);

    const record = {
      artworkId,
      jobId,
      imageId,
      purpose: 'photo-enlarge',
      status: 'stored',
      contentType: 'image/png',
      width: 80,
      height: 60,
      createdAt: '2026-03-02T05:00:00.000Z',
    };
    const list = await t.http().get('/v1/artworks').set(bearer(a.token));
    expect([list.status, list.body]).toEqual([200, { artworks: [record] }]);
    const one = await t.http().get(`/v1/artworks/${artworkId}`).set(bearer(a.token));
    expect([one.status, one.body]).toEqual([200, record]);

    t.clock.set('2026-03-02T05:05:00.000Z');
    const beforeView = await t.mark();
    const content = await t.http().get(`/v1/artworks/${artworkId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
    expect(content.status).toBe(200);
    expect(content.headers['content-type']).toBe('image/png');
    expect(content.headers['cache-control']).toBe('no-store');
    expect(Buffer.compare(content.body as Buffer, bytes)).toBe(0);
    const viewed = await t.eventsSince(beforeView);
    expect(summary(viewed)).toEqual([`ArtworkViewed@artwork-${artworkId}`]);
    expect(viewed[0].data).toEqual({ artworkId, subjectId: a.subjectId, purpose: 'subject-view', dataPurpose: 'photo-enlarge' });
    expect(viewed[0].metadata).toMatchObject({ actor: `subject:${a.subjectId}`, occurredAt: '2026-03-02T05:05:00.000Z' });

    t.clock.set('2026-03-02T05:10:00.000Z');
    const beforeDelete = await t.mark();
    expect((await t.http().delete(`/v1/artworks/${artworkId}`).set(bearer(a.token))).status).toBe(204);
    const deleted = await t.eventsSince(beforeDelete);
    expect(summary(deleted)).toEqual([`ArtworkDeleted@artwork-${artworkId}`]);
    expect(deleted[0].data).toEqual({ artworkId, subjectId: a.subjectId, purpose: 'photo-enlarge', objectKey, reason: 'user' });
    expect(existsSync(file)).toBe(false);

    const gone = await t.http().get(`/v1/artworks/${artworkId}/content`).set(bearer(a.token));
    expect([gone.status, gone.body.code]).toEqual([410, 'ARTWORK_DELETED']);
    expect((await t.http().get('/v1/artworks').set(bearer(a.token))).body.artworks).toEqual([{ ...record, status: 'deleted' }]);
    expect((await t.http().get(`/v1/artworks/${artworkId}`).set(bearer(a.token))).body.status).toBe('deleted');

    const again = await t.mark();
    expect((await t.http().delete(`/v1/artworks/${artworkId}`).set(bearer(a.token))).status).toBe(204);
    expect(await t.eventsSince(again)).toEqual([]);
  });

  it("another subject gets 404 on every route of A's artwork, sees none, and writes nothing", async () => {
    const imageId = await uploadJpeg(t, a);
    const { artworkId, objectKey } = await seedArtwork(t, a, imageId);
    const mark = await t.mark();
    for (const res of [
      await t.http().get(`/v1/artworks/${artworkId}`).set(bearer(b.token)),
      await t.http().get(`/v1/artworks/${artworkId}/content`).set(bearer(b.token)),
      await t.http().delete(`/v1/artworks/${artworkId}`).set(bearer(b.token)),
    ]) {
      expect([res.status, res.body.code]).toEqual([404, 'ARTWORK_NOT_FOUND']);
    }
    // And the original it was made from, on every image route.
    for (const res of [
      await t.http().get(`/v1/images/${imageId}`).set(bearer(b.token)),
      await t.http().get(`/v1/images/${imageId}/content`).set(bearer(b.token)),
      await t.http().delete(`/v1/images/${imageId}`).set(bearer(b.token)),
    ]) {
      expect([res.status, res.body.code]).toEqual([404, 'IMAGE_NOT_FOUND']);
    }
    expect((await t.http().get('/v1/artworks').set(bearer(b.token))).body).toEqual({ artworks: [] });
    expect(await t.eventsSince(mark)).toEqual([]);
    expect(existsSync(join(t.dataDir, 'objects', objectKey))).toBe(true);
  });

  it('400 INVALID_ID for a non-UUID, 404 ARTWORK_NOT_FOUND for an unknown id, 401 without a token', async () => {
    const mark = await t.mark();
    for (const res of [
      await t.http().get('/v1/artworks/123').set(bearer(a.token)),
      await t.http().get('/v1/artworks/123/content').set(bearer(a.token)),
      await t.http().delete('/v1/artworks/123').set(bearer(a.token)),
    ]) {
      expect([res.status, res.body.code]).toEqual([400, 'INVALID_ID']);
    }
    const unknown = randomUUID();
    for (const res of [
      await t.http().get(`/v1/artworks/${unknown}`).set(bearer(a.token)),
      await t.http().get(`/v1/artworks/${unknown}/content`).set(bearer(a.token)),
      await t.http().delete(`/v1/artworks/${unknown}`).set(bearer(a.token)),
    ]) {
      expect([res.status, res.body.code]).toEqual([404, 'ARTWORK_NOT_FOUND']);
    }
    expect((await t.http().get('/v1/artworks')).status).toBe(401);
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('full flow: a real photo-enlarge job produces an artwork that is listed, readable (viewed) and deletable', async () => {
    const imageId = await uploadJpeg(t, a, 48, 32);
    const queued = await t.http().post(`/v1/images/${imageId}/jobs`).set(bearer(a.token)).send({ purpose: 'photo-enlarge' });
    expect(queued.status).toBe(202);
    await t.app.get(ProcessingWorker).drain();
    await t.settle();
    // The temp-file saga reacts to JobCompleted on its own; let it finish so later marks are exact.
    await t.app.get(TempFilesSaga).whenIdle();
    await t.settle();
    const job = await t.http().get(`/v1/jobs/${queued.body.jobId}`).set(bearer(a.token));
    expect(job.body).toMatchObject({ jobId: queued.body.jobId, imageId, purpose: 'photo-enlarge', status: 'completed' });
    const artworkId: string = job.body.artworkId;
    expect(artworkId).toMatch(/^[0-9a-f-]{36}$/);

    const record = (await t.http().get(`/v1/artworks/${artworkId}`).set(bearer(a.token))).body;
    expect(record).toMatchObject({ artworkId, jobId: queued.body.jobId, imageId, purpose: 'photo-enlarge', status: 'stored' });
    expect((await t.http().get('/v1/artworks').set(bearer(a.token))).body.artworks).toContainEqual(record);
    // The original's retention clock now runs from the job's completion.
    const image = (await t.http().get(`/v1/images/${imageId}`).set(bearer(a.token))).body;
    expect(Date.parse(image.deleteBy)).toBe(Date.parse(t.clock.now().toISOString()) + t.config.retention.originalMaxMs);

    const mark = await t.mark();
    const content = await t.http().get(`/v1/artworks/${artworkId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
    expect(content.status).toBe(200);
    expect(content.headers['content-type']).toBe(record.contentType);
    const metadata = await sharp(content.body as Buffer).metadata();
    expect([metadata.width, metadata.height]).toEqual([record.width, record.height]);
    expect(record.width).toBeGreaterThan(48);
    expect(summary(await t.eventsSince(mark))).toEqual([`ArtworkViewed@artwork-${artworkId}`]);

    // Neither the artwork nor the original is anywhere on disk in clear.
    for (const file of filesUnder(t.dataDir)) expect({ file, found: containsRunOf(readFileSync(file), content.body as Buffer) }).toEqual({ file, found: false });

    const beforeDelete = await t.mark();
    expect((await t.http().delete(`/v1/artworks/${artworkId}`).set(bearer(a.token))).status).toBe(204);
    expect(summary(await t.eventsSince(beforeDelete))).toEqual([`ArtworkDeleted@artwork-${artworkId}`]);
    expect((await t.http().get(`/v1/artworks/${artworkId}/content`).set(bearer(a.token))).body.code).toBe('ARTWORK_DELETED');
  });

  it('deleting an original cancels its queued jobs', async () => {
    const imageId = await uploadJpeg(t, a);
    const queued = await t.http().post(`/v1/images/${imageId}/jobs`).set(bearer(a.token)).send({ purpose: 'photo-enlarge' });
    expect(queued.status).toBe(202);
    const mark = await t.mark();
    expect((await t.http().delete(`/v1/images/${imageId}`).set(bearer(a.token))).status).toBe(204);
    const events = await t.eventsSince(mark);
    expect(summary(events)).toEqual(expect.arrayContaining([`ImageDeleted@image-${imageId}`, `JobCancelled@job-${queued.body.jobId}`]));
    expect(summary(events)[0]).toBe(`ImageDeleted@image-${imageId}`);
    expect(events.find((e) => e.type === 'JobCancelled')?.data).toMatchObject({ imageId, reason: 'original-deleted' });
    await t.settle();
    expect((await t.http().get(`/v1/jobs/${queued.body.jobId}`).set(bearer(a.token))).body.status).toBe('cancelled');
  });

  it('the OpenAPI document describes the artwork routes and their error codes', async () => {
    const doc = (await t.http().get('/docs-json')).body;
    expect(doc.paths['/v1/artworks'].get.responses['200']).toBeDefined();
    expect(doc.paths['/v1/artworks/{artworkId}'].get.responses['404'].description).toContain('ARTWORK_NOT_FOUND');
    expect(doc.paths['/v1/artworks/{artworkId}/content'].get.responses['410'].description).toContain('ARTWORK_DELETED');
    expect(doc.paths['/v1/artworks/{artworkId}'].delete.responses['204']).toBeDefined();
    expect(Object.keys(doc.components.schemas.ArtworkRecordDto.properties)).toEqual(
      expect.arrayContaining(['artworkId', 'jobId', 'imageId', 'purpose', 'status', 'contentType', 'width', 'height', 'createdAt']),
    );
  });
});
