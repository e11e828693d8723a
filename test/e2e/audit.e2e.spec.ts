/**
 * The auditors' side and the subject's right to know, end to end over HTTP: history and access
 * log for the subject, the log itself for auditors (paged, filtered, NDJSON), a subject's timeline
 * and the access log for auditors, verification of the read models. Every auditor read is
 * recorded as exactly one AuditorAccessed event; refusals record nothing.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/events';
import type { Actor } from '../../src/events/metadata';
import { EventLog } from '../../src/modules/event-store/event-log';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { ProjectionRunner } from '../../src/projections/projection-runner';
import { bearer, registerSubject, STAFF, startTestApp, type TestApp } from '../support/test-app';

const SHA = 'cd'.repeat(32);
const FACES = [{ x: 11, y: 22, width: 133, height: 144 }];

describe('audit and history endpoints (e2e)', () => {
  let t: TestApp;
  let alice: { subjectId: string; token: string };
  let bob: { subjectId: string; token: string };
  const imageA = randomUUID();
  const imageB = randomUUID();
  const jobA = randomUUID();

  async function append(stream: string, actor: Actor, event: DomainEvent): Promise<void> {
    t.clock.advance(1_000);
    const result = await t.app.get(EventLog).append(stream, [event], 'any', { actor, correlationId: randomUUID(), causationId: null });
    await t.app.get(ProjectionRunner).waitFor(result.position);
  }
  const auditor = () => bearer(STAFF.auditor);
  const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    t = await startTestApp();
    alice = await registerSubject(t);
    bob = await registerSubject(t);
    const a: Actor = `subject:${alice.subjectId}`;
    await append(`image-${imageA}`, a, {
      type: 'ImageUploaded',
      data: { imageId: imageA, subjectId: alice.subjectId, purpose: 'photo-restore', contentType: 'image/png', objectKey: `originals/${alice.subjectId}/${imageA}`, size: 100, sha256: SHA, width: 10, height: 10, faceCount: 1, faces: FACES },
    });
    await append(`image-${imageA}`, a, { type: 'ImageViewed', data: { imageId: imageA, subjectId: alice.subjectId, purpose: 'subject-view', dataPurpose: 'photo-restore' } });
    await append(`job-${jobA}`, 'system:processing', {
      type: 'DataDisclosedToProcessor',
      data: { jobId: jobA, subjectId: alice.subjectId, imageId: imageA, processor: 'local-sharp', purpose: 'photo-restore', objectSha256: SHA, bytes: 100 },
    });
    await append(`image-${imageB}`, `subject:${bob.subjectId}`, {
      type: 'ImageUploaded',
      data: { imageId: imageB, subjectId: bob.subjectId, purpose: 'time-painting', contentType: 'image/jpeg', objectKey: `originals/${bob.subjectId}/${imageB}`, size: 200, sha256: SHA, width: 20, height: 20, faceCount: 0, faces: [] },
    });
    // Wrapped key material never appears in audit output, whatever the key store.
    await t.store.append(`subjectkey-${alice.subjectId}`, [{ id: randomUUID(), type: 'SubjectKeyCreated', data: { wrappedKey: 'c2VjcmV0' }, metadata: { occurredAt: t.clock.now().toISOString(), actor: 'system:keys' } }], 'any');
    await t.settle();
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('refusals: 401 without a token, 403 for a subject or a DPO, nothing recorded', () => {
    const routes: [string, string][] = [
      ['get', '/v1/audit/events'],
      ['get', '/v1/audit/access-log'],
      ['get', `/v1/audit/subjects/${randomUUID()}/history`],
      ['post', '/v1/audit/verifications'],
    ];
    it.each(routes)('%s %s', async (method, path) => {
      const mark = await t.mark();
      const call = () => (method === 'get' ? t.http().get(path) : t.http().post(path).send({}));
      const none = await call();
      expect(none.status).toBe(401);
      expect(none.body.code).toBe('UNAUTHORIZED');
      const subject = await call().set(bearer(alice.token));
      expect(subject.status).toBe(403);
      expect(subject.body.code).toBe('FORBIDDEN');
      const dpo = await call().set(bearer(STAFF.dpo));
      expect(dpo.status).toBe(403);
      expect(await t.eventsSince(mark)).toEqual([]);
    });

    it('the subject routes refuse no token (401) and staff tokens (403)', async () => {
      for (const path of ['/v1/me/history', '/v1/me/access-log']) {
        expect((await t.http().get(path)).status).toBe(401);
        const staff = await t.http().get(path).set(auditor());
        expect(staff.status).toBe(403);
        expect(staff.body.code).toBe('FORBIDDEN');
      }
    });
  });

  it('GET /v1/me/history: the caller’s actions only, oldest first, face boxes decrypted; another subject’s never', async () => {
    const res = await t.http().get('/v1/me/history').set(bearer(alice.token));
    expect(res.status).toBe(200);
    const events = res.body.events as { type: string; resource: string; actor: string; purpose?: string; detail: Record<string, unknown> }[];
    expect(events.map((e) => e.type)).toEqual(['SubjectRegistered', 'AdultConfirmed', 'ImageUploaded', 'ImageViewed', 'DataDisclosedToProcessor']);
    expect(events[2]).toEqual({
      at: expect.any(String),
      type: 'ImageUploaded',
      resource: `image:${imageA}`,
      purpose: 'photo-restore',
      actor: `subject:${alice.subjectId}`,
      detail: { purpose: 'photo-restore', contentType: 'image/png', size: 100, width: 10, height: 10, faceCount: 1, faces: FACES },
    });
    expect(JSON.stringify(res.body)).not.toContain(bob.subjectId);
    expect(JSON.stringify(res.body)).not.toContain(imageB);
    const theirs = await t.http().get('/v1/me/history').set(bearer(bob.token));
    expect(theirs.body.events.map((e: { type: string }) => e.type)).toEqual(['SubjectRegistered', 'AdultConfirmed', 'ImageUploaded']);
    expect(JSON.stringify(theirs.body)).not.toContain(alice.subjectId);
  });

  it('GET /v1/me/access-log: the view and the hand-over to the processor', async () => {
    const res = await t.http().get('/v1/me/access-log').set(bearer(alice.token));
    expect(res.status).toBe(200);
    expect(res.body.accesses).toEqual([
      { at: expect.any(String), actor: `subject:${alice.subjectId}`, resource: `image:${imageA}`, purpose: 'subject-view' },
      { at: expect.any(String), actor: 'processor:local-sharp', resource: `image:${imageA}`, purpose: 'photo-restore' },
    ]);
  });

  it('GET /v1/audit/events pages through the log in order, personal fields "[encrypted]", key streams left out; each page is recorded', async () => {
    const all: StoredEvent[] = [];
    for await (const e of t.store.readAll()) all.push(e);
    const shown = all.filter((e) => !e.stream.startsWith('subjectkey-'));
    const pages: Record<string, unknown>[][] = [];
    let from: string | null = null;
    const recorded: StoredEvent[] = [];
    do {
      const mark = await t.mark();
      const query: Record<string, string | number> = { limit: 3, ...(from ? { fromPosition: from } : {}) };
      const res: { status: number; body: { events: Record<string, unknown>[]; nextPosition: string | null } } = await t.http().get('/v1/audit/events').query(query).set(auditor());
      expect(res.status).toBe(200);
      const appended = await t.eventsSince(mark);
      expect(appended.map((e) => e.type)).toEqual(['AuditorAccessed']);
      recorded.push(...appended);
      expect(appended[0].data).toEqual({ auditor: 'alice', endpoint: 'GET /v1/audit/events', query: { limit: 3, ...(from ? { fromPosition: from } : {}) }, subjectId: null, resultCount: res.body.events.length });
      expect(appended[0].metadata.actor).toBe('auditor:alice');
      pages.push(res.body.events);
      from = res.body.nextPosition;
    } while (from !== null && pages.length < 50);
    const listed = pages.flat();
    // The pages cover the log as it was, plus the recordings of the earlier pages.
    const expected = [...shown, ...recorded.slice(0, -1)].map((e) => `${e.position.commit}:${e.position.prepare}`);
    expect(listed.map((e) => e.position)).toEqual(expected.slice(0, listed.length));
    expect(listed.length).toBeGreaterThanOrEqual(shown.length);
    expect(listed.some((e) => String(e.stream).startsWith('subjectkey-'))).toBe(false);
    const upload = listed.find((e) => e.type === 'ImageUploaded' && (e.data as { imageId: string }).imageId === imageA);
    expect(upload).toMatchObject({ stream: `image-${imageA}`, revision: 0, actor: `subject:${alice.subjectId}`, data: { faces: '[encrypted]', faceCount: 1, sha256: SHA } });
    const registered = listed.find((e) => e.type === 'SubjectRegistered');
    expect((registered?.data as { deviceId: string }).deviceId).toBe('[encrypted]');
  });

  it('filters by subject, type and category; refuses malformed positions and parameters without recording', async () => {
    const bySubject = await t.http().get('/v1/audit/events').query({ subjectId: bob.subjectId, limit: 100 }).set(auditor());
    expect(bySubject.status).toBe(200);
    expect(bySubject.body.events.map((e: { type: string }) => e.type)).toEqual(['DeviceRegistered', 'SubjectRegistered', 'AdultConfirmed', 'ImageUploaded']);
    const byType = await t.http().get('/v1/audit/events').query({ type: 'ImageViewed' }).set(auditor());
    expect(byType.body.events.map((e: { data: { imageId: string } }) => e.data.imageId)).toEqual([imageA]);
    const byCategory = await t.http().get('/v1/audit/events').query({ category: 'job', type: 'DataDisclosedToProcessor' }).set(auditor());
    expect(byCategory.body.events).toHaveLength(1);
    expect(byCategory.body.nextPosition).toBeNull();

    const mark = await t.mark();
    const bad = await t.http().get('/v1/audit/events').query({ fromPosition: '12' }).set(auditor());
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_POSITION');
    expect((await t.http().get('/v1/audit/events').query({ fromPosition: '1:x' }).set(auditor())).body.code).toBe('INVALID_POSITION');
    expect((await t.http().get('/v1/audit/events').query({ category: 'subjectkey' }).set(auditor())).body.code).toBe('VALIDATION_FAILED');
    expect((await t.http().get('/v1/audit/events').query({ limit: 0 }).set(auditor())).body.code).toBe('VALIDATION_FAILED');
    expect((await t.http().get('/v1/audit/events').query({ type: 'NoSuchEvent' }).set(auditor())).status).toBe(400);
    expect((await t.http().get('/v1/audit/events').query({ evil: '1' }).set(auditor())).body.code).toBe('UNKNOWN_FIELD');
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('streams the whole remaining log as NDJSON when asked, recorded once when the stream starts', async () => {
    const mark = await t.mark();
    const res = await t.http().get('/v1/audit/events').set(auditor()).set('Accept', 'application/x-ndjson').buffer(true).parse((response, callback) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => callback(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const streamed = lines(res.body as string);
    const all: StoredEvent[] = [];
    for await (const e of t.store.readAll()) if (!e.stream.startsWith('subjectkey-')) all.push(e);
    expect(streamed.map((e) => e.position)).toEqual(all.map((e) => `${e.position.commit}:${e.position.prepare}`));
    const appended = await t.eventsSince(mark);
    expect(appended.map((e) => [e.type, e.data.resultCount, (e.data.query as { format: string }).format])).toEqual([['AuditorAccessed', 0, 'ndjson']]);
    // The recording of this very read is the last line.
    expect(streamed[streamed.length - 1]).toMatchObject({ type: 'AuditorAccessed', data: { query: { format: 'ndjson' } } });

    const oneSubject = await t.http().get('/v1/audit/events').query({ subjectId: alice.subjectId, limit: 2 }).set(auditor()).set('Accept', 'application/x-ndjson').buffer(true).parse((response, callback) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => callback(null, text));
    });
    expect(lines(oneSubject.body as string).map((e) => e.type)).toEqual(['DeviceRegistered', 'SubjectRegistered']);
  });

  it('GET /v1/audit/subjects/{id}/history: the full timeline decrypted, recorded as an access the subject then sees', async () => {
    const mark = await t.mark();
    const res = await t.http().get(`/v1/audit/subjects/${alice.subjectId}/history`).set(auditor());
    expect(res.status).toBe(200);
    expect(res.body.subjectId).toBe(alice.subjectId);
    expect(res.body.events.find((e: { type: string }) => e.type === 'ImageUploaded').detail.faces).toEqual(FACES);
    const appended = await t.eventsSince(mark);
    expect(appended.map((e) => [e.stream, e.type, e.data])).toEqual([
      [
        `audit-${t.clock.now().toISOString().slice(0, 10)}`,
        'AuditorAccessed',
        { auditor: 'alice', endpoint: 'GET /v1/audit/subjects/{subjectId}/history', query: { subjectId: alice.subjectId }, subjectId: alice.subjectId, resultCount: res.body.events.length },
      ],
    ]);
    await t.settle();
    const mine = await t.http().get('/v1/me/access-log').set(bearer(alice.token));
    expect(mine.body.accesses[mine.body.accesses.length - 1]).toEqual({ at: expect.any(String), actor: 'auditor:alice', resource: `subject:${alice.subjectId}`, purpose: 'audit' });
    const history = await t.http().get('/v1/me/history').set(bearer(alice.token));
    expect(history.body.events[history.body.events.length - 1]).toMatchObject({ type: 'AuditorAccessed', actor: 'auditor:alice', resource: `subject:${alice.subjectId}` });
    // Bob sees nothing of it (only the reads about him: the filtered event reads above).
    const bobs = (await t.http().get('/v1/me/access-log').set(bearer(bob.token))).body.accesses as { resource: string }[];
    expect(bobs.length).toBeGreaterThan(0);
    expect(bobs.every((a) => a.resource === `subject:${bob.subjectId}`)).toBe(true);

    const unknown = await t.http().get(`/v1/audit/subjects/${randomUUID()}/history`).set(auditor());
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('SUBJECT_NOT_FOUND');
    expect((await t.http().get('/v1/audit/subjects/not-a-uuid/history').set(auditor())).body.code).toBe('INVALID_ID');
  });

  it('GET /v1/audit/access-log filters by subject, actor and time and pages by position', async () => {
    const bySubject = await t.http().get('/v1/audit/access-log').query({ subjectId: alice.subjectId }).set(auditor());
    expect(bySubject.status).toBe(200);
    const rows = bySubject.body.accesses.map((a: { actor: string; type: string; subjectId: string }) => [a.actor, a.type, a.subjectId]);
    expect(rows.slice(0, 2)).toEqual([
      [`subject:${alice.subjectId}`, 'ImageViewed', alice.subjectId],
      ['processor:local-sharp', 'DataDisclosedToProcessor', alice.subjectId],
    ]);
    // Then every auditor read about her so far (the filtered NDJSON read, the timeline read).
    expect(rows.slice(2)).toEqual([
      ['auditor:alice', 'AuditorAccessed', alice.subjectId],
      ['auditor:alice', 'AuditorAccessed', alice.subjectId],
    ]);
    const byActor = await t.http().get('/v1/audit/access-log').query({ actor: 'processor:local-sharp' }).set(auditor());
    expect(byActor.body.accesses).toEqual([
      { position: expect.stringMatching(/^\d+:\d+$/), at: expect.any(String), subjectId: alice.subjectId, actor: 'processor:local-sharp', resource: `image:${imageA}`, purpose: 'photo-restore', type: 'DataDisclosedToProcessor' },
    ]);
    const first = await t.http().get('/v1/audit/access-log').query({ limit: 1 }).set(auditor());
    expect(first.body.accesses).toHaveLength(1);
    const second = await t.http().get('/v1/audit/access-log').query({ limit: 1, fromPosition: first.body.nextPosition }).set(auditor());
    expect(second.body.accesses[0].position).not.toBe(first.body.accesses[0].position);
    const future = await t.http().get('/v1/audit/access-log').query({ from: '2030-01-01T00:00:00Z' }).set(auditor());
    expect(future.body).toEqual({ accesses: [], nextPosition: null });
    const inverted = await t.http().get('/v1/audit/access-log').query({ from: '2026-03-03T00:00:00Z', to: '2026-03-01T00:00:00Z' }).set(auditor());
    expect(inverted.status).toBe(400);
    expect(inverted.body.code).toBe('INVALID_TIME_RANGE');
  });

  it('POST /v1/audit/verifications: 201, the views match the log; a corrupted row is reported with both sides; VerificationCompleted recorded', async () => {
    await t.settle();
    const mark = await t.mark();
    const ok = await t.http().post('/v1/audit/verifications').set(auditor()).send();
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ verificationId: expect.any(String), projectionsMatch: true, mismatches: [], mismatchCount: 0, retentionViolations: expect.any(Array) });
    expect(ok.body.eventsReplayed).toBeGreaterThan(10);
    const recorded = await t.eventsSince(mark);
    expect(recorded.map((e) => [e.type, e.data.verificationId, e.data.projectionsMatch, e.data.mismatchCount])).toEqual([['VerificationCompleted', ok.body.verificationId, true, 0]]);

    // Someone edits a history row behind the service's back.
    const raw = new Database(join(t.dataDir, 'readmodels.db'));
    try {
      raw.prepare("UPDATE history SET actor = 'subject:someone-else' WHERE type = 'ImageViewed' AND subject_id = ?").run(alice.subjectId);
    } finally {
      raw.close();
    }
    const bad = await t.http().post('/v1/audit/verifications').set(auditor()).send();
    expect(bad.status).toBe(201);
    expect(bad.body.projectionsMatch).toBe(false);
    expect(bad.body.mismatches).toEqual([
      {
        projection: 'history',
        table: 'history',
        key: { seq: expect.any(Number) },
        live: expect.objectContaining({ type: 'ImageViewed', actor: 'subject:someone-else' }),
        replayed: expect.objectContaining({ type: 'ImageViewed', actor: `subject:${alice.subjectId}` }),
      },
    ]);
    await t.app.get(ProjectionRunner).rebuild(['history']);
    await t.app.get(ProjectionRunner).waitUntilCaughtUp();
    const repaired = await t.http().post('/v1/audit/verifications').set(auditor()).send();
    expect(repaired.body.projectionsMatch).toBe(true);
  });

  it('readiness says whether the projections have caught up and how far behind the log they are', async () => {
    await t.settle();
    const res = await t.http().get('/health/ready');
    expect(res.body.checks.projections).toMatchObject({ status: 'up', caughtUp: true, failed: null, behindPositions: '0' });
    const head = await t.store.headPosition();
    expect(res.body.checks.projections.checkpoint).toEqual({ commit: String(head?.commit), prepare: String(head?.prepare) });
  });

  it('describes every audit and history route in the OpenAPI document', async () => {
    const doc = await t.http().get('/docs-json');
    const paths = Object.keys(doc.body.paths);
    for (const path of ['/v1/me/history', '/v1/me/access-log', '/v1/audit/events', '/v1/audit/subjects/{subjectId}/history', '/v1/audit/access-log', '/v1/audit/verifications']) {
      expect(paths).toContain(path);
    }
    expect(JSON.stringify(doc.body.paths['/v1/audit/events'])).toContain('INVALID_POSITION');
  });
});
