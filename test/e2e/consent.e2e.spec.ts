/**
 * Consent and restriction end to end: GET/PUT/DELETE /v1/me/consents/{purpose} and
 * PUT/DELETE /v1/me/restrictions/{purpose}, with the exact events each step appends (none for
 * refusals and repeats), withdrawal cancelling the purpose's queued jobs, and a policy update
 * (restart on the same DATA_DIR with another POLICY_VERSION) after which an old consent no longer counts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PURPOSES, streams } from '../../src/events';
import { ConsentGate } from '../../src/modules/consent/consent-gate.service';
import { EventLog } from '../../src/modules/event-store/event-log';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { base64Of, jpegImage } from '../fixtures/images';
import { bearer, registerSubject, STAFF, startTestApp, type TestApp } from '../support/test-app';

type Subject = Awaited<ReturnType<typeof registerSubject>>;
const V1 = '2025-06-24';
const V2 = '2026-01-01';
const brief = (events: StoredEvent[]) => events.map((e) => ({ stream: e.stream, type: e.type, data: e.data, actor: e.metadata.actor }));

describe('consent and restriction (e2e)', () => {
  let t: TestApp;
  let subject: Subject;
  const put = (purpose: string, body: unknown = { policyVersion: V1 }) => t.http().put(`/v1/me/consents/${purpose}`).set(bearer(subject.token)).send(body as object);
  const del = (purpose: string) => t.http().delete(`/v1/me/consents/${purpose}`).set(bearer(subject.token));
  const get = () => t.http().get('/v1/me/consents').set(bearer(subject.token));

  beforeAll(async () => {
    t = await startTestApp();
    subject = await registerSubject(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('GET lists all six purposes in order, none granted, with the current policy version', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      currentPolicyVersion: V1,
      consents: PURPOSES.map((purpose) => ({ purpose, granted: false, policyVersion: null, at: null, restricted: false })),
    });
  });

  it('PUT grants under the current version: exactly one ConsentGranted; repeating appends nothing', async () => {
    const grantedAt = t.clock.advance(60_000).toISOString();
    const mark = await t.mark();
    const res = await put('photo-restore');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ purpose: 'photo-restore', granted: true, policyVersion: V1, at: grantedAt, restricted: false });
    expect(brief(await t.eventsSince(mark))).toEqual([
      {
        stream: `subject-${subject.subjectId}`,
        type: 'ConsentGranted',
        data: { subjectId: subject.subjectId, purpose: 'photo-restore', policyVersion: V1 },
        actor: `subject:${subject.subjectId}`,
      },
    ]);

    t.clock.advance(60_000);
    const again = await t.mark();
    const repeat = await put('photo-restore');
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual(res.body);
    expect(await t.eventsSince(again)).toEqual([]);

    const list = await get();
    expect(list.body.consents[0]).toEqual(res.body);
    expect(list.body.consents.slice(1).every((c: { granted: boolean }) => !c.granted)).toBe(true);
  });

  it('refuses another policy version: 422 POLICY_VERSION_MISMATCH naming the current one, nothing appended', async () => {
    const mark = await t.mark();
    for (const version of [V2, '2024-01-01']) {
      const res = await put('time-painting', { policyVersion: version });
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 422, code: 'POLICY_VERSION_MISMATCH', currentPolicyVersion: V1 });
      expect(res.body.detail).toContain(V1);
    }
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('refuses unknown purposes (422 PURPOSE_NOT_ALLOWED) and malformed bodies (400), nothing appended', async () => {
    const mark = await t.mark();
    for (const res of [
      await put('face-recognition'),
      await put('PHOTO-RESTORE'),
      await del('marketing'),
      await t.http().put('/v1/me/restrictions/marketing').set(bearer(subject.token)),
      await t.http().delete('/v1/me/restrictions/marketing').set(bearer(subject.token)),
    ]) {
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED' });
    }
    const unknownField = await put('ai-edit', { policyVersion: V1, scope: 'all' });
    expect([unknownField.status, unknownField.body.code]).toEqual([400, 'UNKNOWN_FIELD']);
    const missing = await put('ai-edit', {});
    expect([missing.status, missing.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const mistyped = await put('ai-edit', { policyVersion: 20250624 });
    expect([mistyped.status, mistyped.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('DELETE withdraws: exactly one ConsentWithdrawn keeping the version; repeating appends nothing', async () => {
    const withdrawnAt = t.clock.advance(60_000).toISOString();
    const mark = await t.mark();
    const res = await del('photo-restore');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ purpose: 'photo-restore', granted: false, policyVersion: V1, at: withdrawnAt, restricted: false });
    expect(brief(await t.eventsSince(mark))).toEqual([
      {
        stream: `subject-${subject.subjectId}`,
        type: 'ConsentWithdrawn',
        data: { subjectId: subject.subjectId, purpose: 'photo-restore', policyVersion: V1 },
        actor: `subject:${subject.subjectId}`,
      },
    ]);
    const again = await t.mark();
    expect((await del('photo-restore')).body).toEqual(res.body);
    expect((await del('erase-pen')).body).toEqual({ purpose: 'erase-pen', granted: false, policyVersion: null, at: null, restricted: false });
    expect(await t.eventsSince(again)).toEqual([]);
    expect(await t.app.get(ConsentGate).verdict(subject.subjectId, 'photo-restore')).toMatchObject({ allowed: false, code: 'CONSENT_REQUIRED' });
  });

  it("withdrawal cancels the purpose's queued jobs (JobCancelled, consent-withdrawn), and only that purpose's", async () => {
    const someone = await registerSubject(t);
    const auth = bearer(someone.token);
    for (const purpose of ['photo-restore', 'photo-enlarge']) {
      expect((await t.http().put(`/v1/me/consents/${purpose}`).set(auth).send({ policyVersion: V1 })).status).toBe(200);
    }
    const jobs: Record<string, string> = {};
    const images: Record<string, string> = {};
    for (const purpose of ['photo-restore', 'photo-enlarge']) {
      const image = await jpegImage();
      const uploaded = await t.http().post('/v1/images').set(auth).send({ imageBase64: base64Of(image), contentType: image.contentType, purpose, faces: [{ x: 4, y: 4, width: 16, height: 16 }] });
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      const queued = await t.http().post(`/v1/images/${uploaded.body.imageId}/jobs`).set(auth).send({ purpose });
      expect(queued.status, JSON.stringify(queued.body)).toBe(202);
      jobs[purpose] = queued.body.jobId;
      images[purpose] = uploaded.body.imageId;
    }
    const mark = await t.mark();
    const res = await t.http().delete('/v1/me/consents/photo-restore').set(auth);
    expect(res.status).toBe(200);
    const events = (await t.eventsSince(mark)).map((e) => [e.stream, e.type, e.data.reason ?? null]);
    expect(events.slice(0, 2)).toEqual([
      [`subject-${someone.subjectId}`, 'ConsentWithdrawn', null],
      [`job-${jobs['photo-restore']}`, 'JobCancelled', 'consent-withdrawn'],
    ]);
    // With the subject-rights withdrawal cascade wired in (PIPL art. 47), the purpose's originals
    // are deleted too; nothing of the other purpose is touched either way.
    expect(events.slice(2)).toEqual(events.length > 2 ? [[`image-${images['photo-restore']}`, 'ImageDeleted', 'consent-withdrawn']] : []);
    expect((await t.http().get(`/v1/jobs/${jobs['photo-restore']}`).set(auth)).body.status).toBe('cancelled');
    expect((await t.http().get(`/v1/jobs/${jobs['photo-enlarge']}`).set(auth)).body.status).toBe('queued');
  });

  it('restrictions: PUT records ProcessingRestricted once, DELETE RestrictionLifted once; GET and the gate reflect them', async () => {
    expect((await put('ai-edit')).status).toBe(200);
    const mark = await t.mark();
    const restricted = await t.http().put('/v1/me/restrictions/ai-edit').set(bearer(subject.token));
    expect(restricted.status).toBe(200);
    expect(restricted.body).toEqual({ purpose: 'ai-edit', restricted: true });
    expect(brief(await t.eventsSince(mark))).toEqual([
      {
        stream: `subject-${subject.subjectId}`,
        type: 'ProcessingRestricted',
        data: { subjectId: subject.subjectId, purpose: 'ai-edit', requestId: null },
        actor: `subject:${subject.subjectId}`,
      },
    ]);
    const again = await t.mark();
    expect((await t.http().put('/v1/me/restrictions/ai-edit').set(bearer(subject.token))).body).toEqual({ purpose: 'ai-edit', restricted: true });
    expect(await t.eventsSince(again)).toEqual([]);
    expect((await get()).body.consents.find((c: { purpose: string }) => c.purpose === 'ai-edit')).toMatchObject({ granted: true, restricted: true });
    expect(await t.app.get(ConsentGate).verdict(subject.subjectId, 'ai-edit')).toMatchObject({ allowed: false, code: 'PURPOSE_RESTRICTED' });

    const beforeLift = await t.mark();
    const lifted = await t.http().delete('/v1/me/restrictions/ai-edit').set(bearer(subject.token));
    expect(lifted.body).toEqual({ purpose: 'ai-edit', restricted: false });
    expect(brief(await t.eventsSince(beforeLift))).toEqual([
      { stream: `subject-${subject.subjectId}`, type: 'RestrictionLifted', data: { subjectId: subject.subjectId, purpose: 'ai-edit' }, actor: `subject:${subject.subjectId}` },
    ]);
    const afterLift = await t.mark();
    expect((await t.http().delete('/v1/me/restrictions/ai-edit').set(bearer(subject.token))).body).toEqual({ purpose: 'ai-edit', restricted: false });
    expect((await t.http().delete('/v1/me/restrictions/time-painting').set(bearer(subject.token))).body).toEqual({ purpose: 'time-painting', restricted: false });
    expect(await t.eventsSince(afterLift)).toEqual([]);
    expect(await t.app.get(ConsentGate).verdict(subject.subjectId, 'ai-edit')).toEqual({ allowed: true });
  });

  it('an upload for a restricted purpose is refused with PURPOSE_RESTRICTED, one without consent with CONSENT_REQUIRED', async () => {
    const image = await jpegImage();
    const body = (purpose: string) => ({ imageBase64: base64Of(image), contentType: image.contentType, purpose, faces: [{ x: 4, y: 4, width: 16, height: 16 }] });
    await t.http().put('/v1/me/restrictions/ai-edit').set(bearer(subject.token));
    const mark = await t.mark();
    const restricted = await t.http().post('/v1/images').set(bearer(subject.token)).send(body('ai-edit'));
    expect([restricted.status, restricted.body.code]).toEqual([422, 'PURPOSE_RESTRICTED']);
    const noConsent = await t.http().post('/v1/images').set(bearer(subject.token)).send(body('time-painting'));
    expect([noConsent.status, noConsent.body.code, noConsent.body.currentPolicyVersion]).toEqual([422, 'CONSENT_REQUIRED', V1]);
    expect(await t.eventsSince(mark)).toEqual([]);
    await t.http().delete('/v1/me/restrictions/ai-edit').set(bearer(subject.token));
  });

  it('needs a subject token: none or a bad one 401, a staff token 403; nothing appended', async () => {
    const mark = await t.mark();
    const calls = [
      () => t.http().get('/v1/me/consents'),
      () => t.http().put('/v1/me/consents/photo-restore').send({ policyVersion: V1 }),
      () => t.http().delete('/v1/me/consents/photo-restore'),
      () => t.http().put('/v1/me/restrictions/photo-restore'),
      () => t.http().delete('/v1/me/restrictions/photo-restore'),
    ];
    for (const call of calls) {
      expect((await call()).status).toBe(401);
      expect((await call().set(bearer('not-a-token'))).status).toBe(401);
      const staff = await call().set(bearer(STAFF.dpo));
      expect([staff.status, staff.body.code]).toEqual([403, 'FORBIDDEN']);
    }
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('an account being erased can no longer change consents (401)', async () => {
    const leaving = await registerSubject(t);
    await t.app.get(EventLog).append(
      streams.subject(leaving.subjectId),
      [{ type: 'SubjectErasureStarted', data: { subjectId: leaving.subjectId, receiptId: randomUUID() } }],
      'any',
      { actor: `subject:${leaving.subjectId}`, correlationId: 'test', causationId: null },
    );
    await t.settle();
    const mark = await t.mark();
    expect((await t.http().put('/v1/me/consents/photo-restore').set(bearer(leaving.token)).send({ policyVersion: V1 })).status).toBe(401);
    expect((await t.http().get('/v1/me/consents').set(bearer(leaving.token))).status).toBe(401);
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('the OpenAPI document describes the consent endpoints and their codes', async () => {
    const doc = (await t.http().get('/docs-json')).body;
    expect(doc.paths['/v1/me/consents'].get.responses['200']).toBeDefined();
    const grant = doc.paths['/v1/me/consents/{purpose}'].put;
    expect(grant.responses['422'].description).toContain('POLICY_VERSION_MISMATCH');
    expect(grant.responses['422'].description).toContain('PURPOSE_NOT_ALLOWED');
    expect(doc.paths['/v1/me/consents/{purpose}'].delete.responses['200']).toBeDefined();
    expect(doc.paths['/v1/me/restrictions/{purpose}'].put.responses['200']).toBeDefined();
    expect(doc.paths['/v1/me/restrictions/{purpose}'].delete.responses['200']).toBeDefined();
  });
});

describe('a privacy policy update (restart with another POLICY_VERSION on the same DATA_DIR) (e2e)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'pm-e2e-policy-'));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('an old consent no longer counts (GET granted false, CONSENT_REQUIRED naming the new version) until the subject consents again', async () => {
    const before = await startTestApp({ dataDir });
    let subject: Subject;
    try {
      subject = await registerSubject(before);
      for (const purpose of ['photo-restore', 'erase-pen']) {
        expect((await before.http().put(`/v1/me/consents/${purpose}`).set(bearer(subject.token)).send({ policyVersion: V1 })).status).toBe(200);
      }
      expect(await before.app.get(ConsentGate).verdict(subject.subjectId, 'photo-restore')).toEqual({ allowed: true });
    } finally {
      await before.close();
    }

    const after = await startTestApp({ dataDir, env: { POLICY_VERSION: V2 } });
    try {
      const signIn = await after.http().post('/v1/devices/token').send({ deviceId: subject.deviceId, deviceSecret: subject.deviceSecret });
      expect(signIn.status).toBe(200);
      const auth = bearer(signIn.body.accessToken);

      const list = await after.http().get('/v1/me/consents').set(auth);
      expect(list.body.currentPolicyVersion).toBe(V2);
      expect(list.body.consents.find((c: { purpose: string }) => c.purpose === 'photo-restore')).toMatchObject({ granted: false, policyVersion: V1, at: expect.any(String) });
      expect(list.body.consents.find((c: { purpose: string }) => c.purpose === 'erase-pen')).toMatchObject({ granted: false, policyVersion: V1 });

      // The gate (upload and job start) refuses with CONSENT_REQUIRED naming the new version.
      const image = await jpegImage();
      const mark = await after.mark();
      const upload = await after
        .http()
        .post('/v1/images')
        .set(auth)
        .send({ imageBase64: base64Of(image), contentType: image.contentType, purpose: 'photo-restore', faces: [{ x: 4, y: 4, width: 16, height: 16 }] });
      expect([upload.status, upload.body.code, upload.body.currentPolicyVersion]).toEqual([422, 'CONSENT_REQUIRED', V2]);
      expect(upload.body.detail).toContain(V2);

      // Consenting to the old version is refused; to the new one counts again.
      const old = await after.http().put('/v1/me/consents/photo-restore').set(auth).send({ policyVersion: V1 });
      expect([old.status, old.body.code, old.body.currentPolicyVersion]).toEqual([422, 'POLICY_VERSION_MISMATCH', V2]);
      expect(await after.eventsSince(mark)).toEqual([]);

      const renewed = await after.http().put('/v1/me/consents/photo-restore').set(auth).send({ policyVersion: V2 });
      expect(renewed.body).toMatchObject({ purpose: 'photo-restore', granted: true, policyVersion: V2 });
      expect(brief(await after.eventsSince(mark))).toEqual([
        {
          stream: `subject-${subject.subjectId}`,
          type: 'ConsentGranted',
          data: { subjectId: subject.subjectId, purpose: 'photo-restore', policyVersion: V2 },
          actor: `subject:${subject.subjectId}`,
        },
      ]);
      expect(await after.app.get(ConsentGate).verdict(subject.subjectId, 'photo-restore')).toEqual({ allowed: true });
      expect(await after.app.get(ConsentGate).verdict(subject.subjectId, 'erase-pen')).toMatchObject({ allowed: false, code: 'CONSENT_REQUIRED' });

      // Withdrawing the outdated consent still records it.
      const beforeWithdraw = await after.mark();
      expect((await after.http().delete('/v1/me/consents/erase-pen').set(auth)).body).toMatchObject({ granted: false, policyVersion: V1 });
      expect((await after.eventsSince(beforeWithdraw)).map((e) => [e.type, e.data.policyVersion])).toEqual([['ConsentWithdrawn', V1]]);
    } finally {
      await after.close();
    }
  });
});
