/**
 * Crash safety of the retention sweep, with real processes: a service process SIGKILLs itself
 * right after deleting a due original's object and before appending ImageDeleted (the test hook
 * of test/support/retention-service.child.ts). Restarted, the service's first sweep completes the
 * deletion: the object is gone and there is exactly one ImageDeleted.
 *
 * Runs from the build (`npm test` builds first); run alone, the spec skips itself with a message
 * when the build is missing or older than the sources it needs.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { streams } from '../../src/events';
import { ManualClock, SystemClock } from '../../src/modules/clock/clock.port';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { subjectWithConsent, uploadImage } from '../support/retention-flows';
import { buildProblem, runToExit, startService, type ServiceProcess } from '../support/service-process';
import { startTestApp } from '../support/test-app';

const CHILD = 'dist/test/support/retention-service.child.js';
const problem = buildProblem(CHILD, [
  'test/support/retention-service.child.ts',
  'src/modules/retention/sweep/retention-sweeper.ts',
  'src/modules/retention/sweep/original-deletions.ts',
  'src/projections/retention-ledger.projection.ts',
]);
if (problem) console.warn(`[crash-after-delete.spec] skipped: ${problem}`);

async function imageStream(dataDir: string, imageId: string): Promise<StoredEvent[]> {
  const store = new SqliteEventStore({ file: join(dataDir, 'events.db'), clock: new SystemClock() });
  try {
    const out: StoredEvent[] = [];
    for await (const event of store.readStream(streams.image(imageId))) out.push(event);
    return out;
  } finally {
    await store.close();
  }
}

describe.skipIf(problem !== null)('retention sweep crash between object deletion and event append', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('SIGKILL after the delete, restart: the object is gone and there is exactly one ImageDeleted', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pm-retention-crash-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const env = { DATA_DIR: dataDir, LOG_LEVEL: 'info', MASTER_KEY: randomBytes(32).toString('base64'), RETENTION_SWEEP_INTERVAL: 'PT1S' };

    // An original uploaded two days ago (in the service's time): due for a day already.
    const t = await startTestApp({ dataDir, clock: new ManualClock(new Date(Date.now() - 2 * 86_400_000)), env });
    const subject = await subjectWithConsent(t, 'photo-restore');
    const imageId = await uploadImage(t, subject, 'photo-restore');
    await t.close();
    const objectFile = join(dataDir, 'objects', ...objectKeys.original(subject.subjectId, imageId).split('/'));
    expect(existsSync(objectFile)).toBe(true);

    // 1. The sweep deletes the object, and the process dies before the append (possibly before it
    //    even reported listening: the first sweep runs as soon as the read models are caught up).
    const crashed = await runToExit(CHILD, { ...env, HOST: '127.0.0.1', PORT: '0', RETENTION_TEST_CRASH_AFTER_DELETE: '1' });
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.output).toContain(`CRASHING after deleting originals/${subject.subjectId}/${imageId}`);
    expect(existsSync(objectFile)).toBe(false);
    expect((await imageStream(dataDir, imageId)).map((e) => e.type)).toEqual(['ImageUploaded']);

    // 2. Restarted: the first sweep completes the deletion with one event.
    const restarted: ServiceProcess = await startService(CHILD, env);
    cleanup.push(async () => {
      await restarted.stop();
    });
    const deadline = Date.now() + 30_000;
    while ((await imageStream(dataDir, imageId)).length < 2) {
      if (Date.now() > deadline) throw new Error(`no ImageDeleted after the restart; output:\n${restarted.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Two more sweeps (1 s apart) must add nothing.
    await new Promise((r) => setTimeout(r, 2500));
    await restarted.stop();
    const events = await imageStream(dataDir, imageId);
    expect(events.map((e) => e.type)).toEqual(['ImageUploaded', 'ImageDeleted']);
    expect(events[1].data).toMatchObject({ imageId, reason: 'retention', rule: 'original-after-processing' });
    expect(events[1].metadata).toMatchObject({ actor: 'system:retention' });
    expect(existsSync(objectFile)).toBe(false);
  });
});
