/**
 * Facial images over REST, end to end: upload (JPEG, PNG, HEIC), the exact events each step
 * appends, encryption at rest, views, deletion, every refusal (status, code, nothing written),
 * other subjects, Idempotency-Key replays, a raw search of DATA_DIR, and dependency failures.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { EventStoreUnavailableError } from '../../src/modules/event-store/event-store.errors';
import type { AppendResult, EventToAppend, ExpectedRevision, StoredEvent } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { EncryptedObjects } from '../../src/modules/facial-data/encrypted-objects';
import { FilesystemObjectStorage } from '../../src/modules/object-storage/filesystem/filesystem-object-storage';
import { ObjectStorageUnavailableError, type PutObjectOptions } from '../../src/modules/object-storage/object-storage.port';
import { binary } from '../fixtures/binary-body';
import { base64Of, containsRunOf, heicImage, jpegImage, pngImage, type FixtureImage } from '../fixtures/images';
import { bearer, filesContaining, filesUnder, registerSubject, startTestApp, type TestApp } from '../support/test-app';

const UPLOAD_MAX_BYTES = 200_000;
const FACE = { x: 11, y: 7, width: 23, height: 19 };
const FACE_JSON_FRAGMENTS = ['"x":11,"y":7', '"width":23,"height":19', JSON.stringify(FACE)];

type Subject = Awaited<ReturnType<typeof registerSubject>>;

function objectFiles(t: TestApp): string[] {
  const dir = join(t.dataDir, 'objects');
  return existsSync(dir) ? filesUnder(dir) : [];
}

async function grant(t: TestApp, subject: Subject, purpose: string): Promise<void> {
  const res = await t.http().put(`/v1/me/consents/${purpose}`).set(bearer(subject.token)).send({ policyVersion: t.config.policyVersion });
  if (res.status !== 200) throw new Error(`consent failed: ${res.status} ${JSON.stringify(res.body)}`);
}

function uploadBody(image: FixtureImage, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { imageBase64: base64Of(image), contentType: image.contentType, purpose: 'photo-enlarge', faces: [FACE], ...overrides };
}

function upload(t: TestApp, subject: Subject, body: unknown, idempotencyKey?: string) {
  const req = t.http().post('/v1/images').set(bearer(subject.token));
  if (idempotencyKey !== undefined) req.set('Idempotency-Key', idempotencyKey);
  return req.send(body as object);
}

const summary = (events: readonly StoredEvent[]) => events.map((e) => `${e.type}@${e.stream}`);

describe('images over REST', () => {
  let t: TestApp;
  let a: Subject;
  let b: Subject;
  let jpeg: FixtureImage;
  let png: FixtureImage;

  beforeAll(async () => {
    // Tokens live long enough for the clock moves below (at most PT24H).
    t = await startTestApp({ env: { UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES), IMAGE_MAX_PIXELS: '1000000', TOKEN_TTL: 'PT24H' } });
    a = await registerSubject(t);
    b = await registerSubject(t);
    for (const purpose of ['photo-enlarge', 'photo-restore', 'erase-pen', 'time-painting']) await grant(t, a, purpose);
    await grant(t, b, 'photo-enlarge');
    jpeg = await jpegImage(64, 48);
    png = await pngImage(40, 30);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('JPEG: upload → exact events, encrypted object → list/get → content (one ImageViewed) → DELETE → 410, listed as deleted', async () => {
    t.clock.set('2026-03-02T02:10:00.000Z');
    const objectsBefore = objectFiles(t).length;
    const mark = await t.mark();
    const res = await upload(t, a, uploadBody(jpeg));
    expect(res.status).toBe(201);
    const { imageId } = res.body;
    expect(res.body).toEqual({ imageId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'stored', uploadedAt: '2026-03-02T02:10:00.000Z' });

    const events = await t.eventsSince(mark);
    expect(summary(events)).toEqual([`ImageUploaded@image-${imageId}`, `FaceDetectionLogged@oplog-${a.subjectId}`]);
    const [uploaded, logged] = events;
    const objectKey = `originals/${a.subjectId}/${imageId}`;
    expect(uploaded.data).toMatchObject({
      imageId,
      subjectId: a.subjectId,
      purpose: 'photo-enlarge',
      contentType: 'image/jpeg',
      objectKey,
      size: jpeg.bytes.length,
      sha256: createHash('sha256').update(jpeg.bytes).digest('hex'),
      width: 64,
      height: 48,
      faceCount: 1,
    });
    // The face boxes are a personal field: encrypted in the log, never in clear.
    expect(JSON.stringify(uploaded.data.faces)).not.toContain('"width"');
    expect(uploaded.metadata).toMatchObject({ actor: `subject:${a.subjectId}`, occurredAt: '2026-03-02T02:10:00.000Z' });
    expect(logged.data).toEqual({ subjectId: a.subjectId, imageId, purpose: 'photo-enlarge', faceCount: 1 });
    expect(JSON.stringify(events.map((e) => e.data))).not.toContain(base64Of(jpeg).slice(0, 64));

    // Stored encrypted: the file is not the plaintext and holds no run of it.
    const file = join(t.dataDir, 'objects', objectKey);
    expect(objectFiles(t)).toHaveLength(objectsBefore + 1);
    const onDisk = readFileSync(file);
    expect(onDisk.equals(jpeg.bytes)).toBe(false);
    expect(containsRunOf(onDisk, jpeg.bytes)).toBe(false);

    const list = await t.http().get('/v1/images').set(bearer(a.token));
    expect(list.status).toBe(200);
    const record = { imageId, status: 'stored', purpose: 'photo-enlarge', uploadedAt: '2026-03-02T02:10:00.000Z', deleteBy: '2026-03-03T02:10:00.000Z' };
    expect(list.body.images).toContainEqual(record);
    const one = await t.http().get(`/v1/images/${imageId}`).set(bearer(a.token));
    expect([one.status, one.body]).toEqual([200, record]);

    t.clock.set('2026-03-02T02:20:00.000Z');
    const beforeView = await t.mark();
    const content = await t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
    expect(content.status).toBe(200);
    expect(content.headers['content-type']).toBe('image/jpeg');
    expect(content.headers['cache-control']).toBe('no-store');
    expect(Buffer.compare(content.body as Buffer, jpeg.bytes)).toBe(0);
    const viewEvents = await t.eventsSince(beforeView);
    expect(summary(viewEvents)).toEqual([`ImageViewed@image-${imageId}`]);
    expect(viewEvents[0].data).toEqual({ imageId, subjectId: a.subjectId, purpose: 'subject-view', dataPurpose: 'photo-enlarge' });
    expect(viewEvents[0].metadata).toMatchObject({ actor: `subject:${a.subjectId}`, occurredAt: '2026-03-02T02:20:00.000Z' });

    t.clock.set('2026-03-02T02:30:00.000Z');
    const beforeDelete = await t.mark();
    const del = await t.http().delete(`/v1/images/${imageId}`).set(bearer(a.token));
    expect(del.status).toBe(204);
    const deleteEvents = await t.eventsSince(beforeDelete);
    expect(summary(deleteEvents)).toEqual([`ImageDeleted@image-${imageId}`]);
    expect(deleteEvents[0].data).toEqual({ imageId, subjectId: a.subjectId, purpose: 'photo-enlarge', objectKey, reason: 'user' });
    expect(existsSync(file)).toBe(false);
    expect(objectFiles(t)).toHaveLength(objectsBefore);

    const goneContent = await t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token));
    expect([goneContent.status, goneContent.body.code]).toEqual([410, 'IMAGE_DELETED']);
    const after = await t.http().get('/v1/images').set(bearer(a.token));
    expect(after.body.images).toContainEqual({ imageId, status: 'deleted', purpose: 'photo-enlarge', uploadedAt: '2026-03-02T02:10:00.000Z' });

    // Deleting again: 204, nothing appended.
    const again = await t.mark();
    expect((await t.http().delete(`/v1/images/${imageId}`).set(bearer(a.token))).status).toBe(204);
    expect(await t.eventsSince(again)).toEqual([]);
  });

  it('PNG: stored, listed, read back byte for byte', async () => {
    t.clock.set('2026-03-02T03:00:00.000Z');
    const mark = await t.mark();
    const res = await upload(t, a, uploadBody(png, { purpose: 'photo-restore', faces: [{ x: 0, y: 0, width: 40, height: 30 }] }));
    expect(res.status).toBe(201);
    const events = await t.eventsSince(mark);
    expect(summary(events)).toEqual([`ImageUploaded@image-${res.body.imageId}`, `FaceDetectionLogged@oplog-${a.subjectId}`]);
    expect(events[0].data).toMatchObject({ contentType: 'image/png', width: 40, height: 30, size: png.bytes.length, purpose: 'photo-restore' });
    const content = await t.http().get(`/v1/images/${res.body.imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
    expect(content.headers['content-type']).toBe('image/png');
    expect(Buffer.compare(content.body as Buffer, png.bytes)).toBe(0);
  });

  it('concurrent reads of one image all succeed, each recorded by exactly one ImageViewed', async () => {
    const res = await upload(t, a, uploadBody(jpeg));
    const mark = await t.mark();
    const reads = await Promise.all(
      Array.from({ length: 8 }, () => t.http().get(`/v1/images/${res.body.imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary)),
    );
    expect(reads.map((r) => r.status)).toEqual(Array(8).fill(200));
    for (const r of reads) expect(Buffer.compare(r.body as Buffer, jpeg.bytes)).toBe(0);
    expect(summary(await t.eventsSince(mark))).toEqual(Array(8).fill(`ImageViewed@image-${res.body.imageId}`));
  });

  it('a deletion that completes after the bytes were read: the bytes are served and the view is recorded, after the deletion', async () => {
    const res = await upload(t, a, uploadBody(jpeg));
    const imageId = res.body.imageId;
    const objects = t.app.get(EncryptedObjects);
    const realGet = objects.get.bind(objects);
    objects.get = async (subjectId: string, key: string) => {
      const bytes = await realGet(subjectId, key);
      objects.get = realGet;
      // The subject deletes the image from another device while this read is in flight.
      const del = await t.http().delete(`/v1/images/${imageId}`).set(bearer(a.token));
      expect(del.status).toBe(204);
      return bytes;
    };
    const mark = await t.mark();
    try {
      const raced = await t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
      expect(raced.status).toBe(200);
      expect(Buffer.compare(raced.body as Buffer, jpeg.bytes)).toBe(0);
    } finally {
      objects.get = realGet;
    }
    // A view is recorded if and only if bytes were served: this access happened, so it is in the log.
    expect(summary(await t.eventsSince(mark))).toEqual([`ImageDeleted@image-${imageId}`, `ImageViewed@image-${imageId}`]);
    expect((await t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token))).body.code).toBe('IMAGE_DELETED');
  });

  it('a deletion that removed the object before the read (read model not caught up): 410 and no view', async () => {
    const res = await upload(t, a, uploadBody(jpeg));
    const imageId = res.body.imageId;
    const objects = t.app.get(EncryptedObjects);
    const realGet = objects.get.bind(objects);
    objects.get = async (subjectId: string, key: string) => {
      objects.get = realGet;
      // The lookup still showed the image as stored; the deletion wins the race to the object.
      const del = await t.http().delete(`/v1/images/${imageId}`).set(bearer(a.token));
      expect(del.status).toBe(204);
      return realGet(subjectId, key);
    };
    const mark = await t.mark();
    try {
      const raced = await t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token));
      expect([raced.status, raced.body.code]).toEqual([410, 'IMAGE_DELETED']);
    } finally {
      objects.get = realGet;
    }
    expect(summary(await t.eventsSince(mark))).toEqual([`ImageDeleted@image-${imageId}`]);
  });

  it('HEIC: a minimal valid container is accepted and stored even though sharp cannot decode it', async () => {
    const heic = heicImage(64, 48);
    await expect(sharp(heic.bytes).metadata()).rejects.toThrow();
    const mark = await t.mark();
    const res = await upload(t, a, uploadBody(heic));
    expect(res.status).toBe(201);
    const events = await t.eventsSince(mark);
    expect(summary(events)).toEqual([`ImageUploaded@image-${res.body.imageId}`, `FaceDetectionLogged@oplog-${a.subjectId}`]);
    expect(events[0].data).toMatchObject({ contentType: 'image/heic', width: 64, height: 48, size: heic.bytes.length });
    const content = await t.http().get(`/v1/images/${res.body.imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
    expect(content.headers['content-type']).toBe('image/heic');
    expect(Buffer.compare(content.body as Buffer, heic.bytes)).toBe(0);
  });

  it('erase-pen needs no face box; the operation log records zero faces', async () => {
    const mark = await t.mark();
    const res = await upload(t, a, uploadBody(jpeg, { purpose: 'erase-pen', faces: [] }));
    expect(res.status).toBe(201);
    const events = await t.eventsSince(mark);
    expect(events[1].data).toEqual({ subjectId: a.subjectId, imageId: res.body.imageId, purpose: 'erase-pen', faceCount: 0 });
  });

  describe('refusals write nothing', () => {
    const refusals: Array<{ name: string; status: number; code: string; body: () => Promise<unknown> | unknown; key?: string; as?: () => Subject }> = [
      { name: 'missing faces', status: 400, code: 'VALIDATION_FAILED', body: () => ({ imageBase64: base64Of(jpeg), contentType: 'image/jpeg', purpose: 'photo-enlarge' }) },
      { name: 'a face box coordinate that is not a number', status: 400, code: 'VALIDATION_FAILED', body: () => uploadBody(jpeg, { faces: [{ ...FACE, x: '11' }] }) },
      { name: 'an unknown field', status: 400, code: 'UNKNOWN_FIELD', body: () => uploadBody(jpeg, { note: 'hello' }) },
      { name: 'an unknown field inside a face box', status: 400, code: 'UNKNOWN_FIELD', body: () => uploadBody(jpeg, { faces: [{ ...FACE, label: 'me' }] }) },
      { name: 'a top-level embedding', status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', body: () => uploadBody(jpeg, { embedding: [0.1, 0.2, 0.3] }) },
      { name: 'landmarks on a face box', status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', body: () => uploadBody(jpeg, { faces: [{ ...FACE, landmarks: [[1, 2]] }] }) },
      { name: 'a nested face_descriptor', status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', body: () => uploadBody(jpeg, { meta: { face_descriptor: 'AAAA' } }) },
      { name: 'a template even with other faults (checked first)', status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', body: () => ({ template: 'x', purpose: 'marketing' }) },
      { name: 'a purpose outside the six', status: 422, code: 'PURPOSE_NOT_ALLOWED', body: () => uploadBody(jpeg, { purpose: 'marketing', imageBase64: '***' }) },
      { name: 'no consent to the purpose (checked before the content)', status: 422, code: 'CONSENT_REQUIRED', body: () => uploadBody(jpeg, { purpose: 'ai-edit', imageBase64: '***' }) },
      { name: 'malformed Base64', status: 400, code: 'INVALID_BASE64', body: () => uploadBody(jpeg, { imageBase64: `${base64Of(jpeg).slice(0, 100)}\n${base64Of(jpeg).slice(100)}` }) },
      { name: 'a data: URL instead of Base64', status: 400, code: 'INVALID_BASE64', body: () => uploadBody(jpeg, { imageBase64: `data:image/jpeg;base64,${base64Of(jpeg)}` }) },
      { name: 'a decoded size over UPLOAD_MAX_BYTES', status: 413, code: 'PAYLOAD_TOO_LARGE', body: () => uploadBody(jpeg, { imageBase64: Buffer.alloc(UPLOAD_MAX_BYTES + 1, 7).toString('base64') }) },
      { name: 'PNG bytes declared as JPEG', status: 422, code: 'CONTENT_TYPE_MISMATCH', body: () => uploadBody(png, { contentType: 'image/jpeg', faces: [{ x: 1, y: 1, width: 5, height: 5 }] }) },
      { name: 'JPEG bytes declared as HEIC', status: 422, code: 'CONTENT_TYPE_MISMATCH', body: () => uploadBody(jpeg, { contentType: 'image/heic' }) },
      { name: 'text declared as PNG', status: 422, code: 'CONTENT_TYPE_MISMATCH', body: () => uploadBody(jpeg, { imageBase64: Buffer.from('just some text, no image').toString('base64'), contentType: 'image/png' }) },
      { name: 'an unsupported type', status: 422, code: 'UNSUPPORTED_CONTENT_TYPE', body: () => uploadBody(jpeg, { contentType: 'image/gif' }) },
      { name: 'a truncated JPEG', status: 422, code: 'IMAGE_UNREADABLE', body: () => uploadBody(jpeg, { imageBase64: jpeg.bytes.subarray(0, jpeg.bytes.length - 200).toString('base64') }) },
      {
        name: 'more pixels than IMAGE_MAX_PIXELS',
        status: 422,
        code: 'IMAGE_DIMENSIONS_REFUSED',
        body: async () => {
          const big = await sharp({ create: { width: 1100, height: 1000, channels: 3, background: { r: 200, g: 180, b: 160 } } }).jpeg().toBuffer();
          return { imageBase64: big.toString('base64'), contentType: 'image/jpeg', purpose: 'photo-enlarge', faces: [FACE] };
        },
      },
      { name: 'no face for a purpose that needs one', status: 422, code: 'NO_FACE_DETECTED', body: () => uploadBody(jpeg, { faces: [] }) },
      { name: 'a face box beyond the image', status: 422, code: 'FACE_BOX_OUT_OF_BOUNDS', body: () => uploadBody(jpeg, { faces: [{ x: 50, y: 40, width: 20, height: 10 }] }) },
      { name: 'a negative face box', status: 422, code: 'FACE_BOX_OUT_OF_BOUNDS', body: () => uploadBody(jpeg, { faces: [{ x: -1, y: 0, width: 10, height: 10 }] }) },
      { name: 'more than 64 face boxes', status: 422, code: 'TOO_MANY_FACES', body: () => uploadBody(jpeg, { faces: Array.from({ length: 65 }, () => ({ x: 1, y: 1, width: 2, height: 2 })) }) },
      { name: 'an invalid Idempotency-Key', status: 400, code: 'INVALID_IDEMPOTENCY_KEY', body: () => uploadBody(jpeg), key: 'has spaces in it' },
    ];

    for (const refusal of refusals) {
      it(`${refusal.status} ${refusal.code}: ${refusal.name}`, async () => {
        const body = await refusal.body();
        const objectsBefore = objectFiles(t);
        const mark = await t.mark();
        const res = await upload(t, a, body, refusal.key);
        expect([res.status, res.body.code]).toEqual([refusal.status, refusal.code]);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(await t.eventsSince(mark)).toEqual([]);
        expect(objectFiles(t)).toEqual(objectsBefore);
      });
    }

    it('422 PURPOSE_RESTRICTED while the subject restricts the purpose', async () => {
      const restricted = await t.http().put('/v1/me/restrictions/time-painting').set(bearer(a.token)).send();
      expect(restricted.status).toBe(200);
      const objectsBefore = objectFiles(t);
      const mark = await t.mark();
      const res = await upload(t, a, uploadBody(jpeg, { purpose: 'time-painting' }));
      expect([res.status, res.body.code]).toEqual([422, 'PURPOSE_RESTRICTED']);
      expect(await t.eventsSince(mark)).toEqual([]);
      expect(objectFiles(t)).toEqual(objectsBefore);
      expect((await t.http().delete('/v1/me/restrictions/time-painting').set(bearer(a.token))).status).toBe(200);
    });

    it('401 without a token', async () => {
      const mark = await t.mark();
      const res = await t.http().post('/v1/images').send(uploadBody(jpeg));
      expect([res.status, res.body.code]).toEqual([401, 'UNAUTHORIZED']);
      expect(await t.eventsSince(mark)).toEqual([]);
    });

    it('400 INVALID_ID for a non-UUID and 404 IMAGE_NOT_FOUND for an unknown one, on every image route', async () => {
      const mark = await t.mark();
      for (const path of ['/v1/images/not-a-uuid', '/v1/images/not-a-uuid/content']) {
        const res = await t.http().get(path).set(bearer(a.token));
        expect([res.status, res.body.code]).toEqual([400, 'INVALID_ID']);
      }
      expect((await t.http().delete('/v1/images/not-a-uuid').set(bearer(a.token))).body.code).toBe('INVALID_ID');
      const unknown = '00000000-0000-4000-8000-000000000000';
      for (const res of [
        await t.http().get(`/v1/images/${unknown}`).set(bearer(a.token)),
        await t.http().get(`/v1/images/${unknown}/content`).set(bearer(a.token)),
        await t.http().delete(`/v1/images/${unknown}`).set(bearer(a.token)),
      ]) {
        expect([res.status, res.body.code]).toEqual([404, 'IMAGE_NOT_FOUND']);
      }
      expect(await t.eventsSince(mark)).toEqual([]);
    });
  });

  it("another subject gets 404 on every route of A's image and sees none of them; A's image is untouched", async () => {
    const res = await upload(t, a, uploadBody(jpeg));
    const imageId = res.body.imageId;
    const mark = await t.mark();
    for (const r of [
      await t.http().get(`/v1/images/${imageId}`).set(bearer(b.token)),
      await t.http().get(`/v1/images/${imageId}/content`).set(bearer(b.token)),
      await t.http().delete(`/v1/images/${imageId}`).set(bearer(b.token)),
    ]) {
      expect([r.status, r.body.code]).toEqual([404, 'IMAGE_NOT_FOUND']);
    }
    const listB = await t.http().get('/v1/images').set(bearer(b.token));
    expect(listB.body.images.map((i: { imageId: string }) => i.imageId)).not.toContain(imageId);
    expect(await t.eventsSince(mark)).toEqual([]);
    expect(existsSync(join(t.dataDir, 'objects', `originals/${a.subjectId}/${imageId}`))).toBe(true);
    expect((await t.http().get(`/v1/images/${imageId}`).set(bearer(a.token))).body.status).toBe('stored');
  });

  it('Idempotency-Key: the same body replays the first answer and writes nothing; another body is 422; another subject is independent', async () => {
    t.clock.set('2026-03-02T04:00:00.000Z');
    const body = uploadBody(jpeg);
    const first = await upload(t, a, body, 'upload-key-1');
    expect(first.status).toBe(201);
    t.clock.set('2026-03-02T04:05:00.000Z');
    const objectsBefore = objectFiles(t);
    const mark = await t.mark();
    // Same body, keys in another order: the same request.
    const reordered = { faces: body.faces, purpose: body.purpose, contentType: body.contentType, imageBase64: body.imageBase64 };
    const replay = await upload(t, a, reordered, 'upload-key-1');
    expect([replay.status, replay.body]).toEqual([201, first.body]);
    expect(await t.eventsSince(mark)).toEqual([]);
    expect(objectFiles(t)).toEqual(objectsBefore);

    const reused = await upload(t, a, uploadBody(png, { faces: [{ x: 1, y: 1, width: 5, height: 5 }] }), 'upload-key-1');
    expect([reused.status, reused.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect(await t.eventsSince(mark)).toEqual([]);
    expect(objectFiles(t)).toEqual(objectsBefore);
    const stored = await t.http().get(`/v1/images/${first.body.imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
    expect(Buffer.compare(stored.body as Buffer, jpeg.bytes)).toBe(0);

    const other = await upload(t, b, body, 'upload-key-1');
    expect(other.status).toBe(201);
    expect(other.body.imageId).not.toBe(first.body.imageId);
  });

  it('a large upload (its Base64 kept as bytes by the body parser) stores the exact bytes, and Idempotency-Key replays compare it as text', async () => {
    // Noise does not compress: well over the parser's 16 KiB shortcut threshold.
    const noise = Buffer.from(Array.from({ length: 320 * 240 * 3 }, (_, i) => (i * 2654435761) >>> 24));
    const bytes = await sharp(noise, { raw: { width: 320, height: 240, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
    expect(bytes.length).toBeGreaterThan(40 * 1024);
    const text = bytes.toString('base64');
    const send = (body: string, key: string) =>
      t.http().post('/v1/images').set(bearer(a.token)).set('Idempotency-Key', key).set('Content-Type', 'application/json').send(body);
    const first = await send(JSON.stringify({ imageBase64: text, contentType: 'image/jpeg', purpose: 'photo-enlarge', faces: [FACE] }), 'large-key-1');
    expect(first.status).toBe(201);
    const stored = await t.http().get(`/v1/images/${first.body.imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
    expect(Buffer.compare(stored.body as Buffer, bytes)).toBe(0);
    const [uploaded] = (await t.eventsSince('start')).filter((e) => e.type === 'ImageUploaded' && e.data.imageId === first.body.imageId);
    expect(uploaded.data.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

    const mark = await t.mark();
    // The same request written differently (spacing, key order): a replay.
    const replay = await send(`{ "faces": ${JSON.stringify([FACE])},\n "purpose":"photo-enlarge", "imageBase64" :  "${text}", "contentType":"image/jpeg" }`, 'large-key-1');
    expect([replay.status, replay.body]).toEqual([201, first.body]);
    // One byte of the image changed: another request.
    const changed = `${text.slice(0, 1000)}${text[1000] === 'A' ? 'B' : 'A'}${text.slice(1001)}`;
    const reused = await send(JSON.stringify({ imageBase64: changed, contentType: 'image/jpeg', purpose: 'photo-enlarge', faces: [FACE] }), 'large-key-1');
    expect([reused.status, reused.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('concurrent requests with one Idempotency-Key store one image', async () => {
    const body = uploadBody(png, { faces: [{ x: 2, y: 2, width: 5, height: 5 }] });
    const mark = await t.mark();
    const answers = await Promise.all([upload(t, a, body, 'upload-key-race'), upload(t, a, body, 'upload-key-race'), upload(t, a, body, 'upload-key-race')]);
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(new Set(answers.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(summary(await t.eventsSince(mark))).toEqual([`ImageUploaded@image-${answers[0].body.imageId}`, `FaceDetectionLogged@oplog-${a.subjectId}`]);
  });

  it('a raw search of every file under DATA_DIR finds no face box JSON and no 32-byte run of an uploaded image', async () => {
    const secret = await jpegImage(96, 64);
    const res = await upload(t, a, uploadBody(secret));
    expect(res.status).toBe(201);
    await t.http().get(`/v1/images/${res.body.imageId}/content`).set(bearer(a.token));
    await t.settle();
    for (const fragment of FACE_JSON_FRAGMENTS) expect(filesContaining(t.dataDir, fragment)).toEqual([]);
    const files = filesUnder(t.dataDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      for (const image of [secret, jpeg, png]) expect({ file, found: containsRunOf(readFileSync(file), image.bytes) }).toEqual({ file, found: false });
    }
  });

  it('the OpenAPI document describes the image routes and their error codes', async () => {
    const doc = (await t.http().get('/docs-json')).body;
    const post = doc.paths['/v1/images'].post;
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '413', '422', '503']));
    for (const code of ['BIOMETRIC_TEMPLATE_REJECTED', 'CONSENT_REQUIRED', 'PURPOSE_RESTRICTED', 'NO_FACE_DETECTED', 'CONTENT_TYPE_MISMATCH', 'PURPOSE_NOT_ALLOWED', 'IDEMPOTENCY_KEY_REUSED']) {
      expect(post.responses['422'].description).toContain(code);
    }
    expect(doc.paths['/v1/images/{imageId}/content'].get.responses['410'].description).toContain('IMAGE_DELETED');
    expect(doc.paths['/v1/images/{imageId}'].delete.responses['404'].description).toContain('IMAGE_NOT_FOUND');
    expect(doc.components.schemas.UploadImageDto.required).toEqual(expect.arrayContaining(['imageBase64', 'contentType', 'purpose', 'faces']));
  });
});

/** Dependencies that fail on demand, to prove that nothing is half-written. */
class FlakyEventStore extends SqliteEventStore {
  failAppendsTo: string | null = null;
  /** Appends to streams with this prefix land, but the caller is told they failed (a lost answer). */
  loseAnswersOf: string | null = null;

  override async append(stream: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.failAppendsTo && stream.startsWith(this.failAppendsTo)) throw new EventStoreUnavailableError('injected failure');
    const result = await super.append(stream, events, expected);
    if (this.loseAnswersOf && stream.startsWith(this.loseAnswersOf)) throw new EventStoreUnavailableError('injected lost answer');
    return result;
  }
}

class FlakyObjectStorage extends FilesystemObjectStorage {
  failPuts = false;
  failGets = false;

  override put(key: string, body: Buffer, options?: PutObjectOptions): Promise<void> {
    if (this.failPuts) return Promise.reject(new ObjectStorageUnavailableError('injected failure'));
    return super.put(key, body, options);
  }

  override get(key: string): Promise<Buffer> {
    if (this.failGets) return Promise.reject(new ObjectStorageUnavailableError('injected failure'));
    return super.get(key);
  }
}

describe('images when a dependency is down: 503 and nothing half-written', () => {
  let t: TestApp;
  let a: Subject;
  let store: FlakyEventStore;
  let objects: FlakyObjectStorage;
  let jpeg: FixtureImage;
  const dataDir = mkdtempSync(join(tmpdir(), 'pm-e2e-flaky-'));

  beforeAll(async () => {
    const clock = new ManualClock('2026-03-02T02:00:00.000Z');
    store = new FlakyEventStore({ file: join(dataDir, 'events.db'), clock });
    objects = new FlakyObjectStorage({ root: join(dataDir, 'objects') });
    t = await startTestApp({ dataDir, clock, overrides: { eventStore: store, objectStorage: objects } });
    a = await registerSubject(t);
    await grant(t, a, 'photo-enlarge');
    jpeg = await jpegImage(64, 48);
  });

  afterAll(async () => {
    await t?.close();
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('object storage down at upload: 503 OBJECT_STORAGE_UNAVAILABLE with Retry-After, no event', async () => {
    objects.failPuts = true;
    try {
      const mark = await t.mark();
      const res = await upload(t, a, uploadBody(jpeg));
      expect([res.status, res.body.code]).toEqual([503, 'OBJECT_STORAGE_UNAVAILABLE']);
      expect(res.headers['retry-after']).toBeDefined();
      expect(await t.eventsSince(mark)).toEqual([]);
      expect(objectFiles(t)).toEqual([]);
    } finally {
      objects.failPuts = false;
    }
  });

  it('event store down at upload: 503 EVENT_STORE_UNAVAILABLE and the object just written is removed again', async () => {
    store.failAppendsTo = 'image-';
    try {
      const mark = await t.mark();
      const res = await upload(t, a, uploadBody(jpeg));
      expect([res.status, res.body.code]).toEqual([503, 'EVENT_STORE_UNAVAILABLE']);
      expect(await t.eventsSince(mark)).toEqual([]);
      expect(objectFiles(t)).toEqual([]);
    } finally {
      store.failAppendsTo = null;
    }
  });

  it('an upload whose append landed although its answer was lost is a success, with its object kept', async () => {
    store.loseAnswersOf = 'image-';
    let res;
    const mark = await t.mark();
    try {
      res = await upload(t, a, uploadBody(jpeg));
    } finally {
      store.loseAnswersOf = null;
    }
    expect(res.status).toBe(201);
    expect(summary(await t.eventsSince(mark))).toEqual([`ImageUploaded@image-${res.body.imageId}`, `FaceDetectionLogged@oplog-${a.subjectId}`]);
    const content = await t.http().get(`/v1/images/${res.body.imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
    expect(Buffer.compare(content.body as Buffer, jpeg.bytes)).toBe(0);
  });

  it('the operation log unavailable after the image is committed: the upload stands (201), the gap is logged', async () => {
    store.failAppendsTo = 'oplog-';
    let res;
    const mark = await t.mark();
    try {
      res = await upload(t, a, uploadBody(jpeg));
    } finally {
      store.failAppendsTo = null;
    }
    expect(res.status).toBe(201);
    expect(summary(await t.eventsSince(mark))).toEqual([`ImageUploaded@image-${res.body.imageId}`]);
    expect(existsSync(join(t.dataDir, 'objects', `originals/${a.subjectId}/${res.body.imageId}`))).toBe(true);
  });

  it('the view cannot be recorded: 503 and no bytes; object storage down at read: 503 and no view', async () => {
    const res = await upload(t, a, uploadBody(jpeg));
    expect(res.status).toBe(201);
    const imageId = res.body.imageId;
    const mark = await t.mark();

    store.failAppendsTo = 'image-';
    try {
      const blocked = await t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
      expect(blocked.status).toBe(503);
      expect(JSON.parse((blocked.body as Buffer).toString('utf8')).code).toBe('EVENT_STORE_UNAVAILABLE');
      expect(containsRunOf(blocked.body as Buffer, jpeg.bytes)).toBe(false);
    } finally {
      store.failAppendsTo = null;
    }

    objects.failGets = true;
    try {
      const down = await t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token));
      expect([down.status, down.body.code]).toEqual([503, 'OBJECT_STORAGE_UNAVAILABLE']);
    } finally {
      objects.failGets = false;
    }
    expect(await t.eventsSince(mark)).toEqual([]);

    // Deletion when the event cannot be appended: the object is gone (it goes first), the image is
    // then unreadable (410), and a retry records the deletion exactly once.
    store.failAppendsTo = 'image-';
    try {
      const failed = await t.http().delete(`/v1/images/${imageId}`).set(bearer(a.token));
      expect([failed.status, failed.body.code]).toEqual([503, 'EVENT_STORE_UNAVAILABLE']);
    } finally {
      store.failAppendsTo = null;
    }
    expect(await t.eventsSince(mark)).toEqual([]);
    expect((await t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token))).body.code).toBe('IMAGE_DELETED');
    expect((await t.http().delete(`/v1/images/${imageId}`).set(bearer(a.token))).status).toBe(204);
    expect(summary(await t.eventsSince(mark))).toEqual([`ImageDeleted@image-${imageId}`]);
  });
});

describe('images at the default 10 MiB limit', () => {
  let t: TestApp;
  let a: Subject;

  beforeAll(async () => {
    t = await startTestApp();
    a = await registerSubject(t);
    await grant(t, a, 'photo-enlarge');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('a PNG of almost 10 MiB is stored and read back; 10 MiB + 1 byte is 413; a body over the request limit is 413', async () => {
    const width = 1780;
    const height = 1800;
    const noise = Buffer.alloc(width * height * 3);
    for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE((Math.random() * 0x100000000) >>> 0, i);
    const big = await sharp(noise, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
    expect(big.length).toBeGreaterThan(9 * 1024 * 1024);
    expect(big.length).toBeLessThanOrEqual(10 * 1024 * 1024);
    const image: FixtureImage = { bytes: big, contentType: 'image/png', width, height };

    const stored = await upload(t, a, uploadBody(image));
    expect(stored.status).toBe(201);
    const content = await t.http().get(`/v1/images/${stored.body.imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);
    expect(Buffer.compare(content.body as Buffer, big)).toBe(0);

    const mark = await t.mark();
    const objectsBefore = objectFiles(t);
    const over = await upload(t, a, uploadBody(image, { imageBase64: Buffer.alloc(10 * 1024 * 1024 + 1, 1).toString('base64') }));
    expect([over.status, over.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const huge = await upload(t, a, uploadBody(image, { imageBase64: Buffer.alloc(11 * 1024 * 1024, 1).toString('base64') }));
    expect([huge.status, huge.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect(await t.eventsSince(mark)).toEqual([]);
    expect(objectFiles(t)).toEqual(objectsBefore);
  });
});
