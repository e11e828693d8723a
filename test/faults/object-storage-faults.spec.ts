/**
 * Object storage failing (issue 7, fault injection 3): the service in Alibaba OSS mode, configured
 * by env alone (OSS_* with OSS_ENDPOINT on the local signature-checking OSS test server, which
 * OSS_SECURE=false and OSS_PATH_STYLE=true allow for a loopback endpoint only), through the real
 * `ali-oss` client. Faults are injected on the server (`failNext`): every attempt of the adapter's
 * retries fails, as in a real outage, until the test clears them.
 *
 * - a failing put: the upload answers 503 + Retry-After, no event, no object; the same upload
 *   succeeds once OSS answers again;
 * - a failing delete on DELETE /v1/images/{id}: 503, no ImageDeleted, the object still there and
 *   still readable; a later retry deletes it with exactly one ImageDeleted;
 * - a failing delete during the retention sweep: nothing recorded, the next sweep deletes the
 *   original with exactly one ImageDeleted (on time);
 * - account erasure with a failing delete: 503 ERASURE_IN_PROGRESS, access closed at once, and a
 *   later rights sweep completes it with exactly one SubjectErased, every object gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { loadConfig } from '../../src/modules/config/app-config';
import { KeyStore } from '../../src/modules/crypto/key-store.port';
import { AliOssObjectStorage } from '../../src/modules/object-storage/ali-oss/ali-oss-object-storage';
import { ObjectStorage } from '../../src/modules/object-storage/object-storage.port';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { RightsScheduler } from '../../src/modules/subject-rights/mark-overdue/rights-scheduler';
import { OssTestServer } from '../support/oss-test-server/oss-test-server';
import { asSubject, queueJob, runJobs, settleAll, subjectWithConsent, sweep } from '../support/retention-flows';
import { bearer, startTestApp, type TestApp } from '../support/test-app';
import { expectUnavailable, OSS_CREDENTIALS, ofType, ossEnv, ossKeys, uploadBody } from './fault-helpers';

/** More failures than the adapter's attempts (1 + 3 retries) in any step of these tests. */
const OUTAGE = 1_000;

describe('object storage failing (OSS test server)', () => {
  let server: OssTestServer;
  let t: TestApp;
  let clock: ManualClock;

  beforeAll(async () => {
    server = await OssTestServer.start(OSS_CREDENTIALS);
    clock = new ManualClock(new Date());
    t = await startTestApp({ clock, env: { ...ossEnv(server), RETENTION_ORIGINAL_MAX: 'PT1H' } });
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  it('the env alone puts the service on OSS: loopback http only with OSS_SECURE=false, path-style requests, SSE on every put', async () => {
    expect(t.app.get(ObjectStorage)).toBeInstanceOf(AliOssObjectStorage);
    expect(() => loadConfig({ ...ossEnv(server), OSS_ENDPOINT: 'http://oss.example.com', DATA_DIR: t.dataDir })).toThrow(/OSS_SECURE=false is only accepted with a loopback http OSS_ENDPOINT/);
    expect(() => loadConfig({ ...ossEnv(server), OSS_SECURE: 'true', DATA_DIR: t.dataDir })).toThrow(/OSS_ENDPOINT must be https/);
    expect(() => loadConfig({ ...ossEnv(server), OSS_ENDPOINT: 'https://127.0.0.1:9', DATA_DIR: t.dataDir })).toThrow(/OSS_SECURE=false is only accepted/);
    expect(loadConfig({ ...ossEnv(server), OSS_SECURE: '', OSS_PATH_STYLE: '', OSS_ENDPOINT: 'https://oss-cn-hangzhou.aliyuncs.com', DATA_DIR: t.dataDir }).oss).toMatchObject({ secure: true, pathStyle: false });
    const subject = await subjectWithConsent(t, 'photo-enlarge');
    const res = await t.http().post('/v1/images').set(bearer(subject.token)).send(await uploadBody());
    expect(res.status).toBe(201);
    const key = objectKeys.original(subject.subjectId, res.body.imageId);
    expect(server.objects.get(key)?.headers['x-oss-server-side-encryption']).toBe('AES256');
    expect(server.requestsOf('PutObject').every((r) => r.signatureVersion === 'v4' && r.bucket === OSS_CREDENTIALS.bucket)).toBe(true);
  });

  it('put failing: the upload answers 503 with Retry-After, records nothing, leaves no object; once OSS answers the upload succeeds', async () => {
    const subject = await subjectWithConsent(t, 'photo-enlarge');
    const body = await uploadBody('photo-enlarge', 1);
    for (const fault of [503, 500, 'reset'] as const) {
      const mark = await t.mark();
      server.failNext('put', OUTAGE, fault);
      const res = await t.http().post('/v1/images').set(bearer(subject.token)).send(body);
      server.clearFaults();
      expectUnavailable(res, 'OBJECT_STORAGE_UNAVAILABLE');
      expect(await t.eventsSince(mark)).toEqual([]);
      expect(ossKeys(server, objectKeys.subjectPrefixes(subject.subjectId)[0])).toEqual([]);
    }
    // With an Idempotency-Key too: the failed attempt leaves nothing the retry could replay.
    const mark = await t.mark();
    server.failNext('put', OUTAGE);
    const first = await t.http().post('/v1/images').set(bearer(subject.token)).set('Idempotency-Key', 'upload-1').send(body);
    server.clearFaults();
    expectUnavailable(first, 'OBJECT_STORAGE_UNAVAILABLE');
    expect(await t.eventsSince(mark)).toEqual([]);
    const retried = await t.http().post('/v1/images').set(bearer(subject.token)).set('Idempotency-Key', 'upload-1').send(body);
    expect(retried.status).toBe(201);
    const events = await t.eventsSince(mark);
    expect(events.map((e) => e.type).sort()).toEqual(['FaceDetectionLogged', 'ImageUploaded']);
    expect(ofType(events, 'ImageUploaded')[0].data.imageId).toBe(retried.body.imageId);
    expect(server.objects.has(objectKeys.original(subject.subjectId, retried.body.imageId))).toBe(true);
  });

  it('delete failing on DELETE /v1/images/{id}: 503, no ImageDeleted, the original still there and readable; a retry later deletes it with exactly one ImageDeleted', async () => {
    const subject = await subjectWithConsent(t, 'photo-enlarge');
    const body = await uploadBody('photo-enlarge', 2);
    const uploaded = await t.http().post('/v1/images').set(bearer(subject.token)).send(body);
    expect(uploaded.status).toBe(201);
    const imageId = uploaded.body.imageId as string;
    const key = objectKeys.original(subject.subjectId, imageId);

    const mark = await t.mark();
    server.failNext('delete', OUTAGE);
    const refused = await t.http().delete(`/v1/images/${imageId}`).set(bearer(subject.token));
    expectUnavailable(refused, 'OBJECT_STORAGE_UNAVAILABLE');
    expect(ofType(await t.eventsSince(mark), 'ImageDeleted')).toEqual([]);
    expect(server.objects.has(key)).toBe(true);
    const content = await t.http().get(`/v1/images/${imageId}/content`).set(bearer(subject.token));
    expect(content.status).toBe(200);
    expect((content.body as Buffer).equals(Buffer.from(body.imageBase64, 'base64'))).toBe(true);
    const listed = await t.http().get(`/v1/images/${imageId}`).set(bearer(subject.token));
    expect(listed.body.status).toBe('stored');
    // Still failing: a second attempt changes nothing either.
    expectUnavailable(await t.http().delete(`/v1/images/${imageId}`).set(bearer(subject.token)), 'OBJECT_STORAGE_UNAVAILABLE');
    server.clearFaults();

    const retried = await t.http().delete(`/v1/images/${imageId}`).set(bearer(subject.token));
    expect(retried.status).toBe(204);
    expect(await t.http().delete(`/v1/images/${imageId}`).set(bearer(subject.token)).then((r) => r.status)).toBe(204);
    const deleted = ofType(await t.eventsSince(mark), 'ImageDeleted');
    expect(deleted).toHaveLength(1);
    expect(deleted[0].data).toMatchObject({ imageId, reason: 'user' });
    expect(server.objects.has(key)).toBe(false);
    const gone = await t.http().get(`/v1/images/${imageId}/content`).set(bearer(subject.token));
    expect([gone.status, gone.body.code]).toEqual([410, 'IMAGE_DELETED']);
  });

  it('delete failing during the retention sweep: nothing recorded, the next sweep deletes the original with exactly one ImageDeleted', async () => {
    const subject = await subjectWithConsent(t, 'photo-enlarge');
    const uploaded = await t.http().post('/v1/images').set(bearer(subject.token)).send(await uploadBody('photo-enlarge', 3));
    const imageId = uploaded.body.imageId as string;
    const key = objectKeys.original(subject.subjectId, imageId);
    expect((await queueJob(t, subject, imageId)).status).toBe(202);
    await runJobs(t);
    await settleAll(t);
    expect(server.objects.has(key)).toBe(true);

    clock.advance(60 * 60_000 + 1_000); // RETENTION_ORIGINAL_MAX=PT1H has passed
    const mark = await t.mark();
    server.failNext('delete', OUTAGE);
    const failed = await sweep(t);
    expect(failed.originals).toMatchObject({ deleted: 0, interrupted: 'dependency-unavailable' });
    expect(failed.failedSteps).toEqual([]);
    expect(ofType(await t.eventsSince(mark), 'ImageDeleted')).toEqual([]);
    expect(server.objects.has(key)).toBe(true);
    server.clearFaults();

    clock.advance(30_000);
    const repaired = await sweep(t);
    expect(repaired.originals).toMatchObject({ interrupted: null, failed: 0 });
    const deleted = ofType(await t.eventsSince(mark), 'ImageDeleted').filter((e) => e.data.imageId === imageId);
    expect(deleted).toHaveLength(1);
    expect(deleted[0].data).toMatchObject({ imageId, reason: 'retention', rule: 'original-after-processing' });
    expect(server.objects.has(key)).toBe(false);
    clock.advance(30_000);
    expect((await sweep(t)).originals).toMatchObject({ deleted: 0 });
    expect(ofType(await t.eventsSince(mark), 'ImageDeleted').filter((e) => e.data.imageId === imageId)).toHaveLength(1);
    const content = await asSubject(t, subject, (token) => t.http().get(`/v1/images/${imageId}/content`).set(bearer(token)));
    expect(content.status).toBe(410);
  });

  it('account erasure with deletes failing: 503 ERASURE_IN_PROGRESS, access closed at once; a later rights sweep completes it with exactly one SubjectErased', async () => {
    const subject = await subjectWithConsent(t, 'photo-enlarge');
    const images: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await t.http().post('/v1/images').set(bearer(subject.token)).send(await uploadBody('photo-enlarge', 4 + i));
      images.push(res.body.imageId as string);
    }
    expect((await queueJob(t, subject, images[0])).status).toBe(202);
    await runJobs(t);
    const prefixes = objectKeys.subjectPrefixes(subject.subjectId);
    const held = prefixes.flatMap((p) => ossKeys(server, p));
    expect(held.filter((k) => k.startsWith('originals/'))).toHaveLength(2);
    expect(held.filter((k) => k.startsWith('artworks/'))).toHaveLength(1);

    const mark = await t.mark();
    server.failNext('delete', OUTAGE);
    const refused = await t.http().delete('/v1/me').set(bearer(subject.token));
    expectUnavailable(refused, 'ERASURE_IN_PROGRESS');
    expect(refused.body).toMatchObject({ subjectId: subject.subjectId, receiptId: expect.any(String) });
    const afterRefusal = await t.eventsSince(mark);
    expect(ofType(afterRefusal, 'SubjectErasureStarted')).toHaveLength(1);
    expect(ofType(afterRefusal, 'SubjectErased')).toEqual([]);
    expect(ofType(afterRefusal, 'ImageDeleted')).toEqual([]);
    expect(prefixes.flatMap((p) => ossKeys(server, p))).toEqual(held);
    expect((await t.http().get('/v1/images').set(bearer(subject.token))).status).toBe(401);

    // Still failing: the sweep tries and leaves it for the next one.
    expect((await t.app.get(RightsScheduler).sweepOnce()).erasuresCompleted).toBe(0);
    expect(ofType(await t.eventsSince(mark), 'SubjectErased')).toEqual([]);
    server.clearFaults();

    expect((await t.app.get(RightsScheduler).sweepOnce()).erasuresCompleted).toBe(1);
    await settleAll(t);
    const events = await t.eventsSince(mark);
    const erased = ofType(events, 'SubjectErased');
    expect(erased).toHaveLength(1);
    expect(erased[0].data).toMatchObject({ receiptId: refused.body.receiptId, keyDestroyed: true, imagesDeleted: 2, artworksDeleted: 1 });
    expect(ofType(events, 'ImageDeleted')).toHaveLength(2);
    expect(ofType(events, 'ArtworkDeleted')).toHaveLength(1);
    expect(prefixes.flatMap((p) => ossKeys(server, p))).toEqual([]);
    expect(await t.app.get(KeyStore).isDestroyed(subject.subjectId)).toBe(true);
    // Nothing more on the next sweep.
    expect((await t.app.get(RightsScheduler).sweepOnce()).erasuresCompleted).toBe(0);
    expect(ofType(await t.eventsSince(mark), 'SubjectErased')).toHaveLength(1);
  });
});
