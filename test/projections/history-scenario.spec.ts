/**
 * A scripted multi-subject scenario through the real EventLog (personal fields really encrypted),
 * the runner and every projection: the history, access-log and consent views must hold exactly
 * what the events imply, personal fields decrypted on read and "[shredded]" after erasure, never
 * another subject's rows; and a rebuild from zero must equal the live views.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/events';
import type { Actor } from '../../src/events/metadata';
import type { HistoryEntry } from '../../src/modules/audit/read-models/subject-history.reader';
import { verifyProjections } from '../../src/projections/verification/projection-verifier';
import { startHarness, type Harness } from './projection-harness';

const A = '0a5c6f1e-1111-4a1a-8a1a-00000000000a';
const B = '0b5c6f1e-2222-4b2b-8b2b-00000000000b';
const C = '0c5c6f1e-3333-4c3c-8c3c-00000000000c';
const IMG_A = '1a000000-0000-4000-8000-00000000000a';
const IMG_B = '1b000000-0000-4000-8000-00000000000b';
const IMG_C = '1c000000-0000-4000-8000-00000000000c';
const JOB_A = '2a000000-0000-4000-8000-00000000000a';
const ART_A = '3a000000-0000-4000-8000-00000000000a';
const REQ_A = '4a000000-0000-4000-8000-00000000000a';
const RECEIPT_C = '5c000000-0000-4000-8000-00000000000c';
const SHA = 'ab'.repeat(32);
const FACES_A = [{ x: 10, y: 20, width: 100, height: 120 }];
const FACES_C = [{ x: 1, y: 2, width: 30, height: 40 }];

describe('history, access log and consent views of a scripted multi-subject scenario', () => {
  let h: Harness;
  const expectedHistory: Record<string, HistoryEntry[]> = { [A]: [], [B]: [], [C]: [] };
  const expectedAccess: Record<string, { at: string; actor: string; resource: string; purpose: string }[]> = { [A]: [], [B]: [], [C]: [] };

  /** Appends one event and returns its time. */
  async function step(stream: string, actor: Actor, event: DomainEvent): Promise<string> {
    await h.append(stream, actor, event);
    return h.clock.now().toISOString();
  }
  function shows(subject: string, entry: HistoryEntry): void {
    expectedHistory[subject].push(entry);
  }

  beforeAll(async () => {
    h = await startHarness();
    const a: Actor = `subject:${A}`;
    const b: Actor = `subject:${B}`;
    const c: Actor = `subject:${C}`;
    let at: string;

    // A registers, consents, uploads, looks at the original.
    at = await step(`subject-${A}`, a, { type: 'SubjectRegistered', data: { subjectId: A, deviceId: 'device-of-a', ageBasis: 'adult', policyVersion: '2025-06-24' } });
    shows(A, { at, type: 'SubjectRegistered', resource: `subject:${A}`, actor: a, detail: { ageBasis: 'adult', policyVersion: '2025-06-24' } });
    at = await step(`subject-${A}`, a, { type: 'ConsentGranted', data: { subjectId: A, purpose: 'photo-restore', policyVersion: '2025-06-24' } });
    shows(A, { at, type: 'ConsentGranted', resource: 'consent:photo-restore', purpose: 'photo-restore', actor: a, detail: { purpose: 'photo-restore', policyVersion: '2025-06-24' } });

    // B registers in between: A's views must never show B.
    at = await step(`subject-${B}`, b, { type: 'SubjectRegistered', data: { subjectId: B, deviceId: 'device-of-b', ageBasis: 'guardian', policyVersion: '2025-06-24' } });
    shows(B, { at, type: 'SubjectRegistered', resource: `subject:${B}`, actor: b, detail: { ageBasis: 'guardian', policyVersion: '2025-06-24' } });
    at = await step(`subject-${B}`, b, { type: 'GuardianConsentRecorded', data: { subjectId: B } });
    shows(B, { at, type: 'GuardianConsentRecorded', resource: `subject:${B}`, actor: b, detail: {} });
    at = await step(`subject-${B}`, b, { type: 'ConsentGranted', data: { subjectId: B, purpose: 'time-painting', policyVersion: '2025-06-24' } });
    shows(B, { at, type: 'ConsentGranted', resource: 'consent:time-painting', purpose: 'time-painting', actor: b, detail: { purpose: 'time-painting', policyVersion: '2025-06-24' } });

    const uploadA = { imageId: IMG_A, subjectId: A, purpose: 'photo-restore' as const, contentType: 'image/jpeg' as const, objectKey: `originals/${A}/${IMG_A}`, size: 1234, sha256: SHA, width: 640, height: 480, faceCount: 1, faces: FACES_A };
    at = await step(`image-${IMG_A}`, a, { type: 'ImageUploaded', data: uploadA });
    shows(A, { at, type: 'ImageUploaded', resource: `image:${IMG_A}`, purpose: 'photo-restore', actor: a, detail: { purpose: 'photo-restore', contentType: 'image/jpeg', size: 1234, width: 640, height: 480, faceCount: 1, faces: FACES_A } });
    at = await step(`oplog-${A}`, 'system:processing', { type: 'FaceDetectionLogged', data: { subjectId: A, imageId: IMG_A, purpose: 'photo-restore', faceCount: 1 } });
    // (operation logs are not part of the history: their own 7-day retention)
    at = await step(`image-${IMG_A}`, a, { type: 'ImageViewed', data: { imageId: IMG_A, subjectId: A, purpose: 'subject-view', dataPurpose: 'photo-restore' } });
    shows(A, { at, type: 'ImageViewed', resource: `image:${IMG_A}`, purpose: 'photo-restore', actor: a, detail: { purpose: 'subject-view', dataPurpose: 'photo-restore' } });
    expectedAccess[A].push({ at, actor: a, resource: `image:${IMG_A}`, purpose: 'subject-view' });

    // B uploads and views its own original.
    at = await step(`image-${IMG_B}`, b, { type: 'ImageUploaded', data: { ...uploadA, imageId: IMG_B, subjectId: B, purpose: 'time-painting', objectKey: `originals/${B}/${IMG_B}`, faces: [] , faceCount: 0 } });
    shows(B, { at, type: 'ImageUploaded', resource: `image:${IMG_B}`, purpose: 'time-painting', actor: b, detail: { purpose: 'time-painting', contentType: 'image/jpeg', size: 1234, width: 640, height: 480, faceCount: 0, faces: [] } });
    at = await step(`image-${IMG_B}`, b, { type: 'ImageViewed', data: { imageId: IMG_B, subjectId: B, purpose: 'subject-view', dataPurpose: 'time-painting' } });
    shows(B, { at, type: 'ImageViewed', resource: `image:${IMG_B}`, purpose: 'time-painting', actor: b, detail: { purpose: 'subject-view', dataPurpose: 'time-painting' } });
    expectedAccess[B].push({ at, actor: b, resource: `image:${IMG_B}`, purpose: 'subject-view' });

    // A's job, every step.
    const sys: Actor = 'system:processing';
    at = await step(`job-${JOB_A}`, a, { type: 'JobQueued', data: { jobId: JOB_A, imageId: IMG_A, subjectId: A, purpose: 'photo-restore', options: { strength: 3, note: 'left cheek' } } });
    shows(A, { at, type: 'JobQueued', resource: `job:${JOB_A}`, purpose: 'photo-restore', actor: a, detail: { imageId: IMG_A, purpose: 'photo-restore', options: { strength: 3, note: 'left cheek' } } });
    at = await step(`job-${JOB_A}`, sys, { type: 'JobStarted', data: { jobId: JOB_A, subjectId: A, imageId: IMG_A, purpose: 'photo-restore', attempt: 1, worker: 'w1', leaseUntil: '2026-03-02T03:00:00.000Z' } });
    shows(A, { at, type: 'JobStarted', resource: `job:${JOB_A}`, purpose: 'photo-restore', actor: sys, detail: { imageId: IMG_A, purpose: 'photo-restore', attempt: 1, worker: 'w1', leaseUntil: '2026-03-02T03:00:00.000Z' } });
    at = await step(`job-${JOB_A}`, sys, { type: 'TempFileCreated', data: { jobId: JOB_A, subjectId: A, objectKey: `temp/${A}/${JOB_A}/in`, kind: 'input', size: 99 } });
    shows(A, { at, type: 'TempFileCreated', resource: `job:${JOB_A}`, actor: sys, detail: { kind: 'input', size: 99 } });
    at = await step(`job-${JOB_A}`, sys, { type: 'DataDisclosedToProcessor', data: { jobId: JOB_A, subjectId: A, imageId: IMG_A, processor: 'local-sharp', purpose: 'photo-restore', objectSha256: SHA, bytes: 1234 } });
    shows(A, { at, type: 'DataDisclosedToProcessor', resource: `job:${JOB_A}`, purpose: 'photo-restore', actor: sys, detail: { imageId: IMG_A, processor: 'local-sharp', purpose: 'photo-restore', bytes: 1234 } });
    expectedAccess[A].push({ at, actor: 'processor:local-sharp', resource: `image:${IMG_A}`, purpose: 'photo-restore' });
    at = await step(`job-${JOB_A}`, sys, { type: 'JobCompleted', data: { jobId: JOB_A, subjectId: A, imageId: IMG_A, purpose: 'photo-restore', artworkId: ART_A, summary: { durationMs: 40 } } });
    shows(A, { at, type: 'JobCompleted', resource: `job:${JOB_A}`, purpose: 'photo-restore', actor: sys, detail: { imageId: IMG_A, purpose: 'photo-restore', artworkId: ART_A, summary: { durationMs: 40 } } });
    at = await step(`job-${JOB_A}`, 'system:retention', { type: 'TempFileDeleted', data: { jobId: JOB_A, subjectId: A, objectKey: `temp/${A}/${JOB_A}/in`, reason: 'retention', rule: 'temp-files' } });
    shows(A, { at, type: 'TempFileDeleted', resource: `job:${JOB_A}`, actor: 'system:retention', detail: { reason: 'retention', rule: 'temp-files' } });
    await step(`oplog-${A}`, sys, { type: 'ProcessingLogged', data: { subjectId: A, jobId: JOB_A, imageId: IMG_A, purpose: 'photo-restore', step: 'completed', durationMs: 40 } });
    at = await step(`artwork-${ART_A}`, sys, { type: 'ArtworkGenerated', data: { artworkId: ART_A, subjectId: A, jobId: JOB_A, imageId: IMG_A, purpose: 'photo-restore', objectKey: `artworks/${A}/${ART_A}`, contentType: 'image/png', size: 2000, sha256: SHA, width: 1280, height: 960 } });
    shows(A, { at, type: 'ArtworkGenerated', resource: `artwork:${ART_A}`, purpose: 'photo-restore', actor: sys, detail: { jobId: JOB_A, imageId: IMG_A, purpose: 'photo-restore', contentType: 'image/png', size: 2000, width: 1280, height: 960 } });
    at = await step(`artwork-${ART_A}`, a, { type: 'ArtworkViewed', data: { artworkId: ART_A, subjectId: A, purpose: 'subject-view', dataPurpose: 'photo-restore' } });
    shows(A, { at, type: 'ArtworkViewed', resource: `artwork:${ART_A}`, purpose: 'photo-restore', actor: a, detail: { purpose: 'subject-view', dataPurpose: 'photo-restore' } });
    expectedAccess[A].push({ at, actor: a, resource: `artwork:${ART_A}`, purpose: 'subject-view' });
    at = await step(`image-${IMG_A}`, 'system:retention', { type: 'ImageDeleted', data: { imageId: IMG_A, subjectId: A, purpose: 'photo-restore', objectKey: `originals/${A}/${IMG_A}`, reason: 'retention', rule: 'original-after-processing', dueAt: '2026-03-03T02:00:00.000Z' } });
    shows(A, { at, type: 'ImageDeleted', resource: `image:${IMG_A}`, purpose: 'photo-restore', actor: 'system:retention', detail: { purpose: 'photo-restore', reason: 'retention', rule: 'original-after-processing', dueAt: '2026-03-03T02:00:00.000Z' } });

    // A changes consent, restricts, exports; an auditor looks at A; a bulk auditor read names nobody.
    at = await step(`subject-${A}`, a, { type: 'ConsentWithdrawn', data: { subjectId: A, purpose: 'photo-restore', policyVersion: '2025-06-24' } });
    shows(A, { at, type: 'ConsentWithdrawn', resource: 'consent:photo-restore', purpose: 'photo-restore', actor: a, detail: { purpose: 'photo-restore', policyVersion: '2025-06-24' } });
    at = await step(`subject-${A}`, a, { type: 'ProcessingRestricted', data: { subjectId: A, purpose: 'ai-edit', requestId: null } });
    shows(A, { at, type: 'ProcessingRestricted', resource: 'restriction:ai-edit', purpose: 'ai-edit', actor: a, detail: { purpose: 'ai-edit', requestId: null } });
    at = await step(`request-${REQ_A}`, a, { type: 'RightsRequestReceived', data: { requestId: REQ_A, subjectId: A, type: 'export', resource: null, details: 'all my photos please', receivedAt: '2026-03-02T02:30:00.000Z', dueAt: '2026-03-09T02:30:00.000Z', needsDecision: false } });
    shows(A, { at, type: 'RightsRequestReceived', resource: `request:${REQ_A}`, actor: a, detail: { type: 'export', resource: null, details: 'all my photos please', receivedAt: '2026-03-02T02:30:00.000Z', dueAt: '2026-03-09T02:30:00.000Z', needsDecision: false } });
    at = await step(`request-${REQ_A}`, a, { type: 'DataExported', data: { requestId: REQ_A, subjectId: A, images: 0, artworks: 1, files: ['history.json'] } });
    shows(A, { at, type: 'DataExported', resource: `request:${REQ_A}`, actor: a, detail: { images: 0, artworks: 1, files: ['history.json'] } });
    expectedAccess[A].push({ at, actor: a, resource: `request:${REQ_A}`, purpose: 'data-export' });
    at = await step(`request-${REQ_A}`, 'system:rights', { type: 'RightsRequestFulfilled', data: { requestId: REQ_A, subjectId: A, decidedBy: 'system:rights', outcome: { action: 'export' }, note: null } });
    shows(A, { at, type: 'RightsRequestFulfilled', resource: `request:${REQ_A}`, actor: 'system:rights', detail: { decidedBy: 'system:rights', outcome: { action: 'export' }, note: null } });
    at = await step('audit-2026-03-02', 'auditor:alice', { type: 'AuditorAccessed', data: { auditor: 'alice', endpoint: 'GET /v1/audit/subjects/{subjectId}/history', query: { subjectId: A }, subjectId: A, resultCount: 12 } });
    shows(A, { at, type: 'AuditorAccessed', resource: `subject:${A}`, actor: 'auditor:alice', detail: { auditor: 'alice', endpoint: 'GET /v1/audit/subjects/{subjectId}/history', query: { subjectId: A }, resultCount: 12 } });
    expectedAccess[A].push({ at, actor: 'auditor:alice', resource: `subject:${A}`, purpose: 'audit' });
    await step('audit-2026-03-02', 'auditor:alice', { type: 'AuditorAccessed', data: { auditor: 'alice', endpoint: 'GET /v1/audit/events', query: { limit: 10 }, subjectId: null, resultCount: 10 } });

    // C uploads and is erased: the record of what was done stays, the face boxes are shredded.
    at = await step(`subject-${C}`, c, { type: 'SubjectRegistered', data: { subjectId: C, deviceId: 'device-of-c', ageBasis: 'adult', policyVersion: '2025-06-24' } });
    shows(C, { at, type: 'SubjectRegistered', resource: `subject:${C}`, actor: c, detail: { ageBasis: 'adult', policyVersion: '2025-06-24' } });
    at = await step(`subject-${C}`, c, { type: 'ConsentGranted', data: { subjectId: C, purpose: 'erase-pen', policyVersion: '2025-06-24' } });
    shows(C, { at, type: 'ConsentGranted', resource: 'consent:erase-pen', purpose: 'erase-pen', actor: c, detail: { purpose: 'erase-pen', policyVersion: '2025-06-24' } });
    at = await step(`image-${IMG_C}`, c, { type: 'ImageUploaded', data: { ...uploadA, imageId: IMG_C, subjectId: C, purpose: 'erase-pen', objectKey: `originals/${C}/${IMG_C}`, faces: FACES_C } });
    shows(C, { at, type: 'ImageUploaded', resource: `image:${IMG_C}`, purpose: 'erase-pen', actor: c, detail: { purpose: 'erase-pen', contentType: 'image/jpeg', size: 1234, width: 640, height: 480, faceCount: 1, faces: '[shredded]' } });
    at = await step(`subject-${C}`, c, { type: 'SubjectErasureStarted', data: { subjectId: C, receiptId: RECEIPT_C } });
    shows(C, { at, type: 'SubjectErasureStarted', resource: `subject:${C}`, actor: c, detail: { receiptId: RECEIPT_C } });
    await h.cipher.destroySubjectKey(C);
    const erased = { subjectId: C, receiptId: RECEIPT_C, erasedAt: '2026-03-02T03:00:00.000Z', objectsDeleted: 1, imagesDeleted: 1, artworksDeleted: 0, tempFilesDeleted: 0, exportsDeleted: 0, jobsCancelled: 0, keyDestroyed: true as const, operationLogTombstoned: true };
    at = await step(`subject-${C}`, 'system:erasure', { type: 'SubjectErased', data: erased });
    const { subjectId: _omit, ...erasedDetail } = erased;
    shows(C, { at, type: 'SubjectErased', resource: `subject:${C}`, actor: 'system:erasure', detail: { ...erasedDetail, receiptId: RECEIPT_C } });
    await h.settle();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('each subject’s history holds exactly their actions, oldest first, personal fields decrypted', async () => {
    expect(await h.reader.history(A)).toEqual(expectedHistory[A]);
    expect(await h.reader.history(B)).toEqual(expectedHistory[B]);
  });

  it('an erased subject’s history keeps every action but reads "[shredded]" for personal fields', async () => {
    expect(await h.reader.history(C)).toEqual(expectedHistory[C]);
  });

  it('a subject’s history never shows another subject’s actions, nor operation logs, device events or bulk audit reads', async () => {
    for (const subject of [A, B, C]) {
      const rows = h.readModels.db.prepare('SELECT count(*) FROM history WHERE subject_id = ?').pluck().get(subject);
      expect(rows).toBe(expectedHistory[subject].length);
      const history = await h.reader.history(subject);
      for (const other of [A, B, C].filter((s) => s !== subject)) {
        expect(JSON.stringify(history)).not.toContain(other);
      }
    }
    const types = (h.readModels.db.prepare('SELECT DISTINCT type FROM history').pluck().all() as string[]).sort();
    expect(types).not.toContain('FaceDetectionLogged');
    expect(types).not.toContain('ProcessingLogged');
    expect(h.readModels.db.prepare("SELECT count(*) FROM history WHERE type = 'AuditorAccessed'").pluck().get()).toBe(1);
  });

  it('the access log holds every read of facial content: views, the processor hand-over, the export, the auditor read', () => {
    expect(h.reader.accessLog(A)).toEqual(expectedAccess[A]);
    expect(h.reader.accessLog(B)).toEqual(expectedAccess[B]);
    expect(h.reader.accessLog(C)).toEqual([]);
    const byProcessor = h.reader.searchAccesses({ actor: 'processor:local-sharp', limit: 10 });
    expect(byProcessor.accesses.map((x) => [x.subjectId, x.resource, x.type])).toEqual([[A, `image:${IMG_A}`, 'DataDisclosedToProcessor']]);
    expect(byProcessor.nextPosition).toBeNull();
    const paged = h.reader.searchAccesses({ limit: 2 });
    expect(paged.accesses).toHaveLength(2);
    expect(paged.nextPosition).not.toBeNull();
  });

  it('the consent view holds the last decision per subject and purpose, restrictions apart, nothing for an erased account', () => {
    const consents = h.readModels.db.prepare('SELECT subject_id, purpose, granted, policy_version FROM consent_ledger ORDER BY subject_id, purpose').raw(true).all();
    expect(consents).toEqual([
      [A, 'photo-restore', 0, '2025-06-24'],
      [B, 'time-painting', 1, '2025-06-24'],
    ]);
    const restrictions = h.readModels.db.prepare('SELECT subject_id, purpose, restricted FROM consent_restrictions ORDER BY subject_id, purpose').raw(true).all();
    expect(restrictions).toEqual([[A, 'ai-edit', 1]]);
    const consentHistory = expectedHistory[A].filter((e) => e.type.startsWith('Consent')).map((e) => [e.type, e.purpose]);
    expect(consentHistory).toEqual([
      ['ConsentGranted', 'photo-restore'],
      ['ConsentWithdrawn', 'photo-restore'],
    ]);
  });

  it('a rebuild from position zero gives exactly the live views (verified independently, then rebuilt in place)', async () => {
    const snapshot = () =>
      Object.fromEntries(
        h.runner.projections.flatMap((p) => p.tables.map((t) => [t.name, h.readModels.db.prepare(`SELECT * FROM ${t.name} ORDER BY ${t.orderBy}`).raw(true).all()])),
      );
    const report = await verifyProjections({ store: h.store, liveDatabaseFile: h.readModelFile, projections: h.runner.projections, scratchDirectory: h.dir, now: h.clock.now() });
    expect(report.mismatches).toEqual([]);
    expect(report.projectionsMatch).toBe(true);
    expect(report.eventsReplayed).toBe(Number((await h.store.headPosition())?.commit));

    const before = snapshot();
    const statusBefore = h.runner.status();
    await h.runner.rebuild();
    await h.runner.waitUntilCaughtUp(20_000);
    await h.settle();
    expect(snapshot()).toEqual(before);
    expect(h.runner.status().projections.map((p) => [p.name, p.eventsApplied])).toEqual(statusBefore.projections.map((p) => [p.name, p.eventsApplied]));
  });
});
