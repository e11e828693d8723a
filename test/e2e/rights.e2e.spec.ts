/**
 * Rights requests end to end: business-day deadlines through the HTTP API (a Friday evening in
 * Shanghai, before a public holiday, across an adjusted working weekend, a configured
 * HOLIDAYS_FILE), the overdue saga with the injected clock (at dueAt nothing, at dueAt + 1 ms one
 * RightsRequestOverdue), the DPO's queue and decisions, automatic deletions, corrections that
 * cannot run, every refusal (status, code, nothing written), Idempotency-Key replays, the
 * withdrawal cascade, the auditors' list, and the verification replay of the requests projection.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/modules/event-store/event-log';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { ObjectStorage } from '../../src/modules/object-storage/object-storage.port';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { RightsScheduler } from '../../src/modules/subject-rights/mark-overdue/rights-scheduler';
import { jpegImage } from '../fixtures/images';
import { auditor, dpo, grantConsent, job, queueJob, runWorker, typesOf, upload, type Subject } from '../support/rights-fixtures';
import { bearer, registerSubject, startTestApp, type TestApp } from '../support/test-app';

const FRIDAY_EVENING = '2026-03-06T12:00:00.000Z'; // Fri 2026-03-06 20:00 in Shanghai
const END_OF_NEXT_FRIDAY = '2026-03-13T15:59:59.999Z'; // Fri 2026-03-13 23:59:59.999 in Shanghai

async function submit(t: TestApp, subject: Subject, body: object, key?: string) {
  const req = t.http().post('/v1/me/requests').set(bearer(subject.token));
  if (key) req.set('Idempotency-Key', key);
  return req.send(body);
}

async function exists(t: TestApp, key: string): Promise<boolean> {
  return (await t.app.get(ObjectStorage).head(key)) !== null;
}

const requestEvents = (events: readonly StoredEvent[]) => events.filter((e) => e.stream.startsWith('request-'));

describe('rights requests (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  describe('deadlines: 5 business days after receipt, Asia/Shanghai', () => {
    // In chronological order: the clock of this app only moves forward.
    const cases = [
      // Spring Festival 2026: 2/15–2/23 off, Saturdays 2/14 and 2/28 adjusted working days.
      { name: 'a Thursday before the Spring Festival (Saturday 2/14 counts)', at: '2026-02-12T02:00:00.000Z', dueAt: '2026-02-26T15:59:59.999Z' },
      { name: 'the last Spring Festival holiday (Saturday 2/28 is the 5th business day)', at: '2026-02-23T02:00:00.000Z', dueAt: '2026-02-28T15:59:59.999Z' },
      { name: 'a Friday evening in Shanghai (the weekend skipped)', at: FRIDAY_EVENING, dueAt: END_OF_NEXT_FRIDAY },
      { name: 'Friday 23:59 in Shanghai (still Friday: the same deadline)', at: '2026-03-06T15:59:00.000Z', dueAt: END_OF_NEXT_FRIDAY },
      { name: 'Saturday 00:30 in Shanghai, Friday in UTC (received on Saturday)', at: '2026-03-06T16:30:00.000Z', dueAt: END_OF_NEXT_FRIDAY },
      // Labour Day 2026: 5/1–5/5 off, Saturday 5/9 an adjusted working day.
      { name: 'the day before the Labour Day holidays (and their adjusted working Saturday)', at: '2026-04-30T02:00:00.000Z', dueAt: '2026-05-11T15:59:59.999Z' },
    ];
    let d: TestApp;
    beforeAll(async () => {
      d = await startTestApp({ clock: new ManualClock('2026-02-01T00:00:00.000Z') });
    });
    afterAll(async () => {
      await d.close();
    });
    for (const c of cases) {
      it(`${c.name}: dueAt ${c.dueAt}, in the answer and in RightsRequestReceived`, async () => {
        d.clock.set(c.at);
        const subject = await registerSubject(d);
        const mark = await d.mark();
        const res = await submit(d, subject, { type: 'access', details: 'Which photos do you still hold?' });
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ type: 'access', status: 'received', receivedAt: c.at, dueAt: c.dueAt, overdue: false, needsDecision: true });
        const events = await d.eventsSince(mark);
        expect(typesOf(events)).toEqual(['RightsRequestReceived']);
        expect(events[0].stream).toBe(`request-${res.body.requestId}`);
        expect(events[0].data).toMatchObject({ requestId: res.body.requestId, subjectId: subject.subjectId, receivedAt: c.at, dueAt: c.dueAt, needsDecision: true, resource: null });
        expect(JSON.stringify(events[0].data.details)).toContain('$pii'); // free text: encrypted
      });
    }

    it('HOLIDAYS_FILE replaces the calendar: a holiday on Tuesday moves the deadline', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pm-holidays-'));
      try {
        const file = join(dir, 'holidays.json');
        writeFileSync(file, JSON.stringify({ timeZone: 'Asia/Shanghai', holidays: ['2026-03-10'], workingDays: [] }));
        const custom = await startTestApp({ env: { HOLIDAYS_FILE: file } });
        try {
          custom.clock.set(FRIDAY_EVENING);
          const subject = await registerSubject(custom);
          const res = await submit(custom, subject, { type: 'access' });
          expect(res.body.dueAt).toBe('2026-03-16T15:59:59.999Z');
        } finally {
          await custom.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('the overdue saga: nothing on the day before, nothing at dueAt, one RightsRequestOverdue at dueAt + 1 ms; answered requests are never marked', async () => {
    const t = await startTestApp({ clock: new ManualClock(FRIDAY_EVENING) });
    try {
      const subject = await registerSubject(t);
      const open = await submit(t, subject, { type: 'restriction', details: 'Please stop using my photos for anything but restoring them.' });
      const answered = await submit(t, subject, { type: 'access' });
      expect(open.body.dueAt).toBe(END_OF_NEXT_FRIDAY);
      expect(answered.body.status).toBe('fulfilled');
      const scheduler = t.app.get(RightsScheduler);
      const swept = async (at: string) => {
        t.clock.set(at);
        const mark = await t.mark();
        await scheduler.sweepOnce();
        return requestEvents(await t.eventsSince(mark)).filter((e) => e.data.subjectId === subject.subjectId);
      };

      expect(await swept('2026-03-12T16:00:00.000Z')).toEqual([]); // Friday 00:00 in Shanghai, the last day
      expect(await swept(END_OF_NEXT_FRIDAY)).toEqual([]); // the last millisecond is still on time
      const overdue = await swept('2026-03-13T16:00:00.000Z'); // dueAt + 1 ms
      expect(overdue.map((e) => [e.type, e.stream, e.data])).toEqual([
        ['RightsRequestOverdue', `request-${open.body.requestId}`, { requestId: open.body.requestId, subjectId: subject.subjectId, dueAt: END_OF_NEXT_FRIDAY, detectedAt: '2026-03-13T16:00:00.000Z' }],
      ]);
      expect(overdue[0].metadata.actor).toBe('system:rights');
      expect(await swept('2026-03-20T16:00:00.000Z')).toEqual([]); // once

      // A week later the first token has expired: sign in again.
      const signIn = await t.http().post('/v1/devices/token').send({ deviceId: subject.deviceId, deviceSecret: subject.deviceSecret });
      const mine = await t.http().get(`/v1/me/requests/${open.body.requestId}`).set(bearer(signIn.body.accessToken));
      expect(mine.body).toMatchObject({ status: 'received', overdue: true });
      const dpoList = await t.http().get('/v1/dpo/requests?status=overdue').set(dpo());
      expect(dpoList.status).toBe(200);
      expect(dpoList.body.requests.map((r: { requestId: string }) => r.requestId)).toContain(open.body.requestId);
      expect(dpoList.body.requests.map((r: { requestId: string }) => r.requestId)).not.toContain(answered.body.requestId);

      const mark = await t.mark();
      const audit = await t.http().get('/v1/audit/requests?status=overdue').set(auditor());
      expect(audit.status).toBe(200);
      const listed = audit.body.requests.find((r: { requestId: string }) => r.requestId === open.body.requestId);
      expect(listed).toEqual({
        requestId: open.body.requestId,
        subjectId: subject.subjectId,
        type: 'restriction',
        status: 'received',
        receivedAt: FRIDAY_EVENING,
        dueAt: END_OF_NEXT_FRIDAY,
        overdue: true,
        overdueAt: '2026-03-13T16:00:00.000Z',
        needsDecision: true,
      });
      const recorded = await t.eventsSince(mark);
      expect(recorded.map((e) => [e.type, e.data.endpoint, e.data.query])).toEqual([['AuditorAccessed', 'GET /v1/audit/requests', { status: 'overdue' }]]);

      // Answered late: still flagged as having been overdue.
      t.clock.set('2026-03-23T02:00:00.000Z');
      const decided = await t.http().post(`/v1/dpo/requests/${open.body.requestId}/decisions`).set(dpo()).send({ outcome: 'fulfilled', reason: 'Restricted as asked.' });
      expect(decided.status).toBe(200);
      expect(decided.body).toMatchObject({ status: 'fulfilled', overdue: true, decidedBy: 'dpo:dora', note: 'Restricted as asked.', fulfilledAt: '2026-03-23T02:00:00.000Z' });
      expect((await t.http().get('/v1/dpo/requests?status=overdue').set(dpo())).body.requests.map((r: { requestId: string }) => r.requestId)).not.toContain(open.body.requestId);
    } finally {
      await t.close();
    }
  });

  describe('the DPO', () => {
    let subject: Subject;
    let imageId: string;
    beforeAll(async () => {
        subject = await registerSubject(t);
      await grantConsent(t, subject, 'photo-enlarge');
      imageId = await upload(t, subject, await jpegImage(40, 30), 'photo-enlarge');
    });

    it('a request with details waits; the DPO sees it with the details; fulfilling it carries out what it names', async () => {
      const res = await submit(t, subject, { type: 'deletion', resource: `image:${imageId}`, details: 'This is my late father; please remove it.' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'received', needsDecision: true, resource: `image:${imageId}`, details: 'This is my late father; please remove it.' });
      expect(await exists(t, objectKeys.original(subject.subjectId, imageId))).toBe(true);

      const queue = await t.http().get('/v1/dpo/requests?status=received').set(dpo());
      expect(queue.body.requests.find((r: { requestId: string }) => r.requestId === res.body.requestId)).toMatchObject({
        subjectId: subject.subjectId,
        type: 'deletion',
        details: 'This is my late father; please remove it.',
        needsDecision: true,
      });

      const mark = await t.mark();
      const decided = await t.http().post(`/v1/dpo/requests/${res.body.requestId}/decisions`).set(dpo()).send({ outcome: 'fulfilled' });
      expect(decided.status).toBe(200);
      expect(decided.body).toMatchObject({ requestId: res.body.requestId, status: 'fulfilled', decidedBy: 'dpo:dora', outcome: { action: 'image-deleted', imageId, deletedNow: true } });
      const events = await t.eventsSince(mark);
      expect(events.map((e) => [e.type, e.metadata.actor])).toEqual([
        ['ImageDeleted', 'dpo:dora'],
        ['RightsRequestFulfilled', 'dpo:dora'],
      ]);
      expect(events[0].data).toMatchObject({ imageId, reason: 'rights-request', requestId: res.body.requestId });
      expect(events[1].data).toMatchObject({ decidedBy: 'dpo:dora', outcome: { action: 'image-deleted', imageId, deletedNow: true } });
      expect(await exists(t, objectKeys.original(subject.subjectId, imageId))).toBe(false);

      const again = await t.mark();
      const twice = await t.http().post(`/v1/dpo/requests/${res.body.requestId}/decisions`).set(dpo()).send({ outcome: 'rejected', reason: 'Changed my mind' });
      expect([twice.status, twice.body.code]).toEqual([409, 'REQUEST_ALREADY_DECIDED']);
      expect(await t.eventsSince(again)).toEqual([]);
    });

    it('a rejection needs a reason (422 REASON_REQUIRED, nothing written); the subject sees the reason', async () => {
      const res = await submit(t, subject, { type: 'correction', resource: `image:${imageId}`.replace('image', 'job').replace(imageId, randomUUID()), details: 'x' });
      expect([res.status, res.body.code]).toEqual([404, 'JOB_NOT_FOUND']);
      const req = await submit(t, subject, { type: 'access', details: 'Everything you got from my previous phone, please.' });
      const mark = await t.mark();
      for (const body of [{ outcome: 'rejected' }, { outcome: 'rejected', reason: '   ' }]) {
        const refused = await t.http().post(`/v1/dpo/requests/${req.body.requestId}/decisions`).set(dpo()).send(body);
        expect([refused.status, refused.body.code]).toEqual([422, 'REASON_REQUIRED']);
      }
      const unknown = await t.http().post(`/v1/dpo/requests/${randomUUID()}/decisions`).set(dpo()).send({ outcome: 'rejected', reason: 'No.' });
      expect([unknown.status, unknown.body.code]).toEqual([404, 'REQUEST_NOT_FOUND']);
      const badOutcome = await t.http().post(`/v1/dpo/requests/${req.body.requestId}/decisions`).set(dpo()).send({ outcome: 'maybe', reason: 'No.' });
      expect([badOutcome.status, badOutcome.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(await t.eventsSince(mark)).toEqual([]);

      const reason = 'Devices are not linked to accounts before 2025; nothing else is held about you.';
      const rejected = await t.http().post(`/v1/dpo/requests/${req.body.requestId}/decisions`).set(dpo()).send({ outcome: 'rejected', reason });
      expect(rejected.status).toBe(200);
      const events = await t.eventsSince(mark);
      expect(typesOf(events)).toEqual(['RightsRequestRejected']);
      expect(JSON.stringify(events[0].data.reason)).toContain('$pii');
      const seen = await t.http().get(`/v1/me/requests/${req.body.requestId}`).set(bearer(subject.token));
      expect(seen.body).toMatchObject({ status: 'rejected', reason, rejectedAt: t.clock.now().toISOString() });
      expect(seen.body.fulfilledAt).toBeUndefined();
    });

    it('only the DPO: subject and auditor tokens are refused on the DPO routes, staff tokens on the subject routes', async () => {
      expect((await t.http().get('/v1/dpo/requests').set(bearer(subject.token))).status).toBe(403);
      expect((await t.http().get('/v1/dpo/requests').set(auditor())).status).toBe(403);
      expect((await t.http().get('/v1/dpo/requests')).status).toBe(401);
      expect((await t.http().post('/v1/me/requests').set(dpo()).send({ type: 'access' })).status).toBe(403);
      expect((await t.http().get('/v1/audit/requests').set(dpo())).status).toBe(403);
      expect((await t.http().get('/v1/dpo/requests?status=lost').set(dpo())).body.code).toBe('VALIDATION_FAILED');
    });
  });

  it('automatic: deleting one artwork and one original by request, each recorded with the request id; another subject’s resources are 404', async () => {
    const subject = await registerSubject(t);
    const other = await registerSubject(t);
    await grantConsent(t, subject, 'photo-enlarge');
    const imageId = await upload(t, subject, await jpegImage(40, 30), 'photo-enlarge');
    const jobId = await queueJob(t, subject, imageId, 'photo-enlarge');
    await runWorker(t);
    const artworkId = (await job(t, subject, jobId)).artworkId as string;

    const mark = await t.mark();
    for (const resource of [`image:${imageId}`, `artwork:${artworkId}`, `job:${jobId}`]) {
      const res = await submit(t, other, resource.startsWith('job') ? { type: 'correction', resource, details: 'wrong' } : { type: 'deletion', resource });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe(resource.startsWith('image') ? 'IMAGE_NOT_FOUND' : resource.startsWith('artwork') ? 'ARTWORK_NOT_FOUND' : 'JOB_NOT_FOUND');
    }
    expect(await t.eventsSince(mark)).toEqual([]);

    const byArtwork = await submit(t, subject, { type: 'deletion', resource: `artwork:${artworkId.toUpperCase()}` });
    expect(byArtwork.status).toBe(201);
    expect(byArtwork.body).toMatchObject({ status: 'fulfilled', resource: `artwork:${artworkId}`, outcome: { action: 'artwork-deleted', artworkId, deletedNow: true } });
    const byImage = await submit(t, subject, { type: 'deletion', resource: `image:${imageId}` });
    expect(byImage.body).toMatchObject({ status: 'fulfilled', outcome: { action: 'image-deleted', imageId, deletedNow: true } });
    const events = (await t.eventsSince(mark)).filter((e) => !e.stream.startsWith('oplog-'));
    expect(events.map((e) => `${e.type}@${e.stream.split('-')[0]}`)).toEqual([
      'RightsRequestReceived@request',
      'RightsRequestProcessingStarted@request',
      'ArtworkDeleted@artwork',
      'RightsRequestFulfilled@request',
      'RightsRequestReceived@request',
      'RightsRequestProcessingStarted@request',
      'ImageDeleted@image',
      'RightsRequestFulfilled@request',
    ]);
    expect(events[2].data).toMatchObject({ artworkId, reason: 'rights-request', requestId: byArtwork.body.requestId });
    expect(events[6].data).toMatchObject({ imageId, reason: 'rights-request', requestId: byImage.body.requestId });
    expect(await exists(t, objectKeys.original(subject.subjectId, imageId))).toBe(false);
    expect(await exists(t, objectKeys.artwork(subject.subjectId, artworkId))).toBe(false);

    // Deleting what is gone already: fulfilled, nothing deleted now.
    const again = await submit(t, subject, { type: 'deletion', resource: `image:${imageId}` });
    expect(again.body).toMatchObject({ status: 'fulfilled', outcome: { deletedNow: false } });

    // A correction whose original is gone: received and rejected at once, with the reason.
    const mark2 = await t.mark();
    const correction = await submit(t, subject, { type: 'correction', resource: `job:${jobId}`, options: {} });
    expect(correction.status).toBe(201);
    expect(correction.body).toMatchObject({ status: 'rejected', needsDecision: false });
    expect(correction.body.reason).toMatch(/original image .* has already been deleted/);
    expect(typesOf(await t.eventsSince(mark2))).toEqual(['RightsRequestReceived', 'RightsRequestRejected']);
  });

  it('refusals: each answers its status and code and writes nothing', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'erase-pen');
    const imageId = await upload(t, subject, await jpegImage(40, 30), 'erase-pen');
    const queuedJob = await queueJob(t, subject, imageId, 'erase-pen', { regions: [{ x: 1, y: 1, width: 4, height: 4 }] });
    const job = `job:${queuedJob}`;
    const cases: [object, number, string][] = [
      [{ type: 'complaint' }, 400, 'VALIDATION_FAILED'],
      [{}, 400, 'VALIDATION_FAILED'],
      [{ type: 'access', urgent: true }, 400, 'UNKNOWN_FIELD'],
      [{ type: 'deletion', resource: 'image:not-a-uuid' }, 400, 'VALIDATION_FAILED'],
      [{ type: 'deletion', resource: `photo:${randomUUID()}` }, 400, 'VALIDATION_FAILED'],
      [{ type: 'access', details: '' }, 400, 'VALIDATION_FAILED'],
      [{ type: 'access', details: 'x'.repeat(4001) }, 400, 'VALIDATION_FAILED'],
      [{ type: 'restriction', resource: 'purpose:face-swap' }, 422, 'PURPOSE_NOT_ALLOWED'],
      [{ type: 'export', resource: 'purpose:ai-edit' }, 422, 'RESOURCE_NOT_APPLICABLE'],
      [{ type: 'deletion' }, 422, 'RESOURCE_REQUIRED'],
      [{ type: 'restriction' }, 422, 'RESOURCE_REQUIRED'],
      [{ type: 'correction', details: 'wrong' }, 422, 'RESOURCE_REQUIRED'],
      [{ type: 'deletion', resource: job }, 422, 'UNSUPPORTED_RESOURCE'],
      [{ type: 'restriction', resource: `image:${imageId}` }, 422, 'UNSUPPORTED_RESOURCE'],
      [{ type: 'correction', resource: `image:${imageId}`, details: 'x' }, 422, 'UNSUPPORTED_RESOURCE'],
      [{ type: 'access', options: {} }, 422, 'OPTIONS_NOT_APPLICABLE'],
      [{ type: 'correction', resource: job }, 422, 'CORRECTION_DETAILS_REQUIRED'],
      [{ type: 'correction', resource: job, options: {}, details: 'both' }, 422, 'OPTIONS_WITH_DETAILS'],
      [{ type: 'correction', resource: job, options: { regions: [{ x: 1, y: 1, width: 2, height: 2 }] } }, 422, 'JOB_NOT_COMPLETED'],
      [{ type: 'deletion', resource: `image:${randomUUID()}` }, 404, 'IMAGE_NOT_FOUND'],
    ];
    const mark = await t.mark();
    for (const [body, status, code] of cases) {
      const res = await submit(t, subject, body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status, code });
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    await runWorker(t);
    const mark2 = await t.mark();
    const template = await submit(t, subject, { type: 'correction', resource: job, options: { regions: [{ x: 1, y: 1, width: 2, height: 2 }], faceEmbedding: [0.1, 0.2] } });
    expect([template.status, template.body.code]).toEqual([422, 'BIOMETRIC_TEMPLATE_REJECTED']);
    expect((await t.http().post('/v1/me/requests').send({ type: 'access' })).status).toBe(401);
    expect(requestEvents(await t.eventsSince(mark))).toEqual([]);
    expect(await t.eventsSince(mark2)).toEqual([]);
  });

  it('Idempotency-Key: the same key and body replays the first answer and appends nothing; another body is 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const subject = await registerSubject(t);
    const key = `rights-${randomUUID()}`;
    const first = await submit(t, subject, { type: 'restriction', resource: 'purpose:time-painting' }, key);
    expect(first.status).toBe(201);
    expect(first.body.status).toBe('fulfilled');
    const mark = await t.mark();
    t.clock.advance(60_000);
    const replay = await submit(t, subject, { type: 'restriction', resource: 'purpose:time-painting' }, key);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    const reused = await submit(t, subject, { type: 'restriction', resource: 'purpose:ai-edit' }, key);
    expect([reused.status, reused.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect(await t.eventsSince(mark)).toEqual([]);
    // Another subject's identical key is another request.
    const other = await registerSubject(t);
    const theirs = await submit(t, other, { type: 'restriction', resource: 'purpose:time-painting' }, key);
    expect(theirs.status).toBe(201);
    expect(theirs.body.requestId).not.toBe(first.body.requestId);
  });

  it('export request: answered at once with a link to the archive; the subject lists requests oldest first, never another subject’s', async () => {
    const subject = await registerSubject(t);
    const other = await registerSubject(t);
    const res = await submit(t, subject, { type: 'export' });
    expect(res.body).toMatchObject({ type: 'export', status: 'fulfilled', outcome: { action: 'export-available', href: '/v1/me/export' } });
    const theirs = await submit(t, other, { type: 'access' });
    const mine = await t.http().get('/v1/me/requests').set(bearer(subject.token));
    expect(mine.body.requests.map((r: { requestId: string }) => r.requestId)).toEqual([res.body.requestId]);
    const notMine = await t.http().get(`/v1/me/requests/${theirs.body.requestId}`).set(bearer(subject.token));
    expect([notMine.status, notMine.body.code]).toEqual([404, 'REQUEST_NOT_FOUND']);
    expect((await t.http().get('/v1/me/requests/not-a-uuid').set(bearer(subject.token))).body.code).toBe('INVALID_ID');
  });

  it('withdrawal: the purpose’s queued jobs are cancelled and its originals deleted at once; its next job is 422 CONSENT_REQUIRED; other purposes untouched', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'photo-enlarge');
    await grantConsent(t, subject, 'photo-restore');
    const enlarge = await upload(t, subject, await jpegImage(40, 30), 'photo-enlarge');
    const restore = await upload(t, subject, await jpegImage(40, 30), 'photo-restore');
    const queued = await queueJob(t, subject, enlarge, 'photo-enlarge');

    const mark = await t.mark();
    const withdrawn = await t.http().delete('/v1/me/consents/photo-enlarge').set(bearer(subject.token));
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body).toMatchObject({ purpose: 'photo-enlarge', granted: false });
    const events = await t.eventsSince(mark);
    expect(events.map((e) => [e.type, e.stream, e.data.reason ?? null])).toEqual([
      ['ConsentWithdrawn', `subject-${subject.subjectId}`, null],
      ['JobCancelled', `job-${queued}`, 'consent-withdrawn'],
      ['ImageDeleted', `image-${enlarge}`, 'consent-withdrawn'],
    ]);
    expect(await exists(t, objectKeys.original(subject.subjectId, enlarge))).toBe(false);
    expect(await exists(t, objectKeys.original(subject.subjectId, restore))).toBe(true);
    const images = await t.http().get('/v1/images').set(bearer(subject.token));
    const statuses = Object.fromEntries(images.body.images.map((i: { imageId: string; status: string }) => [i.imageId, i.status]));
    expect(statuses).toEqual({ [enlarge]: 'deleted', [restore]: 'stored' });

    const refused = await t.mark();
    const next = await t.http().post(`/v1/images/${restore}/jobs`).set(bearer(subject.token)).send({ purpose: 'photo-enlarge' });
    expect([next.status, next.body.code]).toEqual([422, 'CONSENT_REQUIRED']);
    expect(await t.eventsSince(refused)).toEqual([]);
    expect((await t.http().post(`/v1/images/${restore}/jobs`).set(bearer(subject.token)).send({ purpose: 'photo-restore' })).status).toBe(202);
  });

  it('a request whose automatic step was interrupted is resumed by the sweep once the grace period has passed, with exactly one answer', async () => {
    const subject = await registerSubject(t);
    await grantConsent(t, subject, 'photo-enlarge');
    const imageId = await upload(t, subject, await jpegImage(40, 30), 'photo-enlarge');
    // What a crash between the request's first append and its deletion leaves behind.
    const requestId = randomUUID();
    const now = t.clock.now().toISOString();
    await t.app.get(EventLog).append(
      `request-${requestId}`,
      [
        { type: 'RightsRequestReceived', data: { requestId, subjectId: subject.subjectId, type: 'deletion', resource: `image:${imageId}`, details: null, receivedAt: now, dueAt: now, needsDecision: false } },
        { type: 'RightsRequestProcessingStarted', data: { requestId, subjectId: subject.subjectId, step: 'delete-image' } },
      ],
      'no_stream',
      { actor: `subject:${subject.subjectId}`, correlationId: randomUUID(), causationId: null },
    );
    await t.settle();
    const scheduler = t.app.get(RightsScheduler);
    const early = await t.mark();
    t.clock.advance(60_000);
    await scheduler.sweepOnce();
    expect((await t.eventsSince(early)).filter((e) => e.stream === `request-${requestId}` && e.type !== 'RightsRequestOverdue')).toEqual([]);

    t.clock.advance(5 * 60_000);
    const mark = await t.mark();
    const result = await scheduler.sweepOnce();
    expect(result.resumed).toBeGreaterThanOrEqual(1);
    const events = (await t.eventsSince(mark)).filter((e) => e.stream === `request-${requestId}` || e.stream === `image-${imageId}`);
    expect(events.map((e) => [e.type, e.metadata.actor])).toEqual([
      ['ImageDeleted', 'system:rights'],
      ['RightsRequestFulfilled', 'system:rights'],
    ]);
    expect(events[0].data).toMatchObject({ reason: 'rights-request', requestId });
    const again = await t.mark();
    await scheduler.sweepOnce();
    expect((await t.eventsSince(again)).filter((e) => e.stream === `request-${requestId}`)).toEqual([]);
  });

  it('every endpoint is described in /docs-json', async () => {
    const docs = await t.http().get('/docs-json');
    const paths = docs.body.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/v1/me/requests'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(paths['/v1/me/requests/{requestId}'] ?? {})).toEqual(['get']);
    expect(Object.keys(paths['/v1/me/export'] ?? {})).toEqual(['get']);
    expect(Object.keys(paths['/v1/me'] ?? {})).toContain('delete');
    expect(Object.keys(paths['/v1/dpo/requests'] ?? {})).toEqual(['get']);
    expect(Object.keys(paths['/v1/dpo/requests/{requestId}/decisions'] ?? {})).toEqual(['post']);
    expect(Object.keys(paths['/v1/audit/requests'] ?? {})).toEqual(['get']);
    const decisions = JSON.stringify(paths['/v1/dpo/requests/{requestId}/decisions']);
    for (const code of ['REASON_REQUIRED', 'REQUEST_ALREADY_DECIDED', 'REQUEST_NOT_FOUND']) expect(decisions).toContain(code);
  });

  it('the verification replay rebuilds the requests projection identically', async () => {
    const res = await t.http().post('/v1/audit/verifications').set(auditor()).send({});
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ projectionsMatch: true, mismatches: [] });
  });
});
