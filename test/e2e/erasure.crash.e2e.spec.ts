/**
 * Crash safety of account erasure: a child process runs DELETE /v1/me on a prepared DATA_DIR and
 * is SIGKILLed at an exact step (see test/support/erasure-crash.child.ts); the service is then
 * restarted on the same DATA_DIR and must complete the erasure by itself, from the log, with
 * exactly one SubjectErased and the same counts as an uninterrupted erasure.
 *
 * The child runs from the build (`npm test` builds first). Run outside npm test, the spec skips
 * itself with a message when the build is missing or older than the sources.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { streams } from '../../src/events/streams';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { KeyStore } from '../../src/modules/crypto/key-store.port';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { ObjectStorage } from '../../src/modules/object-storage/object-storage.port';
import { jpegImage } from '../fixtures/images';
import type { KillPoint } from '../support/erasure-crash.child';
import { grantConsent, job, queueJob, runWorker, upload } from '../support/rights-fixtures';
import { bearer, registerSubject, startTestApp, type TestApp } from '../support/test-app';

const root = resolve(__dirname, '..', '..');
const child = join(root, 'dist/test/support/erasure-crash.child.js');
const NOW = '2026-03-02T02:00:00.000Z';

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

function buildProblem(): string | null {
  if (!existsSync(child)) return `${child} is missing: run \`npm run build\` first (npm test does)`;
  const sources = [join(root, 'test/support/erasure-crash.child.ts'), ...sourcesUnder(join(root, 'src/modules/subject-rights'))];
  const compiled = (source: string) => join(root, 'dist', source.slice(root.length + 1).replace(/\.ts$/, '.js'));
  const stale = sources.find((source) => !existsSync(compiled(source)) || statSync(compiled(source)).mtimeMs < statSync(source).mtimeMs);
  return stale ? `the build is older than ${stale}: run \`npm run build\` first (npm test does)` : null;
}

const problem = buildProblem();
if (problem) console.warn(`[erasure.crash.e2e.spec] skipped: ${problem}`);

/** Runs the child until it reports it stopped at `point`, then SIGKILLs it. */
function eraseAndKill(dataDir: string, token: string, point: KillPoint): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [child, dataDir, token, point, NOW], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const safety = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the child never reached ${point}; stdout: ${stdout}; stderr: ${stderr}`));
    }, 45_000);
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!killed && stdout.includes(`HUNG ${point}\n`)) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(safety);
      if (signal !== 'SIGKILL') reject(new Error(`the child exited on its own (code ${code}); stdout: ${stdout}; stderr: ${stderr}`));
      else resolvePromise();
    });
  });
}

async function subjectStream(file: string, subjectId: string): Promise<StoredEvent[]> {
  const store = new SqliteEventStore({ file, clock: new ManualClock(NOW) });
  try {
    const out: StoredEvent[] = [];
    for await (const event of store.readStream(streams.subject(subjectId))) out.push(event);
    return out;
  } finally {
    await store.close();
  }
}

async function waitForErased(t: TestApp, subjectId: string): Promise<StoredEvent[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const events: StoredEvent[] = [];
    for await (const event of t.store.readStream(streams.subject(subjectId))) events.push(event);
    if (events.some((e) => e.type === 'SubjectErased')) return events;
    if (Date.now() > deadline) throw new Error('the restarted service did not complete the erasure');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(problem !== null)('account erasure survives a SIGKILL half-way (e2e, child process)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  for (const point of ['object-deleted', 'key-destroy', 'receipt'] as const) {
    it(`killed at ${point}: the restart completes the erasure with exactly one SubjectErased`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'pm-erasure-crash-'));
      dirs.push(dataDir);

      // An account with an original, an artwork, and the records of a processed job.
      const first = await startTestApp({ dataDir, clock: new ManualClock(NOW) });
      const deviceId = `device-${randomUUID()}`;
      const subject = await registerSubject(first, deviceId);
      await grantConsent(first, subject, 'photo-enlarge');
      const imageId = await upload(first, subject, await jpegImage(40, 30), 'photo-enlarge');
      const jobId = await queueJob(first, subject, imageId, 'photo-enlarge');
      await runWorker(first);
      const artworkId = (await job(first, subject, jobId)).artworkId as string;
      await first.close();

      await eraseAndKill(dataDir, subject.token, point);

      // Half-way: started, not finished.
      const interrupted = await subjectStream(join(dataDir, 'events.db'), subject.subjectId);
      expect(interrupted.filter((e) => e.type === 'SubjectErasureStarted')).toHaveLength(1);
      expect(interrupted.filter((e) => e.type === 'SubjectErased')).toHaveLength(0);

      // Restart with the schedulers on: the boot sweep completes the erasure from the log.
      const t = await startTestApp({ dataDir, clock: new ManualClock(NOW), overrides: { schedulers: true } });
      try {
        const events = await waitForErased(t, subject.subjectId);
        expect(events.filter((e) => e.type === 'SubjectErasureStarted')).toHaveLength(1);
        const erased = events.filter((e) => e.type === 'SubjectErased');
        expect(erased).toHaveLength(1);
        expect(erased[0].data).toMatchObject({
          subjectId: subject.subjectId,
          receiptId: interrupted.find((e) => e.type === 'SubjectErasureStarted')?.data.receiptId,
          imagesDeleted: 1,
          artworksDeleted: 1,
          keyDestroyed: true,
          operationLogTombstoned: true,
        });
        expect(erased[0].data.objectsDeleted).toBeGreaterThanOrEqual(2);
        expect(erased[0].metadata.actor).toBe('system:erasure');

        const storage = t.app.get(ObjectStorage);
        for (const prefix of objectKeys.subjectPrefixes(subject.subjectId)) {
          for await (const info of storage.list(prefix)) throw new Error(`object left after erasure: ${info.key}`);
        }
        expect(await t.app.get(KeyStore).isDestroyed(subject.subjectId)).toBe(true);
        const deletions: StoredEvent[] = [];
        for (const stream of [streams.image(imageId), streams.artwork(artworkId)]) {
          for await (const event of t.store.readStream(stream)) if (event.type.endsWith('Deleted')) deletions.push(event);
        }
        expect(deletions.map((e) => `${e.type}:${String(e.data.reason)}`)).toEqual(['ImageDeleted:erasure', 'ArtworkDeleted:erasure']);

        // The token is dead, and the device is free to register again as a new subject.
        await t.settle();
        expect((await t.http().get('/v1/images').set(bearer(subject.token))).status).toBe(401);
        const again = await registerSubject(t, deviceId);
        expect(again.subjectId).not.toBe(subject.subjectId);
      } finally {
        await t.close();
      }
    });
  }
});
