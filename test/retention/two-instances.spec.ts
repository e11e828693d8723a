/**
 * Two service instances on one event store file and one object storage (each with its own read
 * models, as deployed), sweeping the same due items at the same moment, with no leader: exactly
 * one ImageDeleted per original, and every expired operation-log entry accounted for once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { masterKeyFromBytes } from '../../src/modules/crypto/master-key';
import { SqliteKeyStore } from '../../src/modules/crypto/sqlite/sqlite-key-store';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { FilesystemObjectStorage } from '../../src/modules/object-storage/filesystem/filesystem-object-storage';
import { RetentionSweeper } from '../../src/modules/retention/sweep/retention-sweeper';
import { settleAll, subjectWithConsent, uploadImage } from '../support/retention-flows';
import { STAFF, startTestApp, type TestApp } from '../support/test-app';

const DAY = 86_400_000;

describe('two instances sweeping together', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('exactly one deletion event per item (optimistic concurrency, no leader)', { timeout: 120_000 }, async () => {
    const shared = mkdtempSync(join(tmpdir(), 'pm-retention-shared-'));
    cleanup.push(() => rmSync(shared, { recursive: true, force: true }));
    const clock = new ManualClock('2026-03-02T02:00:00.000Z');
    const masterKey = masterKeyFromBytes(randomBytes(32));
    const objects = new FilesystemObjectStorage({ root: join(shared, 'objects') });
    // Each instance opens the shared files on its own, as separate processes would.
    const instance = async (name: string): Promise<TestApp> => {
      const eventStore = new SqliteEventStore({ file: join(shared, 'events.db'), clock, pollIntervalMs: 20 });
      const keyStore = new SqliteKeyStore({ masterKey, dataDir: shared, clock });
      const t = await startTestApp({ clock, overrides: { eventStore, keyStore, objectStorage: objects }, env: { INSTANCE_ID: name, TOKEN_SECRET: 'x'.repeat(40) } });
      cleanup.push(async () => {
        await t.close();
        await eventStore.close();
        await keyStore.close();
      });
      return t;
    };
    const a = await instance('instance-a');
    const b = await instance('instance-b');

    const images: string[] = [];
    for (let s = 0; s < 5; s++) {
      const subject = await subjectWithConsent(s % 2 === 0 ? a : b, 'photo-restore');
      for (let i = 0; i < 8; i++) images.push(await uploadImage(s % 2 === 0 ? a : b, subject, 'photo-restore'));
    }
    await settleAll(a);
    await settleAll(b);

    clock.advance(DAY);
    const [ra, rb] = await Promise.all([a.app.get(RetentionSweeper).sweepOnce(), b.app.get(RetentionSweeper).sweepOnce()]);
    await settleAll(a);
    await settleAll(b);
    expect((ra.originals?.deleted ?? 0) + (rb.originals?.deleted ?? 0)).toBe(images.length);
    // Both saw every item due and raced on them: what one deleted, the other found already deleted.
    expect(ra.originals?.due).toBe(images.length);
    expect(rb.originals?.due).toBe(images.length);
    expect((ra.originals?.alreadyDeleted ?? 0) + (rb.originals?.alreadyDeleted ?? 0)).toBe(images.length);
    expect(ra.originals?.failed).toBe(0);
    expect(rb.originals?.failed).toBe(0);

    const events = await a.eventsSince('start');
    const deletions = events.filter((e) => e.type === 'ImageDeleted');
    const perImage = new Map<string, number>();
    for (const d of deletions) perImage.set(String(d.data.imageId), (perImage.get(String(d.data.imageId)) ?? 0) + 1);
    expect(deletions).toHaveLength(images.length);
    expect([...perImage.keys()].sort()).toEqual([...images].sort());
    expect([...perImage.values()].every((n) => n === 1)).toBe(true);
    let left = 0;
    for await (const _ of objects.list('originals/')) left++;
    expect(left).toBe(0);

    // Operation logs (one entry per upload): both purge together, each entry is counted once.
    clock.advance(7 * DAY);
    await Promise.all([a.app.get(RetentionSweeper).sweepOnce(), b.app.get(RetentionSweeper).sweepOnce()]);
    await settleAll(a);
    await settleAll(b);
    const purges = (await a.eventsSince('start')).filter((e) => e.type === 'OperationLogsPurged');
    const entries = events.filter((e) => e.stream.startsWith('oplog-')).length;
    expect(entries).toBeGreaterThanOrEqual(images.length);
    expect(purges.reduce((sum, p) => sum + Number(p.data.entriesRemoved), 0)).toBe(entries);
    // Both instances' reports agree.
    const [reportA, reportB] = await Promise.all([a.http().get('/v1/audit/retention').set({ Authorization: `Bearer ${STAFF.auditor}` }), b.http().get('/v1/audit/retention').set({ Authorization: `Bearer ${STAFF.auditor}` })]);
    expect(reportA.body.rules).toEqual(reportB.body.rules);
    expect(reportA.body.rules[0]).toMatchObject({ tracked: images.length, deletedOnTime: images.length, deletedLate: 0, overdue: 0 });
  });
});
