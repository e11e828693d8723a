/**
 * Processing jobs end to end: POST /v1/images/{id}/jobs, the worker (driven by hand: schedulers
 * are off in tests), GET /v1/jobs/{id}, the temp-file saga, and the exact events of each step.
 */
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConsentWithdrawn, streams } from '../../src/events';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { masterKeyFromBytes } from '../../src/modules/crypto/master-key';
import { SqliteKeyStore } from '../../src/modules/crypto/sqlite/sqlite-key-store';
import { EventLog } from '../../src/modules/event-store/event-log';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { EncryptedObjects } from '../../src/modules/facial-data/encrypted-objects';
import { ProcessingWorker } from '../../src/modules/facial-data/processing-worker/processing-worker';
import { TempFilesSaga } from '../../src/modules/facial-data/temp-files/temp-files.saga';
import { FilesystemObjectStorage } from '../../src/modules/object-storage/filesystem/filesystem-object-storage';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { base64Of, jpegImage, pngImage, type FixtureImage } from '../fixtures/images';
import { FakeAiServer } from '../support/ai-server/fake-ai-server';
import { bearer, filesUnder, registerSubject, startTestApp, type TestApp } from '../support/test-app';

type Subject = Awaited<ReturnType<typeof registerSubject>>;

async function grantConsent(t: TestApp, subject: Subject, purpose: string): Promise<void> {
  const res = await t.http().put(`/v1/me/consents/${purpose}`).set(bearer(subject.token)).send({ policyVersion: t.config.policyVersion });
  if (res.status !== 200) throw new Error(`consent failed: ${res.status} ${JSON.stringify(res.body)}`);
}

async function upload(t: TestApp, subject: Subject, image: FixtureImage, purpose: string, faces = [{ x: 4, y: 4, width: 16, height: 16 }]): Promise<string> {
  const res = await t
    .http()
    .post('/v1/images')
    .set(bearer(subject.token))
    .send({ imageBase64: base64Of(image), contentType: image.contentType, purpose, faces });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.imageId as string;
}

/** Runs every runnable job, then lets the projections and the temp-file saga finish. */
async function runWorker(t: TestApp): Promise<void> {
  await t.app.get(ProcessingWorker).drain();
  await settleAll(t);
}

async function settleAll(t: TestApp): Promise<void> {
  const saga = t.app.get(TempFilesSaga);
  for (let i = 0; i < 3; i++) {
    await t.settle();
    await saga.whenIdle();
  }
}

function tmpFiles(t: TestApp): string[] {
  const dir = join(t.dataDir, 'objects', 'tmp');
  return existsSync(dir) ? filesUnder(dir) : [];
}

function objectFiles(t: TestApp): string[] {
  const dir = join(t.dataDir, 'objects');
  return existsSync(dir) ? filesUnder(dir).sort() : [];
}

const notOplog = (events: StoredEvent[]) => events.filter((e) => !e.stream.startsWith('oplog-'));
const typesOf = (events: StoredEvent[]) => events.map((e) => e.type);

async function queue(t: TestApp, subject: Subject, imageId: string, body: Record<string, unknown>, key?: string) {
  const req = t.http().post(`/v1/images/${imageId}/jobs`).set(bearer(subject.token));
  if (key) req.set('Idempotency-Key', key);
  return req.send(body);
}

describe('processing jobs (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  for (const kind of ['jpeg', 'png'] as const) {
    it(`photo-enlarge of a ${kind.toUpperCase()}: 202 queued, worker runs it, the job completes with an artwork twice the size, temp files gone`, async () => {
      const subject = await registerSubject(t);
      await grantConsent(t, subject, 'photo-enlarge');
      const image = kind === 'jpeg' ? await jpegImage(64, 48) : await pngImage(40, 30);
      const imageId = await upload(t, subject, image, 'photo-enlarge');

      const beforeQueue = await t.mark();
      const queued = await queue(t, subject, imageId, { purpose: 'photo-enlarge' });
      expect(queued.status).toBe(202);
      expect(queued.body).toEqual({ jobId: expect.any(String), status: 'queued' });
      const jobId = queued.body.jobId as string;
      const queueEvents = await t.eventsSince(beforeQueue);
      expect(typesOf(queueEvents)).toEqual(['JobQueued']);
      expect(queueEvents[0].stream).toBe(`job-${jobId}`);
      expect(queueEvents[0].data).toMatchObject({ jobId, imageId, subjectId: subject.subjectId, purpose: 'photo-enlarge' });
      expect(JSON.stringify(queueEvents[0].data.options)).toContain('$pii'); // options are personal: encrypted

      const pending = await t.http().get(`/v1/jobs/${jobId}`).set(bearer(subject.token));
      expect(pending.status).toBe(200);
      expect(pending.body).toEqual({ jobId, imageId, purpose: 'photo-enlarge', status: 'queued' });

      const beforeRun = await t.mark();
      await runWorker(t);

      const done = await t.http().get(`/v1/jobs/${jobId}`).set(bearer(subject.token));
      expect(done.status).toBe(200);
      expect(done.body).toEqual({ jobId, imageId, purpose: 'photo-enlarge', status: 'completed', artworkId: expect.any(String) });
      const artworkId = done.body.artworkId as string;

      const events = await t.eventsSince(beforeRun);
      expect(typesOf(notOplog(events))).toEqual([
        'JobStarted',
        'TempFileCreated',
        'DataDisclosedToProcessor',
        'TempFileCreated',
        'ArtworkGenerated',
        'JobCompleted',
        'TempFileDeleted',
        'TempFileDeleted',
      ]);
      const [started, input, disclosure, intermediate, generated, completed, ...deleted] = notOplog(events);
      expect(started.data).toMatchObject({ attempt: 1, worker: t.config.instanceId });
      expect(input.data).toMatchObject({ kind: 'input', objectKey: objectKeys.temp(subject.subjectId, jobId, 'input'), size: image.bytes.length });
      expect(disclosure.data).toEqual({
        jobId,
        subjectId: subject.subjectId,
        imageId,
        processor: 'local-sharp',
        purpose: 'photo-enlarge',
        objectSha256: createHash('sha256').update(image.bytes).digest('hex'),
        bytes: image.bytes.length,
      });
      expect(typeof disclosure.metadata.occurredAt).toBe('string');
      expect(intermediate.data).toMatchObject({ kind: 'intermediate' });
      expect(generated.stream).toBe(`artwork-${artworkId}`);
      expect(generated.data).toMatchObject({ artworkId, jobId, imageId, width: image.width * 2, height: image.height * 2, contentType: image.contentType });
      expect(completed.data).toMatchObject({ jobId, artworkId });
      expect(deleted.map((e) => e.data.objectKey).sort()).toEqual([input.data.objectKey, intermediate.data.objectKey].sort());
      expect(deleted.every((e) => e.data.reason === 'retention' && e.data.rule === 'temp-files')).toBe(true);
      const oplog = events.filter((e) => e.stream === `oplog-${subject.subjectId}`);
      expect(oplog.map((e) => [e.type, e.data.step])).toEqual([
        ['ProcessingLogged', 'started'],
        ['ProcessingLogged', 'completed'],
      ]);

      expect(tmpFiles(t)).toEqual([]);
      const artwork = await t.app.get(EncryptedObjects).get(subject.subjectId, objectKeys.artwork(subject.subjectId, artworkId));
      const meta = await sharp(artwork).metadata();
      expect(meta.format).toBe(kind);
      expect([meta.width, meta.height]).toEqual([image.width * 2, image.height * 2]);
    });
  }

  it('ai-edit without AI_PROCESSOR_URL: the job fails with PROCESSOR_UNSUPPORTED and nothing is handed over', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'ai-edit');
    const imageId = await upload(t, subject, await jpegImage(), 'ai-edit');
    const jobId = (await queue(t, subject, imageId, { purpose: 'ai-edit', options: { prompt: 'warmer light' } })).body.jobId as string;
    const mark = await t.mark();
    await runWorker(t);
    expect(typesOf(notOplog(await t.eventsSince(mark)))).toEqual(['JobStarted', 'JobFailed']);
    const res = await t.http().get(`/v1/jobs/${jobId}`).set(bearer(subject.token));
    expect(res.body).toEqual({ jobId, imageId, purpose: 'ai-edit', status: 'failed', error: { code: 'PROCESSOR_UNSUPPORTED', message: expect.any(String) } });
  });

  it('consent withdrawn before the worker runs: the job is cancelled and nothing is disclosed', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'photo-restore');
    const imageId = await upload(t, subject, await jpegImage(), 'photo-restore');
    const jobId = (await queue(t, subject, imageId, { purpose: 'photo-restore' })).body.jobId as string;
    const mark = await t.mark();
    const withdrawn = await t.http().delete('/v1/me/consents/photo-restore').set(bearer(subject.token));
    expect(withdrawn.status).toBe(200);
    await runWorker(t);
    const events = await t.eventsSince(mark);
    const jobEvents = events.filter((e) => e.stream === `job-${jobId}`);
    expect(jobEvents.map((e) => [e.type, e.data.reason])).toEqual([['JobCancelled', 'consent-withdrawn']]);
    expect(events.some((e) => e.type === 'DataDisclosedToProcessor' || e.type === 'JobStarted')).toBe(false);
    const res = await t.http().get(`/v1/jobs/${jobId}`).set(bearer(subject.token));
    expect(res.body).toMatchObject({ jobId, status: 'cancelled' });
  });

  it('consent withdrawn behind the API’s back (no cancellation): the worker itself cancels at start', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'photo-restore');
    const imageId = await upload(t, subject, await jpegImage(), 'photo-restore');
    const jobId = (await queue(t, subject, imageId, { purpose: 'photo-restore' })).body.jobId as string;
    const log = t.app.get(EventLog);
    const withdrawal: { type: typeof ConsentWithdrawn.type; data: { subjectId: string; purpose: 'photo-restore'; policyVersion: string } } = {
      type: ConsentWithdrawn.type,
      data: { subjectId: subject.subjectId, purpose: 'photo-restore', policyVersion: t.config.policyVersion },
    };
    await log.append(streams.subject(subject.subjectId), [withdrawal], 'any', { actor: `subject:${subject.subjectId}`, correlationId: 'test', causationId: null });
    await settleAll(t);
    const mark = await t.mark();
    await runWorker(t);
    const events = await t.eventsSince(mark);
    expect(notOplog(events).map((e) => [e.type, e.data.reason])).toEqual([['JobCancelled', 'consent-withdrawn']]);
    expect((await t.http().get(`/v1/jobs/${jobId}`).set(bearer(subject.token))).body.status).toBe('cancelled');
  });

  it('an Idempotency-Key replay answers the same 202 and appends nothing; a different body with it is 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'photo-enlarge');
    const imageId = await upload(t, subject, await pngImage(), 'photo-enlarge');
    const first = await queue(t, subject, imageId, { purpose: 'photo-enlarge' }, 'job-key-1');
    expect(first.status).toBe(202);
    const mark = await t.mark();
    const again = await queue(t, subject, imageId, { purpose: 'photo-enlarge' }, 'job-key-1');
    expect([again.status, again.body]).toEqual([202, first.body]);
    const reused = await queue(t, subject, imageId, { purpose: 'photo-enlarge', options: { x: 1 } }, 'job-key-1');
    expect([reused.status, reused.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect(await t.eventsSince(mark)).toEqual([]);
    await runWorker(t);
  });

  it('the OpenAPI document describes both job endpoints, their fields and error codes', async () => {
    const doc = (await t.http().get('/docs-json')).body;
    const post = doc.paths['/v1/images/{imageId}/jobs'].post;
    expect(Object.keys(post.responses).sort()).toEqual(expect.arrayContaining(['202', '400', '401', '404', '410', '422', '503']));
    for (const code of ['PURPOSE_NOT_ALLOWED', 'CONSENT_REQUIRED', 'PURPOSE_RESTRICTED', 'NO_FACE_DETECTED', 'BIOMETRIC_TEMPLATE_REJECTED', 'IDEMPOTENCY_KEY_REUSED']) {
      expect(post.responses['422'].description).toContain(code);
    }
    expect(post.responses['410'].description).toContain('IMAGE_DELETED');
    const get = doc.paths['/v1/jobs/{jobId}'].get;
    expect(get.responses['404'].description).toContain('JOB_NOT_FOUND');
    expect(Object.keys(doc.components.schemas.JobRecordDto.properties).sort()).toEqual(['artworkId', 'error', 'imageId', 'jobId', 'purpose', 'status']);
    expect(Object.keys(doc.components.schemas.QueueJobDto.properties).sort()).toEqual(['options', 'purpose']);
  });

  describe('refusals append nothing and write no object', () => {
    let subject: Subject;
    let other: Subject;
    let imageId: string;
    let faceless: string;

    beforeAll(async () => {
      subject = await registerSubject(t);
      other = await registerSubject(t);
      await grantConsent(t, subject, 'photo-enlarge');
      await grantConsent(t, subject, 'erase-pen');
      await grantConsent(t, other, 'photo-enlarge');
      imageId = await upload(t, subject, await jpegImage(), 'photo-enlarge');
      faceless = await upload(t, subject, await pngImage(), 'erase-pen', []);
    });

    const refusals: [string, () => { imageId: () => string; who: () => Subject; body: Record<string, unknown> }, number, string][] = [
      ['an unknown image', () => ({ imageId: () => '0b7c1f0e-6f1c-4b8e-9d5e-1f2a3b4c5d6e', who: () => subject, body: { purpose: 'photo-enlarge' } }), 404, 'IMAGE_NOT_FOUND'],
      ['another subject’s image', () => ({ imageId: () => imageId, who: () => other, body: { purpose: 'photo-enlarge' } }), 404, 'IMAGE_NOT_FOUND'],
      ['a purpose outside the six', () => ({ imageId: () => imageId, who: () => subject, body: { purpose: 'marketing' } }), 422, 'PURPOSE_NOT_ALLOWED'],
      ['a purpose without consent', () => ({ imageId: () => imageId, who: () => subject, body: { purpose: 'photo-restore' } }), 422, 'CONSENT_REQUIRED'],
      ['a faceless image for a face purpose', () => ({ imageId: () => faceless, who: () => subject, body: { purpose: 'photo-enlarge' } }), 422, 'NO_FACE_DETECTED'],
      [
        'a biometric template in the options',
        () => ({ imageId: () => imageId, who: () => subject, body: { purpose: 'photo-enlarge', options: { faceEmbedding: [0.1, 0.2] } } }),
        422,
        'BIOMETRIC_TEMPLATE_REJECTED',
      ],
      ['an unknown field', () => ({ imageId: () => imageId, who: () => subject, body: { purpose: 'photo-enlarge', priority: 'high' } }), 400, 'UNKNOWN_FIELD'],
      ['options that are not an object', () => ({ imageId: () => imageId, who: () => subject, body: { purpose: 'photo-enlarge', options: [1, 2] } }), 400, 'VALIDATION_FAILED'],
      ['a missing purpose', () => ({ imageId: () => imageId, who: () => subject, body: {} }), 400, 'VALIDATION_FAILED'],
      ['a malformed image id', () => ({ imageId: () => 'not-a-uuid', who: () => subject, body: { purpose: 'photo-enlarge' } }), 400, 'INVALID_ID'],
    ];

    for (const [what, make, status, code] of refusals) {
      it(`${what}: ${status} ${code}`, async () => {
        const { imageId: id, who, body } = make();
        const objectsBefore = objectFiles(t);
        const mark = await t.mark();
        const res = await queue(t, who(), id(), body);
        expect(res.status).toBe(status);
        expect(res.body.code).toBe(code);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(await t.eventsSince(mark)).toEqual([]);
        expect(objectFiles(t)).toEqual(objectsBefore);
      });
    }

    it('a restricted purpose: 422 PURPOSE_RESTRICTED', async () => {
      expect((await t.http().put('/v1/me/restrictions/photo-enlarge').set(bearer(subject.token)).send()).status).toBe(200);
      const objectsBefore = objectFiles(t);
      const mark = await t.mark();
      const res = await queue(t, subject, imageId, { purpose: 'photo-enlarge' });
      expect([res.status, res.body.code]).toEqual([422, 'PURPOSE_RESTRICTED']);
      expect(await t.eventsSince(mark)).toEqual([]);
      expect(objectFiles(t)).toEqual(objectsBefore);
      expect((await t.http().delete('/v1/me/restrictions/photo-enlarge').set(bearer(subject.token))).status).toBe(200);
    });

    it('a deleted original: 410 IMAGE_DELETED', async () => {
      const doomed = await upload(t, subject, await jpegImage(), 'photo-enlarge');
      expect((await t.http().delete(`/v1/images/${doomed}`).set(bearer(subject.token))).status).toBe(204);
      await settleAll(t);
      const objectsBefore = objectFiles(t);
      const mark = await t.mark();
      const res = await queue(t, subject, doomed, { purpose: 'photo-enlarge' });
      expect([res.status, res.body.code]).toEqual([410, 'IMAGE_DELETED']);
      expect(await t.eventsSince(mark)).toEqual([]);
      expect(objectFiles(t)).toEqual(objectsBefore);
    });

    it('GET /v1/jobs/{id}: 404 JOB_NOT_FOUND for an unknown job and for another subject’s', async () => {
      const jobId = (await queue(t, subject, imageId, { purpose: 'photo-enlarge' })).body.jobId as string;
      const mine = await t.http().get(`/v1/jobs/${jobId}`).set(bearer(subject.token));
      expect(mine.status).toBe(200);
      const theirs = await t.http().get(`/v1/jobs/${jobId}`).set(bearer(other.token));
      expect([theirs.status, theirs.body.code]).toEqual([404, 'JOB_NOT_FOUND']);
      const unknown = await t.http().get('/v1/jobs/0b7c1f0e-6f1c-4b8e-9d5e-1f2a3b4c5d6e').set(bearer(subject.token));
      expect([unknown.status, unknown.body.code]).toEqual([404, 'JOB_NOT_FOUND']);
      const anonymous = await t.http().get(`/v1/jobs/${jobId}`);
      expect(anonymous.status).toBe(401);
      await runWorker(t);
    });
  });
});

describe('processing jobs with the AI server (e2e)', () => {
  const ai = new FakeAiServer();
  let t: TestApp;
  beforeAll(async () => {
    const url = await ai.start();
    t = await startTestApp({ env: { AI_PROCESSOR_URL: url } });
  });
  afterAll(async () => {
    await t.close();
    await ai.stop();
  });

  it('ai-edit with AI_PROCESSOR_URL completes, and the disclosure names the AI server', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'ai-edit');
    const image = await jpegImage(48, 32);
    const imageId = await upload(t, subject, image, 'ai-edit');
    const jobId = (await queue(t, subject, imageId, { purpose: 'ai-edit' })).body.jobId as string;
    const mark = await t.mark();
    await runWorker(t);
    const res = await t.http().get(`/v1/jobs/${jobId}`).set(bearer(subject.token));
    expect(res.body).toEqual({ jobId, imageId, purpose: 'ai-edit', status: 'completed', artworkId: expect.any(String) });
    const events = notOplog(await t.eventsSince(mark));
    expect(typesOf(events)).toEqual(['JobStarted', 'TempFileCreated', 'DataDisclosedToProcessor', 'ArtworkGenerated', 'JobCompleted', 'TempFileDeleted']);
    expect(events[2].data.processor).toMatch(/^ai-server:127\.0\.0\.1:\d+$/);
    expect(ai.requests.filter((r) => r.answeredStatus === 200)).toHaveLength(1);
    const artwork = await t.app.get(EncryptedObjects).get(subject.subjectId, objectKeys.artwork(subject.subjectId, res.body.artworkId));
    expect((await sharp(artwork).metadata()).width).toBe(48);
    expect(tmpFiles(t)).toEqual([]);
  });
});

describe('processing jobs across restarts and instances (e2e)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('a job whose worker died (JobStarted, lease expired) is resumed by a fresh app on the same DATA_DIR and completes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pm-e2e-jobs-restart-'));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const clock = new ManualClock('2026-03-02T02:00:00.000Z');
    const first = await startTestApp({ dataDir, clock, env: { INSTANCE_ID: 'instance-1' } });
    const subject = await registerSubject(first);
    await grantConsent(first, subject, 'photo-enlarge');
    const image = await jpegImage(32, 24);
    const imageId = await upload(first, subject, image, 'photo-enlarge');
    const jobId = (await queue(first, subject, imageId, { purpose: 'photo-enlarge' })).body.jobId as string;
    // instance-1 claims the job and dies before anything else.
    const log = first.app.get(EventLog);
    const loaded = await log.load(streams.job(jobId));
    const leaseUntil = new Date(clock.now().getTime() + first.config.processing.leaseMs).toISOString();
    await log.append(
      streams.job(jobId),
      [{ type: 'JobStarted', data: { jobId, subjectId: subject.subjectId, imageId, purpose: 'photo-enlarge', attempt: 1, worker: 'instance-1', leaseUntil } }],
      loaded.revision,
      { actor: 'system:processing', correlationId: 'crash', causationId: null },
    );
    await first.settle();
    await first.close();

    const second = await startTestApp({ dataDir, clock, env: { INSTANCE_ID: 'instance-2' } });
    cleanup.push(() => second.close());
    const token = (await second.http().post('/v1/devices/token').send({ deviceId: subject.deviceId, deviceSecret: subject.deviceSecret })).body.accessToken as string;
    expect((await second.app.get(ProcessingWorker).drain()).completed).toBe(0); // the lease still holds
    expect((await second.http().get(`/v1/jobs/${jobId}`).set(bearer(token))).body.status).toBe('running');

    clock.advance(second.config.processing.leaseMs + 1);
    const mark = await second.mark();
    await runWorker(second);
    const events = notOplog(await second.eventsSince(mark));
    expect(typesOf(events)).toEqual(['JobStarted', 'TempFileCreated', 'DataDisclosedToProcessor', 'TempFileCreated', 'ArtworkGenerated', 'JobCompleted', 'TempFileDeleted', 'TempFileDeleted']);
    expect(events[0].data).toMatchObject({ attempt: 2, worker: 'instance-2' });
    const res = await second.http().get(`/v1/jobs/${jobId}`).set(bearer(token));
    expect(res.body).toMatchObject({ jobId, status: 'completed', artworkId: expect.any(String) });
    expect(tmpFiles(second)).toEqual([]);
  });

  it('two instances sharing the log, objects and keys race on one job: one JobStarted, one JobCompleted', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'pm-e2e-jobs-shared-'));
    cleanup.push(async () => rmSync(shared, { recursive: true, force: true }));
    const clock = new ManualClock('2026-03-02T02:00:00.000Z');
    const store = new SqliteEventStore({ file: join(shared, 'events.db'), clock, pollIntervalMs: 20 });
    const keyStore = new SqliteKeyStore({ masterKey: masterKeyFromBytes(randomBytes(32)), dataDir: shared, clock });
    const objectStorage = new FilesystemObjectStorage({ root: join(shared, 'objects') });
    cleanup.push(async () => {
      await store.close();
      await keyStore.close();
    });
    const overrides = { eventStore: store, keyStore, objectStorage };
    const tokenSecret = randomBytes(32).toString('hex');
    const a = await startTestApp({ clock, overrides, env: { INSTANCE_ID: 'instance-a', TOKEN_SECRET: tokenSecret } });
    cleanup.push(() => a.close());
    const b = await startTestApp({ clock, overrides, env: { INSTANCE_ID: 'instance-b', TOKEN_SECRET: tokenSecret } });
    cleanup.push(() => b.close());

    const subject = await registerSubject(a);
    await grantConsent(a, subject, 'photo-enlarge');
    const imageId = await upload(a, subject, await pngImage(24, 24), 'photo-enlarge');
    const jobId = (await queue(a, subject, imageId, { purpose: 'photo-enlarge' })).body.jobId as string;
    await a.settle();
    await b.settle();

    const [ra, rb] = await Promise.all([a.app.get(ProcessingWorker).runOnce(), b.app.get(ProcessingWorker).runOnce()]);
    expect([...ra.outcomes, ...rb.outcomes].sort()).toEqual(['completed', 'skipped']);
    await settleAll(a);
    await settleAll(b);
    const types: string[] = [];
    for await (const event of store.readStream(streams.job(jobId))) types.push(event.type);
    expect(types.filter((type) => type === 'JobStarted')).toHaveLength(1);
    expect(types.filter((type) => type === 'JobCompleted')).toHaveLength(1);
    expect(types.filter((type) => type === 'TempFileDeleted')).toHaveLength(2);
    for (const instance of [a, b]) {
      const res = await instance.http().get(`/v1/jobs/${jobId}`).set(bearer(subject.token));
      expect(res.body).toMatchObject({ status: 'completed' });
    }
    let tmpLeft = 0;
    for await (const _ of objectStorage.list('tmp/')) tmpLeft++;
    expect(tmpLeft).toBe(0);
  });
});
