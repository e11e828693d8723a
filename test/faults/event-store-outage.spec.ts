/**
 * The event store stopped mid-run (issue 7, fault injection 2): the service in EventStoreDB mode
 * against the in-process gRPC test server (the real `@eventstore/db-client`; the key store lives in
 * `subjectkey-<id>` streams on the same server), stopped under load and restarted on the same port.
 *
 * - Under concurrent load: once the store is gone every request answers 503 with Retry-After (none
 *   hangs: a request slower than HANG_GUARD_MS fails the test), /health/ready answers 503; after
 *   `restart()` the service recovers by itself (the projections resubscribe, requests succeed,
 *   /health/ready 200) without being restarted. Every 2xx answer has its events and objects, no
 *   object is without its event, no event without its object; every upload that answered 503 is
 *   retried with its Idempotency-Key and ends with exactly one ImageUploaded.
 * - An upload whose append is on the wire when the store stops: the object is kept while it cannot
 *   be told whether the event landed. Landed: the image is whole (event and readable object) and
 *   the retry is a replay. Not landed: the object is unreferenced and the orphan sweep removes it
 *   once RETENTION_ORPHAN_GRACE has passed (not before).
 * - A job whose ArtworkGenerated is on the wire when the store stops: the artwork object is kept;
 *   after recovery the job resumes from that attempt and completes with a readable artwork.
 */
import { status } from '@grpc/grpc-js';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { deterministicUuid } from '../../src/modules/event-store/event-log';
import { ProcessingWorker } from '../../src/modules/facial-data/processing-worker/processing-worker';
import { artworkIdFor } from '../../src/modules/facial-data/processing-worker/processing-worker.decider';
import { ObjectStorage } from '../../src/modules/object-storage/object-storage.port';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { FaceProcessor, type ProcessingInput, type ProcessingOutput } from '../../src/modules/processing/face-processor.port';
import { RetentionSweeper } from '../../src/modules/retention/sweep/retention-sweeper';
import { EsdbTestServer } from '../support/esdb-test-server/esdb-test-server';
import { settleAll } from '../support/retention-flows';
import { startTestApp, type TestApp } from '../support/test-app';
import { expectUnavailable, ofType, poll, uploadBody } from './fault-helpers';
import { consistencyProblems, LoadDriver, registerWithConsent, uploadBodies, type LoadSubject, type Outcome } from './load-driver';

/** A processor that holds every job until the test lets it go; the artwork is the input itself. */
class GatedProcessor extends FaceProcessor {
  entered = 0;
  private gate: Promise<void> = Promise.resolve();
  private release: () => void = () => undefined;
  close(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release();
  }
  identityFor() {
    return { name: 'gated-test-processor' };
  }
  supports(): boolean {
    return true;
  }
  async process(input: ProcessingInput): Promise<ProcessingOutput> {
    this.entered++;
    await this.gate;
    return { artwork: { bytes: input.image, contentType: 'image/png', width: 24, height: 24 }, intermediates: [], summary: { gated: true } };
  }
}

const GRACE_MS = 60_000;

describe('event store stopped mid-run (EventStoreDB test server)', () => {
  let server: EsdbTestServer;
  let t: TestApp;
  let clock: ManualClock;
  const processor = new GatedProcessor();
  const http = () => t.http();
  const auth = (s: LoadSubject) => ({ Authorization: `Bearer ${s.token}` });

  beforeAll(async () => {
    server = await EsdbTestServer.start();
    clock = new ManualClock(new Date());
    t = await startTestApp({
      clock,
      env: { EVENTSTORE_CONNECTION_STRING: server.connectionString, RETENTION_ORPHAN_GRACE: 'PT1M', JOB_LEASE: 'PT5S', JOB_CONCURRENCY: '1' },
      overrides: { faceProcessor: processor },
    });
  });
  afterAll(async () => {
    processor.open();
    await t?.close();
    await server?.stop();
  });

  /** The service answers again on its own: a write and a read-model read of it succeed. */
  async function recovered(subject: LoadSubject): Promise<void> {
    await poll(
      'the service recovers by itself',
      async () => {
        const res = await http().put('/v1/me/consents/photo-restore').set(auth(subject)).send({ policyVersion: '2025-06-24' });
        if (res.status !== 200) return false;
        const ready = await http().get('/health/ready');
        return ready.status === 200;
      },
      30_000,
      200,
    );
  }

  async function objectKeysHeld(): Promise<string[]> {
    const storage = t.app.get(ObjectStorage);
    const keys: string[] = [];
    for (const prefix of ['originals/', 'artworks/']) for await (const info of storage.list(prefix)) keys.push(info.key);
    return keys;
  }

  it('under load: 503 with Retry-After while the store is down (no hang, /health/ready 503), recovery without a restart, every 2xx whole, nothing half-written', { timeout: 120_000 }, async () => {
    const subjects: LoadSubject[] = [];
    for (let i = 0; i < 4; i++) subjects.push(await registerWithConsent(http));
    const driver = new LoadDriver(http, subjects, { concurrency: 6, idempotentUploads: true, bodies: await uploadBodies(8) });
    driver.start();
    await driver.until((o) => o.status >= 200 && o.status < 300, 40);

    await server.stop();
    const stoppedAfter = driver.outcomes.length;
    await driver.until((o) => o.status === 503, 30);
    const ready = await http().get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.headers['retry-after']).toMatch(/^\d+$/);
    expect(ready.body.checks.eventStore.status).toBe('down');

    await server.restart();
    await recovered(subjects[0]);
    const restartedAfter = driver.outcomes.length;
    await driver.until((o) => o.status >= 200 && o.status < 300 && driver.outcomes.indexOf(o) >= restartedAfter, 30);
    await driver.stop();
    const outcomes = driver.outcomes;

    // Every answer: a success, or a 503 that says which dependency and when to retry. No 500, no hang, no dropped connection.
    const unexpected = outcomes.filter((o) => !(o.status >= 200 && o.status < 300) && !(o.status === 503 && /^\d+$/.test(o.retryAfter ?? '') && /_UNAVAILABLE$/.test(o.code ?? '')));
    expect(unexpected, driver.summary()).toEqual([]);
    expect(outcomes.slice(stoppedAfter).some((o) => o.status === 503)).toBe(true);
    const slowest503 = Math.max(...outcomes.filter((o) => o.status === 503).map((o) => o.ms));
    console.info(`[event-store-outage] ${outcomes.length} requests (${driver.summary()}); slowest 503: ${slowest503} ms`);

    // Uploads that answered 503 are retried with their Idempotency-Key: each ends with one image.
    const failedUploads = outcomes.filter((o) => o.op === 'upload' && o.status === 503);
    const retried: Outcome[] = [];
    for (const o of failedUploads) {
      const subject = subjects.find((s) => s.subjectId === o.subjectId) as LoadSubject;
      const res = await http().post('/v1/images').set(auth(subject)).set('Idempotency-Key', o.idempotencyKey as string).send(o.body);
      expect(res.status).toBe(201);
      expect(res.body.imageId).toBe(deterministicUuid('image', subject.subjectId, o.idempotencyKey as string));
      retried.push({ ...o, status: 201, imageId: res.body.imageId });
    }
    await t.settle();

    const events = await t.eventsSince('start');
    const all = [...outcomes, ...retried];
    expect(consistencyProblems({ outcomes: all, events, objectKeys: await objectKeysHeld() })).toEqual([]);
    const perImage = new Map<string, number>();
    for (const e of ofType(events, 'ImageUploaded')) perImage.set(e.data.imageId as string, (perImage.get(e.data.imageId as string) ?? 0) + 1);
    expect([...perImage.values()].every((n) => n === 1)).toBe(true);

    // The read model followed the log through the outage: every stored image is listed, and decryptable.
    for (const subject of subjects) {
      const listed = await http().get('/v1/images').set(auth(subject));
      const ids = new Set((listed.body.images as { imageId: string }[]).map((i) => i.imageId));
      for (const o of all.filter((x) => x.op === 'upload' && x.status === 201 && x.subjectId === subject.subjectId)) {
        expect(ids.has(o.imageId as string)).toBe(true);
      }
    }
    for (const o of all.filter((x) => x.op === 'upload' && x.status === 201).slice(0, 12)) {
      const subject = subjects.find((s) => s.subjectId === o.subjectId) as LoadSubject;
      const content = await http().get(`/v1/images/${o.imageId}/content`).set(auth(subject));
      expect(content.status).toBe(200);
      expect((content.body as Buffer).equals(Buffer.from((o.body as { imageBase64: string }).imageBase64, 'base64'))).toBe(true);
    }
  });

  it('an upload whose ImageUploaded is on the wire when the store stops and lands: the object is kept, the image is whole after recovery, the retry is a replay', { timeout: 60_000 }, async () => {
    const subject = await registerWithConsent(http);
    const body = await uploadBody('photo-enlarge', 7);
    const imageId = deterministicUuid('image', subject.subjectId, 'in-flight-landed');
    server.setLatency('append', 300);
    const answer = http().post('/v1/images').set(auth(subject)).set('Idempotency-Key', 'in-flight-landed').send(body).then((r) => r);
    // Its events have all reached the server (a call merely opened might not be committed).
    await poll('the append is on the wire', async () => server.stats.appendsAwaitingCommit > 0, 10_000, 5);
    await server.stop(); // the server still commits it: the answer is what is lost
    const res = await answer;
    expectUnavailable(res, 'EVENT_STORE_UNAVAILABLE');
    server.setLatency('append', 0);
    await server.restart();
    await recovered(subject);

    const uploaded = ofType(await t.eventsSince('start'), 'ImageUploaded').filter((e) => e.data.imageId === imageId);
    expect(uploaded).toHaveLength(1);
    expect(await t.app.get(ObjectStorage).head(objectKeys.original(subject.subjectId, imageId))).not.toBeNull();
    const content = await http().get(`/v1/images/${imageId}/content`).set(auth(subject));
    expect(content.status).toBe(200);
    expect((content.body as Buffer).equals(Buffer.from(body.imageBase64, 'base64'))).toBe(true);
    const retry = await http().post('/v1/images').set(auth(subject)).set('Idempotency-Key', 'in-flight-landed').send(body);
    expect([retry.status, retry.body.imageId]).toEqual([201, imageId]);
    expect(ofType(await t.eventsSince('start'), 'ImageUploaded').filter((e) => e.data.imageId === imageId)).toHaveLength(1);
  });

  it('an upload whose append is lost with the store: the object is left unreferenced and the orphan sweep removes it after RETENTION_ORPHAN_GRACE, not before', { timeout: 60_000 }, async () => {
    const subject = await registerWithConsent(http);
    const imageId = deterministicUuid('image', subject.subjectId, 'in-flight-lost');
    const key = objectKeys.original(subject.subjectId, imageId);
    server.setLatency('append', 300);
    server.failNext('append', 1, status.UNAVAILABLE); // not committed
    const answer = http().post('/v1/images').set(auth(subject)).set('Idempotency-Key', 'in-flight-lost').send(await uploadBody('photo-enlarge', 9)).then((r) => r);
    await poll('the append is on the wire', async () => server.stats.appendsInFlight > 0, 10_000, 5);
    await server.stop();
    expectUnavailable(await answer, 'EVENT_STORE_UNAVAILABLE');
    server.setLatency('append', 0);
    await server.restart();
    await recovered(subject);
    await t.settle();

    expect(ofType(await t.eventsSince('start'), 'ImageUploaded').filter((e) => e.data.imageId === imageId)).toEqual([]);
    const storage = t.app.get(ObjectStorage);
    expect(await storage.head(key)).not.toBeNull(); // its fate could not be told when the upload failed
    const sweeper = t.app.get(RetentionSweeper);
    clock.set(new Date()); // object times are the filesystem's: the clock catches up with them
    expect((await sweeper.sweepOnce()).orphans).toMatchObject({ deleted: 0 });
    expect(await storage.head(key)).not.toBeNull(); // younger than the grace: may belong to a write in progress

    clock.set(new Date(Date.now() + GRACE_MS + 5_000));
    const swept = await sweeper.sweepOnce();
    expect(swept.orphans?.deleted).toBeGreaterThanOrEqual(1);
    expect(await storage.head(key)).toBeNull();
    expect(consistencyProblems({ outcomes: [], events: await t.eventsSince('start'), objectKeys: await objectKeysHeld() })).toEqual([]);
  });

  it('a job whose ArtworkGenerated is on the wire when the store stops: the artwork is kept and the job completes with it after recovery', { timeout: 60_000 }, async () => {
    const worker = t.app.get(ProcessingWorker);
    await worker.drain(); // the jobs the load test queued first: this one must be the only one
    await settleAll(t);
    const subject = await registerWithConsent(http);
    const body = await uploadBody('photo-enlarge', 11);
    const uploaded = await http().post('/v1/images').set(auth(subject)).send(body);
    const queued = await http().post(`/v1/images/${uploaded.body.imageId}/jobs`).set(auth(subject)).send({ purpose: 'photo-enlarge' });
    expect(queued.status).toBe(202);
    const jobId = queued.body.jobId as string;
    const artworkId = artworkIdFor(jobId, 1);
    await t.settle();

    processor.close();
    const entered = processor.entered;
    const round = worker.runOnce();
    await poll('the job reaches the processor', async () => processor.entered > entered, 10_000, 5);
    await settleAll(t); // no saga appends anything now: the next append on the wire is this job's ArtworkGenerated
    server.setLatency('append', 300);
    processor.open();
    await poll('ArtworkGenerated is on the wire', async () => server.stats.appendsAwaitingCommit > 0, 10_000, 5);
    await server.stop();
    expect((await round).outcomes).toEqual([expect.stringMatching(/^(retry-later|aborted)$/)]);
    server.setLatency('append', 0);
    await server.restart();
    await recovered(subject);

    const events = await t.eventsSince('start');
    expect(ofType(events, 'ArtworkGenerated').filter((e) => e.data.artworkId === artworkId)).toHaveLength(1);
    expect(await t.app.get(ObjectStorage).head(objectKeys.artwork(subject.subjectId, artworkId))).not.toBeNull();

    clock.advance(6_000); // JOB_LEASE=PT5S: the attempt's lease ran out
    await worker.drain();
    const job = await http().get(`/v1/jobs/${jobId}`).set(auth(subject));
    expect(job.body).toMatchObject({ status: 'completed', artworkId });
    const content = await http().get(`/v1/artworks/${artworkId}/content`).set(auth(subject));
    expect(content.status).toBe(200);
    expect((content.body as Buffer).equals(Buffer.from(body.imageBase64, 'base64'))).toBe(true);
    expect(consistencyProblems({ outcomes: [], events: await t.eventsSince('start'), objectKeys: await objectKeysHeld() })).toEqual([]);
  });

  it('uses the real client against the real protocol (sanity): the log is on the test server', () => {
    expect(server.records().some((r) => r.stream.startsWith('subjectkey-'))).toBe(true);
    expect(typeof request).toBe('function');
  });
});
