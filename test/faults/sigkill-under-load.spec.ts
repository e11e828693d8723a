/**
 * SIGKILL under load (issue 7, fault injection 1): the built service (`node dist/src/main.js`,
 * embedded defaults: SQLite event store, encrypted files) in a child process, driven by concurrent
 * registrations, consents, uploads, job requests and content reads, killed with SIGKILL mid-run
 * (jobs running, uploads between put and append), then started again on the same DATA_DIR.
 *
 * After the restart:
 * - every request answered 2xx before the kill has its events (upload → ImageUploaded with the
 *   returned imageId and the bytes' hash, job → JobQueued, read → ImageViewed, consent →
 *   ConsentGranted, registration → SubjectRegistered) and its objects: the originals decrypt to
 *   the bytes sent;
 * - objects without an event (uploads killed between put and append) are removed by the orphan
 *   sweep once RETENTION_ORPHAN_GRACE has passed, and no half-written file of an interrupted put is
 *   left on disk; then every object under originals/ and artworks/ has its event, and every
 *   original and artwork on record has its object;
 * - every job queued before the kill ends (the running ones once their lease ran out);
 * - retention deletes every processed original by its deadline (RETENTION_ORIGINAL_MAX=PT8S; those
 *   that fell due while the service was down at the first sweep after the restart);
 * - an account erasure completes: receipt, SubjectErased, nothing left under the subject's prefixes.
 *
 * Runs from the build (`npm test` builds first); run alone, it skips itself with a message when the
 * build is missing or older than the sources it exercises.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemObjectStorage } from '../../src/modules/object-storage/filesystem/filesystem-object-storage';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { filesUnder } from '../support/test-app';
import { buildProblem, startService, type ServiceProcess } from '../support/service-process';
import { poll } from './fault-helpers';
import { consistencyProblems, LoadDriver, registerWithConsent, uploadBodies, type LoadSubject, type LoggedEvent, type Outcome } from './load-driver';

const MAIN = 'dist/src/main.js';
const problem = buildProblem(MAIN, [
  'src/main.ts',
  'src/modules/facial-data/upload-image/upload-image.handler.ts',
  'src/modules/facial-data/processing-worker/job-executor.ts',
  'src/modules/object-storage/filesystem/filesystem-object-storage.ts',
  'src/modules/retention/orphans/orphan-sweeper.ts',
  'src/modules/config/app-config.ts',
]);
if (problem) console.warn(`[sigkill-under-load.spec] skipped: ${problem}`);

const AUDITOR = `auditor-${randomBytes(12).toString('hex')}`;
const ORIGINAL_MAX_MS = 8_000;
/** How late (after its deadline, or after the restart for what fell due while the service was down) a deletion may come. */
const DELETION_SLACK_MS = 10_000;

async function logOf(url: string): Promise<(LoggedEvent & { occurredAt: string })[]> {
  const res = await request(url)
    .get('/v1/audit/events')
    .set('Authorization', `Bearer ${AUDITOR}`)
    .set('Accept', 'application/x-ndjson')
    .buffer(true)
    .parse((r, done) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => (text += chunk));
      r.on('end', () => done(null, text));
    });
  if (res.status !== 200) throw new Error(`audit log: ${res.status}`);
  return (res.body as string)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LoggedEvent & { occurredAt: string });
}

async function keysUnder(storage: FilesystemObjectStorage, prefixes: readonly string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of prefixes) for await (const info of storage.list(prefix)) keys.push(info.key);
  return keys;
}

describe.skipIf(problem !== null)('SIGKILL under load, restart on the same DATA_DIR', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pm-faults-sigkill-'));
  const services: ServiceProcess[] = [];
  afterAll(async () => {
    for (const service of services) await service.stop(2_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    MASTER_KEY: randomBytes(32).toString('base64'),
    STAFF_TOKENS: `auditor:alice:${AUDITOR}`,
    RATE_LIMIT_SUBJECT_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
    RETENTION_ORIGINAL_MAX: 'PT8S',
    RETENTION_SWEEP_INTERVAL: 'PT1S',
    RIGHTS_SWEEP_INTERVAL: 'PT1S',
    JOB_LEASE: 'PT5S',
  };

  it('every 2xx has its events and objects, orphans are swept, jobs finish, retention and erasure complete', { timeout: 150_000 }, async () => {
    // Run 1: load, then SIGKILL with requests in flight.
    const first = await startService(MAIN, env);
    services.push(first);
    const http1 = () => request(first.url);
    const subjects: LoadSubject[] = [];
    for (let i = 0; i < 4; i++) subjects.push(await registerWithConsent(http1));
    const bodies = await uploadBodies(12);
    const driver = new LoadDriver(http1, subjects, { concurrency: 8, bodies });
    driver.start();
    await driver.until((o) => o.op === 'job' && o.status === 202, 8);
    await driver.until((o) => o.status >= 200 && o.status < 300, 80);
    first.proc.kill('SIGKILL');
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');
    await driver.stop();
    const outcomes: Outcome[] = driver.outcomes;
    console.info(`[sigkill] run 1: ${driver.summary()}`);
    expect(outcomes.filter((o) => o.status >= 500)).toEqual([]); // before the kill: no server error
    expect(outcomes.some((o) => o.status === 0)).toBe(true); // requests were cut by the kill

    // Besides whatever the kill interrupted, one upload surely killed between its put and its
    // append (an object no event references) and one put killed before its rename (a partial file).
    const planted = { subject: subjects[0].subjectId, image: randomUUID() };
    const plantedObject = join(dataDir, 'objects', 'originals', planted.subject, planted.image);
    const plantedPartial = join(dataDir, 'objects', 'originals', planted.subject, `.${randomUUID()}.${randomBytes(8).toString('hex')}.tmp`);
    mkdirSync(dirname(plantedObject), { recursive: true });
    writeFileSync(plantedObject, randomBytes(256));
    writeFileSync(plantedPartial, randomBytes(100));
    const leftByKill = filesUnder(join(dataDir, 'objects')).filter((f) => f.endsWith('.tmp')).length;

    // Run 2, same DATA_DIR; orphans may go after 2 s.
    const second = await startService(MAIN, { ...env, RETENTION_ORPHAN_GRACE: 'PT2S' });
    services.push(second);
    const http2 = () => request(second.url);
    await poll('ready after the restart', async () => (await http2().get('/health/ready')).status === 200, 60_000, 200);
    const readyAt = Date.now();
    const storage = new FilesystemObjectStorage({ root: join(dataDir, 'objects') });

    // The 2xx answers of run 1: events and decryptable originals (read now, before retention takes the processed ones).
    const uploads = outcomes.filter((o) => o.op === 'upload' && o.status === 201);
    const logNow = await logOf(second.url);
    const deletedNow = new Set(logNow.filter((e) => e.type === 'ImageDeleted').map((e) => e.data.imageId as string));
    let decrypted = 0;
    for (const o of uploads) {
      const subject = subjects.find((s) => s.subjectId === o.subjectId) as LoadSubject;
      const content = await http2().get(`/v1/images/${o.imageId}/content`).set('Authorization', `Bearer ${subject.token}`).buffer(true);
      if (content.status === 410 && (deletedNow.has(o.imageId as string) || content.body.code === 'IMAGE_DELETED')) continue;
      expect(content.status, `content of ${o.imageId}`).toBe(200);
      expect(createHash('sha256').update(content.body as Buffer).digest('hex')).toBe(o.sha256);
      decrypted++;
    }
    expect(decrypted).toBeGreaterThan(0);

    // Orphans (uploads killed between put and append) are swept after the grace; no half-written file stays.
    const originalsAndArtworks = ['originals/', 'artworks/'];
    let leftovers = '';
    let unreferencedAtStart: number | null = null;
    await poll(
      'no object without its event',
      async () => {
        const log = await logOf(second.url);
        const referenced = new Set(log.filter((e) => e.type === 'ImageUploaded' || e.type === 'ArtworkGenerated').map((e) => e.data.objectKey as string));
        const unreferenced = (await keysUnder(storage, originalsAndArtworks)).filter((k) => !referenced.has(k));
        const partial = filesUnder(join(dataDir, 'objects')).filter((f) => f.endsWith('.tmp'));
        leftovers = JSON.stringify({ unreferenced, partial: partial.map((f) => f.slice(dataDir.length)) });
        unreferencedAtStart ??= unreferenced.length;
        return unreferenced.length === 0 && partial.length === 0;
      },
      30_000,
      500,
      () => leftovers,
    );
    expect(existsSync(plantedObject) || existsSync(plantedPartial)).toBe(false);
    console.info(`[sigkill] after the restart: ${unreferencedAtStart} unreferenced object(s) (1 planted), ${leftByKill} partial file(s) (1 planted); all removed by the orphan sweep`);

    // Every job queued before the kill ends.
    const jobs = outcomes.filter((o) => o.op === 'job' && o.status === 202);
    await poll(
      'every job queued before the kill has ended',
      async () => {
        for (const o of jobs) {
          const subject = subjects.find((s) => s.subjectId === o.subjectId) as LoadSubject;
          const job = await http2().get(`/v1/jobs/${o.jobId}`).set('Authorization', `Bearer ${subject.token}`);
          if (!['completed', 'cancelled', 'failed'].includes(job.body.status as string)) return false;
        }
        return true;
      },
      60_000,
      500,
    );
    const jobStates = await Promise.all(
      jobs.map(async (o) => {
        const subject = subjects.find((s) => s.subjectId === o.subjectId) as LoadSubject;
        return (await http2().get(`/v1/jobs/${o.jobId}`).set('Authorization', `Bearer ${subject.token}`)).body as { status: string; error?: { code?: string } };
      }),
    );
    expect(jobStates.filter((j) => j.status === 'failed')).toEqual([]);
    expect(jobStates.some((j) => j.status === 'completed')).toBe(true);

    // Retention: every processed original is deleted, by its deadline (or, if that fell in the downtime, right after the restart).
    const processed = async () => {
      const log = await logOf(second.url);
      const completedJobs = new Set(log.filter((e) => e.type === 'JobCompleted').map((e) => e.data.jobId as string));
      const images = new Set(log.filter((e) => e.type === 'JobQueued' && completedJobs.has(e.data.jobId as string)).map((e) => e.data.imageId as string));
      return { log, images };
    };
    const deletions = await poll(
      'every processed original deleted by retention',
      async () => {
        const { log, images } = await processed();
        const deleted = log.filter((e) => e.type === 'ImageDeleted' && images.has(e.data.imageId as string));
        return deleted.length >= images.size && images.size > 0 ? deleted : null;
      },
      ORIGINAL_MAX_MS + 30_000,
      500,
    );
    for (const deletion of deletions) {
      if (deletion.data.reason !== 'retention') continue;
      const dueAt = Date.parse(deletion.data.dueAt as string);
      expect(Date.parse(deletion.occurredAt), `ImageDeleted ${deletion.data.imageId as string}`).toBeLessThanOrEqual(Math.max(dueAt, readyAt) + DELETION_SLACK_MS);
      expect(Date.parse(deletion.occurredAt)).toBeGreaterThanOrEqual(dueAt);
    }
    expect(deletions.filter((d) => d.data.reason === 'retention').length).toBeGreaterThan(0);

    // Now the whole picture: every 2xx whole, every object referenced, every recorded original/artwork present.
    const finalLog = await logOf(second.url);
    expect(consistencyProblems({ outcomes, events: finalLog, objectKeys: await keysUnder(storage, originalsAndArtworks) })).toEqual([]);
    const perImage = new Map<string, number>();
    for (const e of finalLog.filter((x) => x.type === 'ImageDeleted')) perImage.set(e.data.imageId as string, (perImage.get(e.data.imageId as string) ?? 0) + 1);
    expect([...perImage.values()].every((n) => n === 1)).toBe(true);

    // An account erasure completes.
    const erased = subjects[1];
    const erasure = await http2().delete('/v1/me').set('Authorization', `Bearer ${erased.token}`);
    expect(erasure.status).toBe(200);
    expect(erasure.body.erasureReceipt).toMatchObject({ subjectId: erased.subjectId, keyDestroyed: true });
    const afterErasure = await logOf(second.url);
    expect(afterErasure.filter((e) => e.type === 'SubjectErased' && e.data.subjectId === erased.subjectId)).toHaveLength(1);
    expect(await keysUnder(storage, objectKeys.subjectPrefixes(erased.subjectId))).toEqual([]);
    expect((await http2().get('/v1/images').set('Authorization', `Bearer ${erased.token}`)).status).toBe(401);

    const stopped = await second.stop();
    expect(stopped.code === 0 || stopped.signal === 'SIGTERM').toBe(true);
  });
});
