/**
 * Retention end to end with an injected clock: each rule fires on time and not before, from the
 * log (the ledger), crash-repairable and idempotent; the compliance report and the independent
 * verification see the same facts.
 */
import { CommandBus } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { streams } from '../../src/events';
import { DeleteImageCommand } from '../../src/modules/facial-data/delete-image/delete-image.command';
import type { ObjectInfo, PutObjectOptions } from '../../src/modules/object-storage/object-storage.port';
import { ObjectStorage, ObjectStorageUnavailableError } from '../../src/modules/object-storage/object-storage.port';
import { FilesystemObjectStorage } from '../../src/modules/object-storage/filesystem/filesystem-object-storage';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import type { LifecycleRule } from '../../src/modules/object-storage/object-storage.port';
import {
  allEvents,
  asSubject,
  objectFile,
  objectFiles,
  queueJob,
  refreshToken,
  runJobs,
  settleAll,
  streamEvents,
  subjectWithConsent,
  sweep,
  uploadImage,
} from '../support/retention-flows';
import { bearer, STAFF, startTestApp, type TestApp } from '../support/test-app';

const H = 3_600_000;
const DAY = 24 * H;
const notOplog = <T extends { stream: string }>(events: T[]) => events.filter((e) => !e.stream.startsWith('oplog-'));
const auditor = { Authorization: `Bearer ${STAFF.auditor}` };

/** Filesystem storage whose deletes can be made to fail (an outage of the object storage). */
class FlakyStorage extends ObjectStorage {
  readonly kind = 'filesystem';
  failDeletes = false;
  constructor(private readonly inner: FilesystemObjectStorage) {
    super();
  }
  put(key: string, body: Buffer, options?: PutObjectOptions) {
    return this.inner.put(key, body, options);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  async delete(key: string) {
    if (this.failDeletes) throw new ObjectStorageUnavailableError('storage down (test)');
    return this.inner.delete(key);
  }
  async deleteMany(keys: readonly string[]) {
    if (this.failDeletes) throw new ObjectStorageUnavailableError('storage down (test)');
    return this.inner.deleteMany(keys);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  ensureLifecycleRules(rules: readonly LifecycleRule[]) {
    return this.inner.ensureLifecycleRules(rules);
  }
  checkHealth() {
    return this.inner.checkHealth();
  }
}

describe('retention (e2e, injected clock)', () => {
  const opened: TestApp[] = [];
  const directories: string[] = [];
  const start = async (options: Parameters<typeof startTestApp>[0] = {}) => {
    const t = await startTestApp(options);
    opened.push(t);
    return t;
  };
  const flakyStorage = () => {
    const root = mkdtempSync(join(tmpdir(), 'pm-retention-objects-'));
    directories.push(root);
    return new FlakyStorage(new FilesystemObjectStorage({ root }));
  };
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.close();
    for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('original-after-processing: deleted 24 h after its FIRST job completed and not a second earlier; queued jobs cancelled; content and new jobs 410', async () => {
    const t = await start();
    const subject = await subjectWithConsent(t, 'photo-enlarge');
    const imageId = await uploadImage(t, subject);
    t.clock.advance(2 * H);
    await queueJob(t, subject, imageId);
    await runJobs(t);
    const completed = (await allEvents(t, 'JobCompleted'))[0];
    const completedAt = Date.parse(String(completed.metadata.occurredAt));
    expect(completedAt).toBe(Date.parse('2026-03-02T04:00:00.000Z'));
    // A second job later must not move the clock.
    t.clock.advance(H);
    await queueJob(t, subject, imageId);
    await runJobs(t);

    // One second before the deadline: nothing; a job queued now stays queued.
    t.clock.set(new Date(completedAt + DAY - 1000));
    const pendingJob = (await queueJob(t, subject, imageId)).body.jobId as string;
    const beforeEarly = await t.mark();
    const early = await sweep(t);
    expect(early.originals).toMatchObject({ due: 0, deleted: 0 });
    expect(await t.eventsSince(beforeEarly)).toEqual([]);
    expect((await asSubject(t, subject, (token) => t.http().get(`/v1/images/${imageId}/content`).set(bearer(token)))).status).toBe(200);

    // At the deadline.
    t.clock.set(new Date(completedAt + DAY));
    const before = await t.mark();
    const report = await sweep(t);
    expect(report.originals).toMatchObject({ due: 1, deleted: 1, alreadyDeleted: 0, failed: 0 });
    const appended = notOplog(await t.eventsSince(before));
    expect(appended.map((e) => [e.type, e.stream])).toEqual([
      ['ImageDeleted', streams.image(imageId)],
      ['JobCancelled', streams.job(pendingJob)],
    ]);
    expect(appended[0].data).toEqual({
      imageId,
      subjectId: subject.subjectId,
      purpose: 'photo-enlarge',
      objectKey: objectKeys.original(subject.subjectId, imageId),
      reason: 'retention',
      rule: 'original-after-processing',
      dueAt: new Date(completedAt + DAY).toISOString(),
    });
    expect(appended[0].metadata).toMatchObject({ actor: 'system:retention', occurredAt: new Date(completedAt + DAY).toISOString() });
    expect(appended[1].data).toMatchObject({ reason: 'original-deleted' });
    expect(existsSync(objectFile(t, objectKeys.original(subject.subjectId, imageId)))).toBe(false);

    const content = await asSubject(t, subject, (token) => t.http().get(`/v1/images/${imageId}/content`).set(bearer(token)));
    expect([content.status, content.body.code]).toEqual([410, 'IMAGE_DELETED']);
    const job = await queueJob(t, subject, imageId);
    expect([job.status, job.body.code]).toEqual([410, 'IMAGE_DELETED']);

    // Idempotent: another sweep appends nothing.
    const again = await t.mark();
    expect((await sweep(t)).originals).toMatchObject({ due: 0 });
    expect(await t.eventsSince(again)).toEqual([]);
  });

  it('an original never processed is due 24 h after its upload', async () => {
    const t = await start();
    const subject = await subjectWithConsent(t, 'photo-restore');
    const imageId = await uploadImage(t, subject, 'photo-restore');
    t.clock.advance(DAY - 1);
    expect((await sweep(t)).originals?.deleted).toBe(0);
    t.clock.advance(1);
    expect((await sweep(t)).originals?.deleted).toBe(1);
    expect((await allEvents(t, 'ImageDeleted'))[0].data).toMatchObject({ imageId, reason: 'retention', dueAt: '2026-03-03T02:00:00.000Z' });
  });

  it('a shorter RETENTION_ORIGINAL_MAX is honoured', async () => {
    const t = await start({ env: { RETENTION_ORIGINAL_MAX: 'PT2H' } });
    const subject = await subjectWithConsent(t, 'photo-restore');
    await uploadImage(t, subject, 'photo-restore');
    t.clock.advance(2 * H - 1000);
    expect((await sweep(t)).originals?.deleted).toBe(0);
    t.clock.advance(1000);
    expect((await sweep(t)).originals?.deleted).toBe(1);
  });

  it('a crash between the object deletion and the event, or an outage, is repaired by the next sweep with exactly one ImageDeleted', async () => {
    const storage = flakyStorage();
    const t = await start({ overrides: { objectStorage: storage } });
    const subject = await subjectWithConsent(t, 'photo-restore');
    const first = await uploadImage(t, subject, 'photo-restore');
    const second = await uploadImage(t, subject, 'photo-restore');
    t.clock.advance(DAY);
    // The object of `first` is already gone (as after a crash right after the delete).
    await storage.delete(objectKeys.original(subject.subjectId, first));
    storage.failDeletes = true;
    const failed = await sweep(t);
    expect(failed.originals).toMatchObject({ deleted: 0, interrupted: 'dependency-unavailable' });
    expect(await allEvents(t, 'ImageDeleted')).toEqual([]);
    storage.failDeletes = false;
    const repaired = await sweep(t);
    expect(repaired.originals).toMatchObject({ due: 2, deleted: 2 });
    expect((await allEvents(t, 'ImageDeleted')).map((e) => e.data.imageId).sort()).toEqual([first, second].sort());
    expect(await storage.head(objectKeys.original(subject.subjectId, second))).toBeNull();
    await sweep(t);
    expect(await allEvents(t, 'ImageDeleted')).toHaveLength(2);
  });

  it('temp-files: gone the moment the job ends (the saga); the sweep repairs what an outage left, RETENTION_TEMP_MAX after the job ended', async () => {
    const storage = flakyStorage();
    const t = await start();
    const subject = await subjectWithConsent(t, 'photo-enlarge');
    const imageId = await uploadImage(t, subject);
    await queueJob(t, subject, imageId);
    await runJobs(t);
    // The job's end and the deletions share the same instant of the injected clock: at once.
    const jobEvents = notOplog(await allEvents(t)).filter((e) => e.stream.startsWith('job-'));
    const end = jobEvents.find((e) => e.type === 'JobCompleted');
    const deleted = jobEvents.filter((e) => e.type === 'TempFileDeleted');
    expect(deleted).toHaveLength(2);
    for (const d of deleted) expect(d.metadata.occurredAt).toBe(end?.metadata.occurredAt);
    expect(objectFiles(t, 'tmp')).toEqual([]);

    // Repair path, with an outage of the storage while the job ends.
    const t2 = await start({ overrides: { objectStorage: storage } });
    const s2 = await subjectWithConsent(t2, 'photo-enlarge');
    const image2 = await uploadImage(t2, s2);
    await queueJob(t2, s2, image2);
    storage.failDeletes = true;
    await runJobs(t2);
    storage.failDeletes = false;
    let left = 0;
    for await (const _ of storage.list('tmp/')) left++;
    expect(left).toBe(2);
    t2.clock.advance(60_000 - 1);
    expect((await sweep(t2)).tempFiles).toBeNull(); // not due yet (the saga may still act)
    t2.clock.advance(1);
    const repaired = await sweep(t2);
    expect(repaired.tempFiles).toMatchObject({ jobs: 1, deleted: 2, failed: 0 });
    left = 0;
    for await (const _ of storage.list('tmp/')) left++;
    expect(left).toBe(0);
    expect((await allEvents(t2, 'TempFileDeleted')).map((e) => e.data.reason)).toEqual(['retention', 'retention']);
  });

  it('consent withdrawn: the held originals of that purpose are deleted at once (reason consent-withdrawn); the sweep repairs an interrupted cascade', async () => {
    const storage = flakyStorage();
    const t = await start({ overrides: { objectStorage: storage } });
    const subject = await subjectWithConsent(t, 'photo-enlarge', 'photo-restore');
    const a = await uploadImage(t, subject, 'photo-enlarge');
    const b = await uploadImage(t, subject, 'photo-enlarge');
    const kept = await uploadImage(t, subject, 'photo-restore');
    t.clock.advance(H);
    const withdrawal = await asSubject(t, subject, (token) => t.http().delete('/v1/me/consents/photo-enlarge').set(bearer(token)));
    expect(withdrawal.status).toBe(200);
    await settleAll(t);
    const deletions = await allEvents(t, 'ImageDeleted');
    expect(deletions.map((e) => e.data.imageId).sort()).toEqual([a, b].sort());
    for (const d of deletions) expect(d.data.reason).toBe('consent-withdrawn');
    expect(await storage.head(objectKeys.original(subject.subjectId, kept))).not.toBeNull();
    expect((await sweep(t)).consentWithdrawn).toMatchObject({ due: 0 });

    // Interrupted: the storage is down while the consent is withdrawn; the next sweep deletes the original.
    const other = await subjectWithConsent(t, 'photo-enlarge');
    const c = await uploadImage(t, other, 'photo-enlarge');
    storage.failDeletes = true;
    await asSubject(t, other, (token) => t.http().delete('/v1/me/consents/photo-enlarge').set(bearer(token)));
    await settleAll(t);
    storage.failDeletes = false;
    expect((await allEvents(t, 'ConsentWithdrawn')).map((e) => e.data.subjectId)).toContain(other.subjectId);
    expect((await allEvents(t, 'ImageDeleted')).map((e) => e.data.imageId)).not.toContain(c);
    const repaired = await sweep(t);
    expect(repaired.consentWithdrawn).toMatchObject({ due: 1, deleted: 1 });
    expect((await allEvents(t, 'ImageDeleted')).find((e) => e.data.imageId === c)?.data).toMatchObject({
      reason: 'consent-withdrawn',
      rule: 'original-after-processing',
      dueAt: t.clock.now().toISOString(),
    });
    expect(await storage.head(objectKeys.original(other.subjectId, c))).toBeNull();
    expect((await sweep(t)).consentWithdrawn).toMatchObject({ due: 0 });
  });

  it('orphans: unreferenced objects older than RETENTION_ORPHAN_GRACE are deleted; young ones and referenced ones are kept', async () => {
    const t = await start();
    const subject = await subjectWithConsent(t, 'photo-restore');
    const imageId = await uploadImage(t, subject, 'photo-restore');
    const now = t.clock.now().getTime();
    const place = (key: string, ageMs: number) => {
      const file = objectFile(t, key);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, 'x');
      utimesSync(file, new Date(now - ageMs), new Date(now - ageMs));
      return file;
    };
    const oldOriginal = place(objectKeys.original(subject.subjectId, randomUUID()), 11 * 60_000);
    const oldTemp = place(objectKeys.temp(subject.subjectId, randomUUID(), 'input'), H);
    const oldArtwork = place(objectKeys.artwork(randomUUID(), randomUUID()), DAY);
    const young = place(objectKeys.original(subject.subjectId, randomUUID()), 9 * 60_000);
    const referenced = objectFile(t, objectKeys.original(subject.subjectId, imageId));
    utimesSync(referenced, new Date(now - DAY / 2), new Date(now - DAY / 2));

    const report = await sweep(t);
    expect(report.orphans).toMatchObject({ deleted: 3, roundCompleted: true });
    expect([oldOriginal, oldTemp, oldArtwork].map(existsSync)).toEqual([false, false, false]);
    expect(existsSync(young)).toBe(true);
    expect(existsSync(referenced)).toBe(true);
    expect(report.orphans?.scanned).toBe(5);
  });

  it('GET /v1/audit/retention: per rule tracked / on time / late / overdue / max lateness, auditor only, the read recorded', async () => {
    const t = await start();
    const subject = await subjectWithConsent(t, 'photo-enlarge', 'photo-restore');
    const onTime = await uploadImage(t, subject, 'photo-restore');
    await uploadImage(t, subject, 'photo-restore'); // swept late, below
    const byUser = await uploadImage(t, subject, 'photo-restore');
    await t.http().delete(`/v1/images/${byUser}`).set(bearer(subject.token));
    const processed = await uploadImage(t, subject, 'photo-enlarge');
    await queueJob(t, subject, processed);
    await runJobs(t); // JobCompleted at T0 (same instant) + an artwork + 2 temp files deleted at once
    t.clock.advance(DAY);
    // Only `onTime` is deleted at its deadline (as the sweep would: the others are left for later).
    await t.app.get(CommandBus).execute(
      new DeleteImageCommand(subject.subjectId, onTime, 'retention', { actor: 'system:retention', correlationId: randomUUID(), causationId: null }, { rule: 'original-after-processing', dueAt: t.clock.now().toISOString() }),
    );
    t.clock.advance(2 * H); // `late` and `processed` are now 2 h overdue
    await settleAll(t);

    const before = await t.mark();
    const res = await t.http().get('/v1/audit/retention').set(auditor);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      generatedAt: t.clock.now().toISOString(),
      rules: [
        { rule: 'original-after-processing', tracked: 4, deletedOnTime: 2, deletedLate: 0, overdue: 2, maxLatenessSeconds: 7200 },
        { rule: 'temp-files', tracked: 2, deletedOnTime: 2, deletedLate: 0, overdue: 0, maxLatenessSeconds: 0 },
        { rule: 'operation-logs', tracked: expect.any(Number), deletedOnTime: 0, deletedLate: 0, overdue: 0, maxLatenessSeconds: 0 },
        { rule: 'artworks', tracked: 1, deletedOnTime: 0, deletedLate: 0, overdue: 0, maxLatenessSeconds: 0 },
      ],
    });
    expect(res.body.rules[2].tracked).toBeGreaterThanOrEqual(4); // upload and job-step log entries
    const recorded = await t.eventsSince(before);
    expect(recorded.map((e) => e.type)).toEqual(['AuditorAccessed']);
    expect(recorded[0].data).toEqual({ auditor: 'alice', endpoint: 'GET /v1/audit/retention', query: {}, subjectId: null, resultCount: 4 });

    // Swept 2 h late now: deleted late.
    await sweep(t);
    const after = await t.http().get('/v1/audit/retention').set(auditor);
    expect(after.body.rules[0]).toEqual({ rule: 'original-after-processing', tracked: 4, deletedOnTime: 2, deletedLate: 2, overdue: 0, maxLatenessSeconds: 7200 });

    await refreshToken(t, subject);
    for (const [headers, status] of [
      [{}, 401],
      [bearer(subject.token), 403],
      [{ Authorization: `Bearer ${STAFF.dpo}` }, 403],
    ] as const) {
      const mark = await t.mark();
      const refused = await t.http().get('/v1/audit/retention').set(headers);
      expect(refused.status).toBe(status);
      expect(await t.eventsSince(mark)).toEqual([]);
    }
  });

  it('POST /v1/audit/verifications re-derives every deadline independently: the late deletion and the overdue original are listed; projections match', async () => {
    const t = await start();
    const subject = await subjectWithConsent(t, 'photo-restore');
    const late = await uploadImage(t, subject, 'photo-restore');
    t.clock.advance(12 * H);
    const overdue = await uploadImage(t, subject, 'photo-restore');
    t.clock.advance(DAY + H); // `late` due 13 h ago, `overdue` due 1 h ago
    await t.app.get(CommandBus).execute(new DeleteImageCommand(subject.subjectId, late, 'user', { actor: `subject:${subject.subjectId}`, correlationId: randomUUID(), causationId: null }));
    await settleAll(t);

    const res = await t.http().post('/v1/audit/verifications').set(auditor);
    expect(res.status).toBe(201);
    expect(res.body.projectionsMatch).toBe(true);
    expect(res.body.mismatches).toEqual([]);
    expect(res.body.retentionViolations).toEqual([
      { check: 'retention-deadlines', rule: 'original-after-processing', kind: 'deleted-late', resource: `image:${late}`, dueAt: '2026-03-03T02:00:00.000Z', deletedAt: '2026-03-03T15:00:00.000Z', latenessSeconds: 13 * 3600 },
      { check: 'retention-deadlines', rule: 'original-after-processing', kind: 'overdue', resource: `image:${overdue}`, dueAt: '2026-03-03T14:00:00.000Z', latenessSeconds: 3600 },
    ]);
    // The report agrees.
    const report = await t.http().get('/v1/audit/retention').set(auditor);
    expect(report.body.rules[0]).toEqual({ rule: 'original-after-processing', tracked: 2, deletedOnTime: 0, deletedLate: 1, overdue: 1, maxLatenessSeconds: 13 * 3600 });
  });

  it('a restart loses nothing: what fell due while the service was down is deleted by the first sweep', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pm-retention-restart-'));
    directories.push(dataDir);
    const t = await start({ dataDir });
    const subject = await subjectWithConsent(t, 'photo-restore');
    const imageId = await uploadImage(t, subject, 'photo-restore');
    const clock = t.clock;
    await t.close();
    opened.splice(opened.indexOf(t), 1);
    clock.advance(DAY);
    const restarted = await start({ dataDir, clock });
    expect((await sweep(restarted)).originals).toMatchObject({ due: 1, deleted: 1 });
    expect((await streamEvents(restarted, streams.image(imageId))).map((e) => e.type)).toEqual(['ImageUploaded', 'ImageDeleted']);
  });
});
