import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../modules/clock/clock.port';
import { masterKeyFromBytes } from '../modules/crypto/master-key';
import { SqliteKeyStore } from '../modules/crypto/sqlite/sqlite-key-store';
import { SubjectCipher } from '../modules/crypto/subject-cipher';
import { EventLog } from '../modules/event-store/event-log';
import type { EventToAppend, JsonObject, StoredEvent } from '../modules/event-store/event-store.port';
import { PinoAppLogger, createRootLogger } from '../modules/logging/logger';
import { RequestsReadModel } from '../modules/subject-rights/requests/requests.read-model';
import { ReadModels } from './read-models';
import { requestsProjection } from './requests.projection';

const S = '11111111-1111-4111-8111-111111111111';
const R1 = '33333333-3333-4333-8333-333333333333';
const R2 = '44444444-4444-4444-8444-444444444444';
const AT = '2026-03-06T12:00:00.000Z';
const DUE = '2026-03-13T15:59:59.999Z';

describe('requests projection', () => {
  let dir: string;
  let keys: SqliteKeyStore;
  let log: EventLog;
  let db: Database.Database;
  let reader: RequestsReadModel;
  let seq = 0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-requests-projection-'));
    const clock = new ManualClock(AT);
    keys = new SqliteKeyStore({ masterKey: { ...masterKeyFromBytes(randomBytes(32)) }, dataDir: dir, clock });
    const cipher = new SubjectCipher(keys);
    // Only `encode` is used: the store is never touched.
    log = new EventLog(null as never, cipher, clock);
    db = new Database(':memory:');
    requestsProjection.setup(db);
    reader = new RequestsReadModel(new ReadModels(db), cipher, new PinoAppLogger(createRootLogger('silent')));
  });
  afterAll(async () => {
    db.close();
    await keys.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Encodes as the EventLog does (personal fields encrypted), then applies to the projection. */
  async function apply(stream: string, type: string, data: JsonObject, occurredAt = AT): Promise<void> {
    const [encoded] = (await log.encode(stream, [{ type, data } as never], { actor: 'system:test', correlationId: 'c', causationId: null })) as EventToAppend[];
    seq++;
    const event: StoredEvent = { ...encoded, stream, revision: 0n, position: { commit: BigInt(seq), prepare: BigInt(seq) }, metadata: { ...encoded.metadata, occurredAt }, created: new Date(occurredAt) };
    requestsProjection.apply(db, event);
  }

  it('keeps personal fields encrypted in the rows; the reader decrypts them for the subject and the DPO, never for auditors', async () => {
    await apply(`request-${R1}`, 'RightsRequestReceived', { requestId: R1, subjectId: S, type: 'access', resource: null, details: 'my old phone', receivedAt: AT, dueAt: DUE, needsDecision: true });
    await apply(`request-${R1}`, 'RightsRequestRejected', { requestId: R1, subjectId: S, decidedBy: 'dpo:dora', reason: 'nothing held' }, '2026-03-09T01:00:00.000Z');
    const row = db.prepare('SELECT details, reason, status, decided_at FROM rights_requests WHERE request_id = ?').get(R1) as Record<string, string>;
    expect(row.details).toContain('$pii');
    expect(row.reason).toContain('$pii');
    expect(row.details).not.toContain('my old phone');
    expect([row.status, row.decided_at]).toEqual(['rejected', '2026-03-09T01:00:00.000Z']);

    expect(await reader.getForSubject(S, R1)).toEqual({
      requestId: R1,
      type: 'access',
      status: 'rejected',
      receivedAt: AT,
      dueAt: DUE,
      overdue: false,
      needsDecision: true,
      details: 'my old phone',
      reason: 'nothing held',
      rejectedAt: '2026-03-09T01:00:00.000Z',
    });
    expect(JSON.stringify(reader.listForAudit(undefined, 10))).not.toMatch(/my old phone|nothing held|\$pii/);
    expect(await reader.getForSubject('22222222-2222-4222-8222-222222222222', R1)).toBeNull();
  });

  it('tracks progress, overdue (set by the event only) and answers; a late answer keeps the overdue flag; the filters select', async () => {
    await apply(`request-${R2}`, 'RightsRequestReceived', { requestId: R2, subjectId: S, type: 'deletion', resource: `image:${R1}`, details: null, receivedAt: AT, dueAt: DUE, needsDecision: false });
    await apply(`request-${R2}`, 'RightsRequestProcessingStarted', { requestId: R2, subjectId: S, step: 'delete-image' }, '2026-03-06T12:00:01.000Z');
    expect(reader.stuckInProgress(new Date('2026-03-06T12:00:00.999Z'), 10)).toEqual([]);
    expect(reader.stuckInProgress(new Date('2026-03-06T12:00:01.000Z'), 10).map((r) => r.requestId)).toEqual([R2]);
    expect(reader.pastDue(new Date(DUE), 10)).toEqual([]);
    expect(reader.pastDue(new Date('2026-03-13T16:00:00.000Z'), 10).map((r) => r.requestId)).toEqual([R2]);
    await apply(`request-${R2}`, 'RightsRequestOverdue', { requestId: R2, subjectId: S, dueAt: DUE, detectedAt: '2026-03-13T16:00:00.000Z' });
    expect(reader.pastDue(new Date('2026-03-14T00:00:00.000Z'), 10)).toEqual([]);
    expect(reader.listForAudit('overdue', 10).map((r) => r.requestId)).toEqual([R2]);
    await apply(`request-${R2}`, 'RightsRequestFulfilled', { requestId: R2, subjectId: S, decidedBy: 'system:rights', outcome: { action: 'image-deleted', deletedNow: true }, note: null }, '2026-03-16T00:00:00.000Z');
    expect(reader.listForAudit('overdue', 10)).toEqual([]);
    expect(reader.listForAudit('fulfilled', 10)).toEqual([
      {
        requestId: R2,
        subjectId: S,
        type: 'deletion',
        status: 'fulfilled',
        receivedAt: AT,
        dueAt: DUE,
        overdue: true,
        overdueAt: '2026-03-13T16:00:00.000Z',
        needsDecision: false,
        resource: `image:${R1}`,
        decidedBy: 'system:rights',
        decidedAt: '2026-03-16T00:00:00.000Z',
        outcome: { action: 'image-deleted', deletedNow: true },
      },
    ]);
    expect(reader.openRequestIdsOf(S)).toEqual([]);
  });

  it('once the subject’s key is destroyed, the personal fields read "[shredded]" and the skeleton stays', async () => {
    await keys.destroy(S);
    const record = await reader.getForSubject(S, R1);
    expect(record).toMatchObject({ status: 'rejected', details: '[shredded]', reason: '[shredded]', dueAt: DUE });
  });
});
