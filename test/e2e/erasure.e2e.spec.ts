/**
 * The data subject's rights end to end, ending in account erasure ("Done when" of issue 6):
 * register, consent, upload, process, export (the exact original bytes and the history), access,
 * correction and restriction requests (each recorded and answered), then DELETE /v1/me. Afterwards
 * the old token is 401 everywhere, the same device registers again as a new subject, and nothing
 * under DATA_DIR holds the device id, any run of the image's bytes or the face boxes in clear,
 * while the auditors still see the non-personal skeleton with personal fields "[shredded]".
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streams } from '../../src/events/streams';
import { KeyStore } from '../../src/modules/crypto/key-store.port';
import { EventLog } from '../../src/modules/event-store/event-log';
import { EncryptedObjects } from '../../src/modules/facial-data/encrypted-objects';
import { StreamDeletedError } from '../../src/modules/event-store/event-store.errors';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { ObjectStorage, ObjectStorageUnavailableError } from '../../src/modules/object-storage/object-storage.port';
import { RightsScheduler } from '../../src/modules/subject-rights/mark-overdue/rights-scheduler';
import { binary } from '../fixtures/binary-body';
import { containsRunOf, jpegImage } from '../fixtures/images';
import { readZip } from '../support/rights-zip-reader';
import { auditor, FACE, grantConsent, job, queueJob, runWorker, typesOf, upload, withoutOplog } from '../support/rights-fixtures';
import { bearer, filesContaining, filesUnder, registerSubject, startTestApp, type TestApp } from '../support/test-app';

async function objectsUnder(t: TestApp, subjectId: string): Promise<string[]> {
  const storage = t.app.get(ObjectStorage);
  const keys: string[] = [];
  for (const prefix of objectKeys.subjectPrefixes(subjectId)) for await (const info of storage.list(prefix)) keys.push(info.key);
  return keys;
}

async function streamEvents(t: TestApp, stream: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const event of t.store.readStream(stream)) out.push(event);
  return out;
}

describe('data subject rights and account erasure (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('register, consent, upload, process, export, access, correction, restriction, then DELETE /v1/me: everything gone, the skeleton kept', async () => {
    const deviceId = `device-${randomUUID()}`;
    const subject = await registerSubject(t, deviceId);
    await grantConsent(t, subject, 'erase-pen');
    const image = await jpegImage(64, 48);
    const imageId = await upload(t, subject, image, 'erase-pen', [FACE]);
    const jobId = await queueJob(t, subject, imageId, 'erase-pen', { regions: [{ x: 2, y: 2, width: 8, height: 8 }] });
    await runWorker(t);
    const firstJob = await job(t, subject, jobId);
    expect(firstJob.status).toBe('completed');
    const firstArtwork = firstJob.artworkId as string;

    // Export: a zip with the exact original, the artwork and the JSON documents; recorded before it is sent.
    const beforeExport = await t.mark();
    const exported = await t.http().get('/v1/me/export').set(bearer(subject.token)).buffer(true).parse(binary);
    expect(exported.status).toBe(200);
    expect(exported.headers['content-type']).toBe('application/zip');
    expect(exported.headers['content-length']).toBeUndefined(); // streamed, not buffered
    expect(exported.headers['transfer-encoding']).toBe('chunked');
    const zip = readZip(exported.body as Buffer);
    expect([...zip.keys()].sort()).toEqual(
      [`originals/${imageId}.jpg`, `artworks/${firstArtwork}.jpg`, 'history.json', 'consents.json', 'access-log.json', 'requests.json'].sort(),
    );
    expect(zip.get(`originals/${imageId}.jpg`)?.data.equals(image.bytes)).toBe(true);
    expect(zip.get(`originals/${imageId}.jpg`)?.method).toBe('stored');
    const history = JSON.parse(zip.get('history.json')?.data.toString('utf8') ?? '{}') as { events: { type: string; resource: string; detail: Record<string, unknown> }[] };
    const uploaded = history.events.find((e) => e.type === 'ImageUploaded');
    expect(uploaded?.resource).toBe(`image:${imageId}`);
    expect(uploaded?.detail.faces).toEqual([FACE]);
    expect(history.events.map((e) => e.type)).toEqual(expect.arrayContaining(['SubjectRegistered', 'ConsentGranted', 'JobQueued', 'JobCompleted', 'ArtworkGenerated', 'DataExported']));
    const consents = JSON.parse(zip.get('consents.json')?.data.toString('utf8') ?? '{}') as { consents: { purpose: string; granted: boolean }[] };
    expect(consents.consents.find((c) => c.purpose === 'erase-pen')?.granted).toBe(true);
    const accessLog = JSON.parse(zip.get('access-log.json')?.data.toString('utf8') ?? '{}') as { accesses: { resource: string; purpose: string }[] };
    expect(accessLog.accesses).toEqual(expect.arrayContaining([expect.objectContaining({ resource: `image:${imageId}`, purpose: 'data-export' })]));
    const exportEvents = await t.eventsSince(beforeExport);
    expect(exportEvents.map((e) => `${e.type}@${e.stream.split('-')[0]}`)).toEqual([
      'RightsRequestReceived@request',
      'DataExported@request',
      'RightsRequestFulfilled@request',
      'ImageViewed@image',
      'ArtworkViewed@artwork',
    ]);
    const exportRequestId = exported.headers['x-request-record'] as string;
    expect(exportEvents[0].stream).toBe(`request-${exportRequestId}`);
    expect(exportEvents[0].data).toMatchObject({ type: 'export', needsDecision: false });
    expect(exportEvents[1].data).toMatchObject({ images: 1, artworks: 1 });
    expect(exportEvents[3].data).toMatchObject({ imageId, purpose: 'data-export', dataPurpose: 'erase-pen' });

    // Access: answered at once with a history snapshot.
    const beforeAccess = await t.mark();
    const access = await t.http().post('/v1/me/requests').set(bearer(subject.token)).send({ type: 'access' });
    expect(access.status).toBe(201);
    expect(access.body).toMatchObject({ type: 'access', status: 'fulfilled', needsDecision: false, overdue: false, outcome: { action: 'history-snapshot', href: '/v1/me/history' } });
    expect(typesOf(await t.eventsSince(beforeAccess))).toEqual(['RightsRequestReceived', 'RightsRequestProcessingStarted', 'RightsRequestFulfilled']);

    // Correction with corrected options: the job re-run; the superseded artwork deleted when it completes.
    const beforeCorrection = await t.mark();
    const correction = await t
      .http()
      .post('/v1/me/requests')
      .set(bearer(subject.token))
      .send({ type: 'correction', resource: `job:${jobId}`, options: { regions: [{ x: 20, y: 10, width: 10, height: 9 }] } });
    expect(correction.status).toBe(201);
    expect(correction.body).toMatchObject({ type: 'correction', status: 'in-progress', resource: `job:${jobId}` });
    const correctionId = correction.body.requestId as string;
    const queued = await t.eventsSince(beforeCorrection);
    expect(typesOf(queued)).toEqual(['RightsRequestReceived', 'RightsRequestProcessingStarted', 'JobQueued']);
    expect(queued[2].data).toMatchObject({ imageId, purpose: 'erase-pen', correctionOf: jobId, requestId: correctionId });
    const rerunId = queued[2].data.jobId as string;
    const beforeRerun = await t.mark();
    await runWorker(t);
    const rerun = await job(t, subject, rerunId);
    expect(rerun.status).toBe('completed');
    const answered = withoutOplog(await t.eventsSince(beforeRerun));
    const answeredTypes = typesOf(answered);
    expect(answeredTypes.filter((type) => type === 'ArtworkDeleted' || type === 'RightsRequestFulfilled')).toEqual(['ArtworkDeleted', 'RightsRequestFulfilled']);
    expect(answeredTypes.indexOf('JobCompleted')).toBeLessThan(answeredTypes.indexOf('ArtworkDeleted'));
    const superseded = answered.find((e) => e.type === 'ArtworkDeleted');
    expect(superseded?.data).toMatchObject({ artworkId: firstArtwork, reason: 'superseded', requestId: correctionId });
    const corrected = await t.http().get(`/v1/me/requests/${correctionId}`).set(bearer(subject.token));
    expect(corrected.body).toMatchObject({
      status: 'fulfilled',
      outcome: { action: 'reprocessed', jobId: rerunId, correctedJobId: jobId, artworkId: rerun.artworkId, supersededArtworkId: firstArtwork },
    });
    expect((await t.http().get(`/v1/artworks/${firstArtwork}/content`).set(bearer(subject.token))).status).toBe(410);

    // Restriction of a purpose: ProcessingRestricted answering the request.
    const beforeRestriction = await t.mark();
    const restriction = await t.http().post('/v1/me/requests').set(bearer(subject.token)).send({ type: 'restriction', resource: 'purpose:ai-edit' });
    expect(restriction.status).toBe(201);
    expect(restriction.body).toMatchObject({ status: 'fulfilled', outcome: { action: 'processing-restricted', purpose: 'ai-edit' } });
    const restricted = await t.eventsSince(beforeRestriction);
    expect(typesOf(restricted)).toEqual(['RightsRequestReceived', 'RightsRequestProcessingStarted', 'ProcessingRestricted', 'RightsRequestFulfilled']);
    expect(restricted[2].data).toEqual({ subjectId: subject.subjectId, purpose: 'ai-edit', requestId: restriction.body.requestId });
    const consentsNow = await t.http().get('/v1/me/consents').set(bearer(subject.token));
    expect(consentsNow.body.consents.find((c: { purpose: string }) => c.purpose === 'ai-edit')).toMatchObject({ restricted: true });

    const mine = await t.http().get('/v1/me/requests').set(bearer(subject.token));
    expect(mine.body.requests.map((r: { type: string; status: string }) => `${r.type}:${r.status}`)).toEqual([
      'export:fulfilled',
      'access:fulfilled',
      'correction:fulfilled',
      'restriction:fulfilled',
    ]);

    // Account erasure.
    const secondArtwork = rerun.artworkId as string;
    expect((await objectsUnder(t, subject.subjectId)).sort()).toEqual([objectKeys.artwork(subject.subjectId, secondArtwork), objectKeys.original(subject.subjectId, imageId)].sort());
    const beforeErasure = await t.mark();
    const erased = await t.http().delete('/v1/me').set(bearer(subject.token));
    expect(erased.status).toBe(200);
    expect(erased.body).toEqual({
      erasureReceipt: { subjectId: subject.subjectId, erasedAt: t.clock.now().toISOString(), objectsDeleted: 2, keyDestroyed: true, receiptId: expect.any(String) },
    });
    const receiptId = erased.body.erasureReceipt.receiptId as string;
    const erasure = await t.eventsSince(beforeErasure);
    expect(erasure.map((e) => `${e.type}@${e.stream.split('-')[0]}`)).toEqual([
      'SubjectErasureStarted@subject',
      'ImageDeleted@image',
      'ArtworkDeleted@artwork',
      'DeviceReleased@device',
      'SubjectErased@subject',
    ]);
    expect(erasure[0].data).toEqual({ subjectId: subject.subjectId, receiptId });
    expect(erasure[1].data).toMatchObject({ imageId, reason: 'erasure', purpose: 'erase-pen' });
    expect(erasure[2].data).toMatchObject({ artworkId: secondArtwork, reason: 'erasure' });
    expect(erasure[3].data).toMatchObject({ subjectId: subject.subjectId, reason: 'erasure' });
    expect(erasure[4].data).toEqual({
      subjectId: subject.subjectId,
      receiptId,
      erasedAt: t.clock.now().toISOString(),
      objectsDeleted: 2,
      imagesDeleted: 1,
      artworksDeleted: 1,
      tempFilesDeleted: 0,
      exportsDeleted: 0,
      jobsCancelled: 0,
      keyDestroyed: true,
      operationLogTombstoned: true,
    });
    expect(await objectsUnder(t, subject.subjectId)).toEqual([]);
    expect(await t.app.get(KeyStore).isDestroyed(subject.subjectId)).toBe(true);
    await expect(streamEvents(t, streams.oplog(subject.subjectId))).rejects.toBeInstanceOf(StreamDeletedError);

    // The old token is dead everywhere.
    for (const [method, path] of [
      ['get', '/v1/images'],
      ['get', `/v1/images/${imageId}/content`],
      ['get', `/v1/artworks/${secondArtwork}/content`],
      ['get', '/v1/me/requests'],
      ['get', '/v1/me/export'],
      ['get', '/v1/me/history'],
      ['delete', '/v1/me'],
    ] as const) {
      const res = await t.http()[method](path).set(bearer(subject.token));
      expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 401, code: 'UNAUTHORIZED' });
    }

    // The same device registers again, as a new subject.
    const again = await registerSubject(t, deviceId);
    expect(again.subjectId).not.toBe(subject.subjectId);
    expect((await t.http().get('/v1/images').set(bearer(again.token))).body).toEqual({ images: [] });

    // Auditors keep the skeleton; personal fields read "[shredded]".
    const audit = await t.http().get(`/v1/audit/subjects/${subject.subjectId}/history`).set(auditor());
    expect(audit.status).toBe(200);
    const entries = audit.body.events as { type: string; resource: string; detail: Record<string, unknown>; purpose?: string }[];
    expect(entries.map((e) => e.type)).toEqual(expect.arrayContaining(['SubjectRegistered', 'ImageUploaded', 'JobCompleted', 'ImageDeleted', 'SubjectErasureStarted', 'SubjectErased']));
    const uploadedEntry = entries.find((e) => e.type === 'ImageUploaded');
    expect(uploadedEntry?.resource).toBe(`image:${imageId}`);
    expect(uploadedEntry?.detail).toMatchObject({ faces: '[shredded]', purpose: 'erase-pen', faceCount: 1 });
    expect(entries.find((e) => e.type === 'JobQueued')?.detail.options).toBe('[shredded]');
    const auditRequests = await t.http().get('/v1/audit/requests').set(auditor());
    expect(auditRequests.body.requests.filter((r: { subjectId: string }) => r.subjectId === subject.subjectId)).toHaveLength(4);

    // Nothing under DATA_DIR holds the device id, the image or the face boxes in clear.
    await t.settle();
    expect(filesContaining(t.dataDir, deviceId)).toEqual([]);
    for (const fragment of ['"width":13.75', '"height":17.125', '"x":7.25', JSON.stringify(FACE)]) expect(filesContaining(t.dataDir, fragment)).toEqual([]);
    const files = filesUnder(t.dataDir);
    expect(files.map((file) => basename(file))).toEqual(expect.arrayContaining(['events.db', 'keys.db', 'readmodels.db']));
    for (const file of files) expect({ file, found: containsRunOf(readFileSync(file), image.bytes) }).toEqual({ file, found: false });
  });

  it('two concurrent DELETE /v1/me: one erasure, exactly one SubjectErased, the same receipt', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'photo-enlarge');
    await upload(t, subject, await jpegImage(40, 30), 'photo-enlarge');
    const [a, b] = await Promise.all([
      t.http().delete('/v1/me').set(bearer(subject.token)),
      t.http().delete('/v1/me').set(bearer(subject.token)),
    ]);
    const ok = [a, b].filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of [a, b]) expect([200, 401]).toContain(r.status);
    if (ok.length === 2) expect(ok[0].body).toEqual(ok[1].body);
    const events = await streamEvents(t, streams.subject(subject.subjectId));
    expect(events.filter((e) => e.type === 'SubjectErased')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'SubjectErasureStarted')).toHaveLength(1);
  });

  it('object storage down half-way: 503 ERASURE_IN_PROGRESS with the receipt id, the token dead, the sweep completes it once storage answers', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'photo-enlarge');
    await upload(t, subject, await jpegImage(40, 30), 'photo-enlarge');
    const storage = t.app.get(ObjectStorage);
    const remove = storage.delete.bind(storage);
    let down = true;
    storage.delete = async (key: string) => {
      if (down) throw new ObjectStorageUnavailableError('object storage is down (test)');
      return remove(key);
    };
    try {
      const res = await t.http().delete('/v1/me').set(bearer(subject.token));
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toMatchObject({ code: 'ERASURE_IN_PROGRESS', subjectId: subject.subjectId, receiptId: expect.any(String) });
      expect((await t.http().get('/v1/images').set(bearer(subject.token))).status).toBe(401);
      expect(await objectsUnder(t, subject.subjectId)).toHaveLength(1);

      down = false;
      await t.app.get(RightsScheduler).sweepOnce();
      const erased = (await streamEvents(t, streams.subject(subject.subjectId))).filter((e) => e.type === 'SubjectErased');
      expect(erased.map((e) => e.data.receiptId)).toEqual([res.body.receiptId]);
      expect(await objectsUnder(t, subject.subjectId)).toEqual([]);
    } finally {
      storage.delete = remove;
    }
  });

  it('an erasure interrupted after it started is completed by the sweep, from the log alone: queued jobs, temporary files, open requests, leftovers', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'photo-enlarge');
    const imageId = await upload(t, subject, await jpegImage(40, 30), 'photo-enlarge');
    const jobId = await queueJob(t, subject, imageId, 'photo-enlarge');
    const open = await t.http().post('/v1/me/requests').set(bearer(subject.token)).send({ type: 'access', details: 'What do you hold?' });
    expect(open.body.status).toBe('received');
    // A temporary object still on record after its job ended (a clean-up that never ran) and an object with no record (an export left behind).
    const log = t.app.get(EventLog);
    const objects = t.app.get(EncryptedObjects);
    const failedJob = await queueJob(t, subject, imageId, 'photo-enlarge');
    const tempKey = objectKeys.temp(subject.subjectId, failedJob, 'input');
    const context = { actor: 'system:processing' as const, correlationId: randomUUID(), causationId: null };
    const ids = { jobId: failedJob, subjectId: subject.subjectId, imageId, purpose: 'photo-enlarge' as const };
    await log.append(streams.job(failedJob), [{ type: 'JobFailed', data: { ...ids, code: 'WORKER_LOST', message: 'lost' } }], 'any', context);
    await t.settle();
    await objects.put(subject.subjectId, tempKey, Buffer.from('temporary'));
    await log.append(streams.job(failedJob), [{ type: 'TempFileCreated', data: { jobId: failedJob, subjectId: subject.subjectId, objectKey: tempKey, kind: 'input', size: 9 } }], 'any', context);
    await objects.put(subject.subjectId, objectKeys.export(subject.subjectId, randomUUID()), Buffer.from('zip'));
    // What a crash right after step (a) leaves: SubjectErasureStarted, nothing else.
    const receiptId = randomUUID();
    await log.append(streams.subject(subject.subjectId), [{ type: 'SubjectErasureStarted', data: { subjectId: subject.subjectId, receiptId } }], 'any', {
      actor: `subject:${subject.subjectId}`,
      correlationId: randomUUID(),
      causationId: null,
    });
    await t.settle();
    expect((await t.http().get('/v1/images').set(bearer(subject.token))).status).toBe(401); // the projection closed the token

    const before = await t.mark();
    const sweep = await t.app.get(RightsScheduler).sweepOnce();
    expect(sweep.erasuresCompleted).toBe(1);
    const events = await t.eventsSince(before);
    expect(events.map((e) => `${e.type}@${e.stream.split('-')[0]}`)).toEqual([
      'JobCancelled@job',
      'ImageDeleted@image',
      'TempFileDeleted@job',
      'RightsRequestFulfilled@request',
      'DeviceReleased@device',
      'SubjectErased@subject',
    ]);
    expect(events.every((e) => e.metadata.actor === 'system:erasure')).toBe(true);
    expect(events[0].data).toMatchObject({ jobId, reason: 'erasure' });
    expect(events[1].data).toMatchObject({ imageId, reason: 'erasure' });
    expect(events[2].data).toMatchObject({ jobId: failedJob, objectKey: tempKey, reason: 'erasure', rule: 'temp-files' });
    expect(events[3].data).toMatchObject({ requestId: open.body.requestId, decidedBy: 'system:erasure', outcome: { action: 'closed-by-erasure', receiptId } });
    expect(events[5].data).toEqual({
      subjectId: subject.subjectId,
      receiptId,
      erasedAt: t.clock.now().toISOString(),
      objectsDeleted: 3,
      imagesDeleted: 1,
      artworksDeleted: 0,
      tempFilesDeleted: 1,
      exportsDeleted: 1,
      jobsCancelled: 1,
      keyDestroyed: true,
      operationLogTombstoned: true,
    });
    expect(await objectsUnder(t, subject.subjectId)).toEqual([]);
    // A second sweep finds nothing to do.
    const again = await t.mark();
    expect((await t.app.get(RightsScheduler).sweepOnce()).erasuresCompleted).toBe(0);
    expect(await t.eventsSince(again)).toEqual([]);
  });
});
