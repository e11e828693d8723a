import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../modules/event-store/event-store.port';
import { RetentionEvents, SUBJECT_A, SUBJECT_B } from '../modules/retention/retention-events.fixture';
import { RetentionLedgerReader } from '../modules/retention/retention-ledger.reader';
import { ProjectionApplier } from './projection-applier';
import { ReadModels } from './read-models';
import { epochMs, retentionLedgerProjection } from './retention-ledger.projection';

const IMG1 = '11111111-1111-4111-8111-111111111111';
const IMG2 = '22222222-2222-4222-8222-222222222222';
const IMG3 = '33333333-3333-4333-8333-333333333333';
const JOB = '44444444-4444-4444-8444-444444444444';
const JOB2 = '55555555-5555-4555-8555-555555555555';
const ART = '66666666-6666-4666-8666-666666666666';
const H = 3_600_000;
const T0 = Date.parse('2026-03-02T02:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function ledger(events: readonly StoredEvent[]) {
  const db = new Database(':memory:');
  retentionLedgerProjection.setup(db);
  for (const event of events) if (retentionLedgerProjection.eventTypes.includes(event.type)) retentionLedgerProjection.apply(db, event);
  const rows = (table: string, orderBy: string) => db.prepare(`SELECT * FROM ${table} ORDER BY ${orderBy}`).all() as Record<string, unknown>[];
  return { db, reader: new RetentionLedgerReader(new ReadModels(db)), rows, items: () => rows('retention_ledger', 'rule, item') };
}

describe('epochMs', () => {
  const parsed = (iso: string) => (Number.isFinite(Date.parse(iso)) ? Date.parse(iso) : null);

  it('gives what Date.parse gives for the times the service writes, across every day and time of several years', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      const iso = new Date(Math.floor(random() * Date.UTC(2100, 0, 1))).toISOString();
      expect(epochMs(iso)).toBe(Date.parse(iso));
    }
    for (let day = Date.UTC(2023, 11, 25); day < Date.UTC(2029, 0, 7); day += 86_400_000) {
      for (const ms of [0, 1, 59_999, 3_599_999, 86_399_999]) expect(epochMs(new Date(day + ms).toISOString())).toBe(day + ms);
    }
  });

  it('gives what Date.parse gives for anything else: other forms, out-of-range fields, garbage, nothing', () => {
    const odd = [
      '2026-02-30T00:00:00.000Z',
      '2026-02-29T12:00:00.000Z',
      '2026-01-31T23:59:59.999Z',
      '2026-01-05T24:00:00.000Z',
      '2026-01-05T23:60:00.000Z',
      '2026-13-05T00:00:00.000Z',
      '2026-00-05T00:00:00.000Z',
      '0050-01-05T00:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
      '2026-01-05T00:00:00.000z',
      '2026-01-05t00:00:00.000Z',
      '2026-01-05T00:00:00,000Z',
      '2026-01-05T00:00:0a.000Z',
      '2026-01-05 00:00:00.000Z',
      '+02026-01-05T00:00:00.00',
      '2026-01-05T00:00:00.000+01:00',
      '2026-01-05T00:00:00Z',
      '2026-01-05',
      'Mon, 05 Jan 2026 00:00:00 GMT',
      'not a time at all, 24 ch',
      '',
    ];
    for (const iso of odd) expect([iso, epochMs(iso)]).toEqual([iso, parsed(iso)]);
    expect(epochMs(null)).toBeNull();
    expect(epochMs(undefined)).toBeNull();
  });
});

describe('retention ledger projection', () => {
  it('originals: the clock starts at the upload and moves to the FIRST completed job only; the due query reads only what is due', () => {
    const e = new RetentionEvents();
    const { reader, items } = ledger([
      e.uploaded(IMG1, at(0)),
      e.uploaded(IMG2, at(1 * H)),
      e.jobEnded('JobCompleted', JOB, IMG1, at(2 * H)),
      e.jobEnded('JobCompleted', JOB2, IMG1, at(5 * H)),
    ]);
    const row = items().find((r) => r.item === IMG1);
    expect(row).toMatchObject({
      rule: 'original-after-processing',
      subject_id: SUBJECT_A,
      resource: `image:${IMG1}`,
      purpose: 'photo-enlarge',
      object_key: `originals/${SUBJECT_A}/${IMG1}`,
      clock_start: at(2 * H),
      clock_start_ms: T0 + 2 * H,
      clock_source: 'first-job-completed',
      state: 'pending',
    });
    const day = 24 * H;
    // IMG2 (upload at +1 h) is due at +25 h; IMG1 (first job at +2 h) at +26 h, not a ms earlier.
    expect(reader.dueOriginals(T0 + 25 * H - day - 1, null, 10)).toEqual([]);
    expect(reader.dueOriginals(T0 + 25 * H - day, null, 10).map((r) => r.imageId)).toEqual([IMG2]);
    expect(reader.dueOriginals(T0 + 26 * H - day, null, 10).map((r) => r.imageId)).toEqual([IMG2, IMG1]);
    // Keyset paging: after IMG2, only IMG1.
    expect(reader.dueOriginals(T0 + 26 * H - day, { ms: T0 + 1 * H, item: IMG2 }, 10).map((r) => r.imageId)).toEqual([IMG1]);
  });

  it('ImageDeleted closes an original (any reason) with the due time it recorded; a job completing after that does not move anything', () => {
    const e = new RetentionEvents();
    const { items, reader } = ledger([
      e.uploaded(IMG1, at(0)),
      e.imageDeleted(IMG1, at(24 * H + 500), 'retention', { rule: 'original-after-processing', dueAt: at(24 * H) }),
      e.jobEnded('JobCompleted', JOB, IMG1, at(25 * H)),
      e.uploaded(IMG2, at(0)),
      e.imageDeleted(IMG2, at(1 * H), 'user'),
    ]);
    expect(items()).toEqual([
      expect.objectContaining({ item: IMG1, state: 'done', done_at: at(24 * H + 500), closed_by: 'ImageDeleted:retention', recorded_due_at: at(24 * H), clock_source: 'upload' }),
      expect.objectContaining({ item: IMG2, state: 'done', closed_by: 'ImageDeleted:user', recorded_due_at: null }),
    ]);
    expect(reader.dueOriginals(T0 + 100 * H, null, 10)).toEqual([]);
  });

  it('ConsentWithdrawn marks the held originals of that subject and purpose (not later uploads, other purposes or subjects)', () => {
    const e = new RetentionEvents();
    const { reader, items } = ledger([
      e.uploaded(IMG1, at(0)),
      e.uploaded(IMG2, at(0), SUBJECT_A, 'photo-restore'),
      e.uploaded(IMG3, at(0), SUBJECT_B),
      e.consentWithdrawn(at(1 * H)),
      e.uploaded('77777777-7777-4777-8777-777777777777', at(2 * H)),
    ]);
    expect(reader.withdrawnOriginals(null, 10)).toEqual([{ imageId: IMG1, subjectId: SUBJECT_A, objectKey: `originals/${SUBJECT_A}/${IMG1}`, fromMs: T0 + 1 * H }]);
    expect(items().filter((r) => r.withdrawn_at !== null).map((r) => r.item)).toEqual([IMG1]);
  });

  it('consent given again before the deletion clears the withdrawal (the normal deadline still applies)', () => {
    const e = new RetentionEvents();
    const granted = e.event(`subject-${SUBJECT_A}`, 'ConsentGranted', { subjectId: SUBJECT_A, purpose: 'photo-enlarge', policyVersion: '2025-06-24' }, at(2 * H));
    const { reader, items } = ledger([e.uploaded(IMG1, at(0)), e.consentWithdrawn(at(1 * H)), granted]);
    expect(reader.withdrawnOriginals(null, 10)).toEqual([]);
    expect(items()[0]).toMatchObject({ withdrawn_at: null, state: 'pending', clock_start: at(0) });
  });

  it('temp files: the clock starts when the job ends (completed, failed or cancelled), also for a file recorded after the end', () => {
    const e = new RetentionEvents();
    const { reader, items } = ledger([
      e.tempCreated(JOB, 'input', at(0)),
      e.tempCreated(JOB, 'intermediate', at(1000)),
      e.jobEnded('JobFailed', JOB, IMG1, at(2000)),
      e.tempCreated(JOB, 'late', at(3000)),
      e.tempDeleted(JOB, 'input', at(2100)),
      e.tempCreated(JOB2, 'input', at(0)),
    ]);
    const byName = Object.fromEntries(items().filter((r) => r.resource === `job:${JOB}`).map((r) => [String(r.item).split('/').pop(), r]));
    expect(byName.input).toMatchObject({ rule: 'temp-files', resource: `job:${JOB}`, state: 'done', closed_by: 'TempFileDeleted:retention', clock_start: at(2000) });
    expect(byName.intermediate).toMatchObject({ state: 'pending', clock_start: at(2000), clock_source: 'job-ended' });
    expect(byName.late).toMatchObject({ state: 'pending', clock_start: at(2000) });
    expect(items().find((r) => r.resource === `job:${JOB2}`)).toMatchObject({ state: 'pending', clock_start: null, clock_start_ms: null });
    expect(reader.anyTempFileDue(T0 + 1999)).toBe(false);
    expect(reader.anyTempFileDue(T0 + 2000)).toBe(true);
    expect(reader.objectReference(`tmp/${SUBJECT_A}/${JOB}/intermediate`)).toEqual({ rule: 'temp-files', state: 'pending' });
    expect(reader.objectReference(`tmp/${SUBJECT_A}/${JOB}/input`)).toEqual({ rule: 'temp-files', state: 'done' });
    expect(reader.objectReference(`tmp/${SUBJECT_A}/${JOB}/never`)).toBeNull();
  });

  it('artworks are tracked without a deadline until deleted', () => {
    const e = new RetentionEvents();
    const { items, reader } = ledger([e.artworkGenerated(ART, JOB, IMG1, at(0)), e.artworkDeleted(ART, at(5 * H))]);
    expect(items()).toEqual([expect.objectContaining({ rule: 'artworks', item: ART, clock_start: null, state: 'done', closed_by: 'ArtworkDeleted:user' })]);
    expect(reader.objectReference(`artworks/${SUBJECT_A}/${ART}`)).toEqual({ rule: 'artworks', state: 'done' });
  });

  it('operation logs: one row per entry (no content), in a table of their own; OperationLogsPurged drops the rows before its cutoff and records its counts', () => {
    const e = new RetentionEvents();
    const day = 24 * H;
    const { reader, items, rows } = ledger([
      e.faceDetectionLogged(IMG1, at(0)),
      e.processingLogged(JOB, IMG1, at(1 * H)),
      e.faceDetectionLogged(IMG2, at(3 * H), SUBJECT_B),
      e.operationLogsPurged(at(7 * day + 2 * H), 7 * 24 * 3600, 2, 1, 7200),
    ]);
    expect(items()).toEqual([]);
    expect(rows('retention_oplog_entries', 'item')).toEqual([
      { item: expect.any(String), subject_id: SUBJECT_B, stream: `oplog-${SUBJECT_B}`, clock_start: at(3 * H), clock_start_ms: T0 + 3 * H },
    ]);
    expect(rows('retention_oplog_streams', 'stream')).toEqual([{ stream: `oplog-${SUBJECT_B}`, subject_id: SUBJECT_B, last_entry_ms: T0 + 3 * H }]);
    expect(reader.lastPurgeCutoff()).toBe(T0 + 2 * H);
    expect(reader.oplogPurgeTotals()).toEqual({ removed: 2, late: 1, maxLatenessSeconds: 7200 });
    expect(reader.oplogExpiry(T0 + 2 * H, T0 + 4 * H, T0 + 3 * H)).toEqual({ count: 1, late: 0, oldestMs: T0 + 3 * H });
  });

  it('replaying the log after the purge removed the entries gives exactly the same rows (the verification replay)', () => {
    const e = new RetentionEvents();
    const day = 24 * H;
    const old1 = e.faceDetectionLogged(IMG1, at(0));
    const old2 = e.processingLogged(JOB, IMG1, at(1 * H));
    const fresh = e.faceDetectionLogged(IMG2, at(7 * day));
    const purge = e.operationLogsPurged(at(7 * day + 2 * H), 7 * 24 * 3600, 2);
    const upload = e.uploaded(IMG1, at(0));
    const live = ledger([upload, old1, old2, fresh, purge]);
    const replay = ledger([upload, fresh, purge]);
    for (const [table, order] of [
      ['retention_ledger', 'rule, item'],
      ['retention_oplog_entries', 'item'],
      ['retention_oplog_streams', 'stream'],
      ['retention_oplog_purges', 'event_id'],
    ]) {
      expect(replay.rows(table, order)).toEqual(live.rows(table, order));
    }
  });

  it('an erased subject whose operation log was tombstoned loses its entry rows (they leave the log at the next purge)', () => {
    const e = new RetentionEvents();
    const { rows } = ledger([e.faceDetectionLogged(IMG1, at(0)), e.faceDetectionLogged(IMG2, at(0), SUBJECT_B), e.subjectErased(at(1 * H))]);
    expect(rows('retention_oplog_entries', 'item').map((r) => r.subject_id)).toEqual([SUBJECT_B]);
    expect(rows('retention_oplog_streams', 'stream').map((r) => r.stream)).toEqual([`oplog-${SUBJECT_B}`]);
  });

  it('erasures give the same entries through the applier (deletions at the end of the transaction, with or without the index by subject) as one event at a time', () => {
    const e = new RetentionEvents();
    const events = [
      ...Array.from({ length: 450 }, (_, i) => e.faceDetectionLogged(IMG1, at(i))), // more than the memo holds: some are written before the erasure
      e.processingLogged(JOB, IMG2, at(500), SUBJECT_B),
      e.subjectErased(at(1 * H)),
      e.faceDetectionLogged(IMG1, at(1 * H + 1)), // after the erasure (only a hostile writer could): it stays
      e.subjectErased(at(1 * H + 2), SUBJECT_B, false), // log not tombstoned: the entries stay
      e.processingLogged(JOB, IMG2, at(1 * H + 3), SUBJECT_B),
      e.subjectErased(at(2 * H), SUBJECT_B),
      e.processingLogged(JOB2, IMG3, at(2 * H + 1), SUBJECT_B),
    ];
    const oneByOne = ledger(events);
    const expected = oneByOne.rows('retention_oplog_entries', 'item');
    expect(expected.map((r) => [r.subject_id, r.clock_start_ms])).toEqual([
      [SUBJECT_A, T0 + 1 * H + 1],
      [SUBJECT_B, T0 + 2 * H + 1],
    ]);
    const expectedStreams = oneByOne.rows('retention_oplog_streams', 'stream');
    for (const [deferIndexes, perTransaction] of [
      [true, events.length],
      [false, events.length],
      [false, 7],
      [true, 7],
    ] as const) {
      const db = new Database(':memory:');
      const applier = new ProjectionApplier(db, [retentionLedgerProjection], undefined, deferIndexes);
      const indexed = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'retention_oplog_entries_by_subject'`).get() as { n: number };
      expect(indexed.n).toBe(deferIndexes ? 0 : 1);
      for (let i = 0; i < events.length; i += perTransaction) applier.apply(events.slice(i, i + perTransaction));
      const rows = (table: string, orderBy: string) => db.prepare(`SELECT * FROM ${table} ORDER BY ${orderBy}`).all();
      expect(rows('retention_oplog_entries', 'item')).toEqual(expected);
      expect(rows('retention_oplog_streams', 'stream')).toEqual(expectedStreams);
      db.close();
    }
  });

  it('counts per rule for the compliance report, with the recorded due time where present', () => {
    const e = new RetentionEvents();
    const day = 24 * H;
    const { reader } = ledger([
      e.uploaded(IMG1, at(0)),
      e.imageDeleted(IMG1, at(day + 3000), 'retention', { rule: 'original-after-processing', dueAt: at(day) }), // on time (within 35 s)
      e.uploaded(IMG2, at(0)),
      e.imageDeleted(IMG2, at(day + 60_000), 'retention', { rule: 'original-after-processing', dueAt: at(day) }), // 60 s late
      e.uploaded(IMG3, at(0)), // still held
      e.artworkGenerated(ART, JOB, IMG1, at(0)),
      e.faceDetectionLogged(IMG1, at(0)),
      e.processingLogged(JOB, IMG1, at(2 * H)),
    ]);
    const query = { nowMs: T0 + day + 3_600_000, originalMs: day, tempFilesMs: 60_000, oplogMs: day, toleranceMs: 35_000 };
    const counts = reader.countsChunk(0, reader.maxRowid(), query);
    expect(counts.get('original-after-processing')).toEqual({ tracked: 3, deletedOnTime: 1, deletedLate: 1, overdue: 1, maxLatenessMs: 3_600_000 });
    expect(counts.get('artworks')).toEqual({ tracked: 1, deletedOnTime: 0, deletedLate: 0, overdue: 0, maxLatenessMs: 0 });
    // Operation-log entries, a page at a time: the first is an hour overdue, the second not due yet.
    const first = reader.oplogCountsChunk('', 1, query);
    expect(first.counts).toEqual({ tracked: 1, deletedOnTime: 0, deletedLate: 0, overdue: 1, maxLatenessMs: 3_600_000 });
    const second = reader.oplogCountsChunk(first.last as string, 1, query);
    expect(second.counts).toEqual({ tracked: 1, deletedOnTime: 0, deletedLate: 0, overdue: 0, maxLatenessMs: 0 });
    expect(reader.oplogCountsChunk(second.last as string, 1, query)).toEqual({ counts: { tracked: 0, deletedOnTime: 0, deletedLate: 0, overdue: 0, maxLatenessMs: 0 }, last: null });
  });
});
