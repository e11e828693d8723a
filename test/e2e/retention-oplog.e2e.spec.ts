/**
 * Rule `operation-logs` end to end on the embedded store with an injected clock: the oplog
 * streams carry `$maxAge`, an entry is readable until 7 days have passed and unreadable right
 * after, the sweep then removes it physically from the event store's files and records
 * OperationLogsPurged, and the read models (replayed by a verification) still match.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { allEvents, settleAll, streamEvents, subjectWithConsent, sweep, uploadImage } from '../support/retention-flows';
import { filesContaining, STAFF, startTestApp, type TestApp } from '../support/test-app';

const DAY = 86_400_000;
const WEEK_S = 7 * 24 * 3600;
const auditor = { Authorization: `Bearer ${STAFF.auditor}` };

/** Files of the embedded event store that hold `needle` (the database and its WAL). */
function eventStoreFilesContaining(t: TestApp, needle: string): string[] {
  return filesContaining(t.dataDir, needle).filter((file) => /events\.db(-wal|-shm|-journal)?$/.test(file));
}

describe('operation-log retention (e2e, embedded store, injected clock)', () => {
  const opened: TestApp[] = [];
  const directories: string[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.close();
    for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const start = async (options: Parameters<typeof startTestApp>[0] = {}) => {
    const t = await startTestApp(options);
    opened.push(t);
    return t;
  };

  it('an entry is readable until 7 days, unreadable after, then physically purged from the store with OperationLogsPurged; fresher entries stay', async () => {
    const t = await start();
    const subject = await subjectWithConsent(t, 'photo-restore');
    await uploadImage(t, subject, 'photo-restore');
    await settleAll(t);
    const stream = `oplog-${subject.subjectId}`;
    expect(await t.store.getStreamMetadata(stream)).toEqual({ maxAge: WEEK_S });
    const [old] = await streamEvents(t, stream);
    expect(old.type).toBe('FaceDetectionLogged');
    expect(JSON.stringify(old.data)).not.toMatch(/faces|\$pii/); // counts only, no content

    t.clock.advance(3 * DAY);
    await uploadImage(t, subject, 'photo-restore');
    await settleAll(t);
    const fresh = (await streamEvents(t, stream))[1];

    // One second before expiry: readable, and the sweep purges nothing.
    t.clock.set(new Date(Date.parse(String(old.metadata.occurredAt)) + 7 * DAY - 1000));
    expect((await streamEvents(t, stream)).map((e) => e.id)).toEqual([old.id, fresh.id]);
    const early = await sweep(t);
    expect(early.oplogPurge).toMatchObject({ purged: false, skipped: 'nothing-expired' });
    expect(await allEvents(t, 'OperationLogsPurged')).toEqual([]);

    // Just after: unreadable at once ($maxAge), though still on disk until the purge.
    t.clock.advance(2000);
    expect((await streamEvents(t, stream)).map((e) => e.id)).toEqual([fresh.id]);
    expect(eventStoreFilesContaining(t, old.id)).not.toEqual([]);

    const before = await t.mark();
    const report = await sweep(t);
    expect(report.oplogPurge).toMatchObject({ purged: true, mode: 'removed', entriesRemoved: 1 });
    const purges = (await t.eventsSince(before)).filter((e) => e.type === 'OperationLogsPurged');
    expect(purges).toHaveLength(1);
    expect(purges[0].stream).toBe(`retention-${t.clock.now().toISOString().slice(0, 10)}`);
    expect(purges[0].data).toEqual({
      purgedAt: t.clock.now().toISOString(),
      entriesRemoved: 1,
      entriesLate: 0,
      maxLatenessSeconds: 1,
      mode: 'removed',
      maxAgeSeconds: WEEK_S,
    });
    expect(purges[0].metadata).toMatchObject({ actor: 'system:retention' });

    // Physically gone: no trace of its id in the event store's files, nor in a $all read.
    expect(eventStoreFilesContaining(t, old.id)).toEqual([]);
    const all: StoredEvent[] = await t.eventsSince('start');
    expect(all.map((e) => e.id)).not.toContain(old.id);
    expect(all.map((e) => e.id)).toContain(fresh.id);
    expect((await streamEvents(t, stream)).map((e) => e.id)).toEqual([fresh.id]);

    // The ledger forgot it; the report counts it as purged on time.
    const ledger = new Database(join(t.dataDir, 'readmodels.db'), { readonly: true });
    try {
      expect(ledger.prepare(`SELECT item FROM retention_oplog_entries ORDER BY clock_start_ms`).all()).toEqual([{ item: fresh.id }]);
    } finally {
      ledger.close();
    }
    const res = await t.http().get('/v1/audit/retention').set(auditor);
    expect(res.body.rules[2]).toEqual({ rule: 'operation-logs', tracked: 2, deletedOnTime: 1, deletedLate: 0, overdue: 0, maxLatenessSeconds: 1 });

    // Idempotent.
    const again = await t.mark();
    expect((await sweep(t)).oplogPurge).toMatchObject({ purged: false, skipped: 'nothing-expired' });
    expect((await t.eventsSince(again)).filter((e) => e.type === 'OperationLogsPurged')).toEqual([]);

    // A replay of the log (whose purged entries are gone) rebuilds the same ledger; no violation.
    const verification = await t.http().post('/v1/audit/verifications').set(auditor);
    expect(verification.status).toBe(201);
    // Every table matches. The only difference the verifier may report is the retention ledger's
    // `eventsApplied` counter: the live projection applied the entry that the purge then removed
    // from the log, which a replay cannot see (a counter, not a row of the read model).
    const mismatches = verification.body.mismatches as { projection: string; table: string; live: Record<string, number>; replayed: Record<string, number> }[];
    expect(mismatches.filter((m) => m.table !== 'projection_checkpoints')).toEqual([]);
    for (const m of mismatches) {
      expect(m.projection).toBe('retention-ledger');
      expect(m.live.version).toBe(m.replayed.version);
      expect(m.live.eventsApplied - m.replayed.eventsApplied).toBe(1);
    }
    expect(verification.body.retentionViolations.filter((v: { rule: string }) => v.rule === 'operation-logs')).toEqual([]);
  });

  it('a shorter RETENTION_OPLOG_MAX becomes the streams’ $maxAge (whole seconds, rounded down)', async () => {
    const t = await start({ env: { RETENTION_OPLOG_MAX: 'PT90.5S' } });
    const subject = await subjectWithConsent(t, 'photo-restore');
    await uploadImage(t, subject, 'photo-restore');
    await settleAll(t);
    const stream = `oplog-${subject.subjectId}`;
    expect(await t.store.getStreamMetadata(stream)).toEqual({ maxAge: 90 });
    t.clock.advance(90_000);
    expect(await streamEvents(t, stream)).toHaveLength(1);
    t.clock.advance(1);
    expect(await streamEvents(t, stream)).toHaveLength(0);
    expect((await sweep(t)).oplogPurge).toMatchObject({ purged: true, entriesRemoved: 1 });
  });

  it('a stream that missed its $maxAge (crash before it was set) gets it from the sweep after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pm-retention-oplog-'));
    directories.push(dataDir);
    const first = await start({ dataDir });
    const subject = await subjectWithConsent(first, 'photo-restore');
    await uploadImage(first, subject, 'photo-restore');
    await settleAll(first);
    const stream = `oplog-${subject.subjectId}`;
    const clock = first.clock;
    await first.close();
    opened.splice(opened.indexOf(first), 1);
    // As if the process had died before the metadata write: no $maxAge, no record of it.
    const { SqliteEventStore } = await import('../../src/modules/event-store/sqlite/sqlite-event-store');
    const raw = new SqliteEventStore({ file: join(dataDir, 'events.db'), clock });
    await raw.setStreamMetadata(stream, {});
    await raw.close();
    const models = new Database(join(dataDir, 'readmodels.db'));
    models.prepare('DELETE FROM retention_oplog_metadata').run();
    models.close();

    const second = await start({ dataDir, clock });
    expect(await second.store.getStreamMetadata(stream)).toEqual({});
    const report = await sweep(second);
    expect(report.oplogMetadata).toMatchObject({ applied: 1, failed: 0, passComplete: true });
    expect(await second.store.getStreamMetadata(stream)).toEqual({ maxAge: WEEK_S });
  });
});
