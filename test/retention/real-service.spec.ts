/**
 * The real service, as `node dist/src/main.js` runs it (system clock, schedulers on), with
 * RETENTION_ORIGINAL_MAX=PT5S and RETENTION_SWEEP_INTERVAL=PT1S: a processed original is deleted
 * within 10 s of its job's completion — not before 5 s — its content then answers 410, and the
 * compliance report counts it as deleted on time. Also: a retention duration longer than the
 * policy stops the service at boot with a message naming the variable.
 *
 * Runs from the build (`npm test` builds first); run alone, the spec skips itself with a message
 * when the build is missing or older than the sources it needs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { base64Of, pngImage } from '../fixtures/images';
import { buildProblem, runToExit, startService, type ServiceProcess } from '../support/service-process';

const MAIN = 'dist/src/main.js';
const problem = buildProblem(MAIN, [
  'src/main.ts',
  'src/modules/retention/sweep/retention-sweeper.ts',
  'src/modules/retention/sweep/original-deletions.ts',
  'src/modules/retention/compliance-report/compliance-report.service.ts',
  'src/projections/retention-ledger.projection.ts',
  'src/modules/config/app-config.ts',
]);
if (problem) console.warn(`[real-service.spec] skipped: ${problem}`);

const AUDITOR = `auditor-${randomBytes(12).toString('hex')}`;

async function poll<T>(what: string, attempt: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(problem !== null)('retention in the real running service', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('RETENTION_ORIGINAL_MAX=PT5S, RETENTION_SWEEP_INTERVAL=PT1S: the processed original is gone (410) 5–10 s after its job completed, counted on time', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pm-retention-service-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const service: ServiceProcess = await startService(MAIN, {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      MASTER_KEY: randomBytes(32).toString('base64'),
      STAFF_TOKENS: `auditor:alice:${AUDITOR}`,
      RETENTION_ORIGINAL_MAX: 'PT5S',
      RETENTION_SWEEP_INTERVAL: 'PT1S',
    });
    cleanup.push(async () => {
      await service.stop();
    });
    const http = () => request(service.url);
    const auditor = { Authorization: `Bearer ${AUDITOR}` };

    const registered = await http()
      .post('/v1/devices')
      .send({ deviceId: `device-${randomBytes(6).toString('hex')}`, deviceSecret: `secret-${randomBytes(24).toString('hex')}`, isAdult: true });
    expect(registered.status).toBe(201);
    const subject = { Authorization: `Bearer ${registered.body.accessToken as string}` };
    expect((await http().put('/v1/me/consents/photo-enlarge').set(subject).send({ policyVersion: '2025-06-24' })).status).toBe(200);
    const image = await pngImage(32, 24);
    const uploaded = await http()
      .post('/v1/images')
      .set(subject)
      .send({ imageBase64: base64Of(image), contentType: image.contentType, purpose: 'photo-enlarge', faces: [{ x: 2, y: 2, width: 10, height: 10 }] });
    expect(uploaded.status).toBe(201);
    const imageId = uploaded.body.imageId as string;
    const queued = await http().post(`/v1/images/${imageId}/jobs`).set(subject).send({ purpose: 'photo-enlarge' });
    expect(queued.status).toBe(202);
    const jobId = queued.body.jobId as string;

    await poll(
      'job completed',
      async () => {
        const job = await http().get(`/v1/jobs/${jobId}`).set(subject);
        if (job.body.status === 'failed' || job.body.status === 'cancelled') throw new Error(`job ended ${JSON.stringify(job.body)}`);
        return job.body.status === 'completed' ? job.body : null;
      },
      60_000,
    );
    await poll(
      'content answers 410',
      async () => {
        const content = await http().get(`/v1/images/${imageId}/content`).set(subject);
        if (content.status === 410) {
          expect(content.body.code).toBe('IMAGE_DELETED');
          return true;
        }
        expect(content.status).toBe(200);
        return null;
      },
      30_000,
    );

    // From the log: the deletion came 5 to 10 s after the completion, by the retention sweep. The
    // content answers 410 as soon as the object is gone; ImageDeleted is appended right after.
    type LoggedEvent = { type: string; occurredAt: string; actor: string; data: Record<string, unknown> };
    const events = await poll(
      'ImageDeleted in the log',
      async () => {
        const log = await http().get('/v1/audit/events').query({ subjectId: registered.body.subjectId, limit: 1000 }).set(auditor);
        expect(log.status).toBe(200);
        const logged = log.body.events as LoggedEvent[];
        return logged.some((e) => e.type === 'ImageDeleted') ? logged : null;
      },
      10_000,
    );
    const completed = events.find((e) => e.type === 'JobCompleted');
    const deleted = events.filter((e) => e.type === 'ImageDeleted');
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatchObject({ actor: 'system:retention', data: { imageId, reason: 'retention', rule: 'original-after-processing' } });
    const completedAt = Date.parse(String(completed?.occurredAt));
    const deletedAt = Date.parse(deleted[0].occurredAt);
    expect(Date.parse(String(deleted[0].data.dueAt))).toBe(completedAt + 5000);
    expect(deletedAt - completedAt).toBeGreaterThanOrEqual(5000);
    expect(deletedAt - completedAt).toBeLessThanOrEqual(10_000);

    const job = await http().post(`/v1/images/${imageId}/jobs`).set(subject).send({ purpose: 'photo-enlarge' });
    expect([job.status, job.body.code]).toEqual([410, 'IMAGE_DELETED']);

    // The report reads the read models, which follow the log within moments.
    const report = await poll(
      'deletions in the retention report',
      async () => {
        const answer = await http().get('/v1/audit/retention').set(auditor);
        expect(answer.status).toBe(200);
        return answer.body.rules[0].deletedOnTime === 1 && answer.body.rules[1].deletedOnTime === 2 ? answer : null;
      },
      10_000,
    );
    expect(report.body.rules[0]).toEqual({ rule: 'original-after-processing', tracked: 1, deletedOnTime: 1, deletedLate: 0, overdue: 0, maxLatenessSeconds: expect.any(Number) });
    expect(report.body.rules[0].maxLatenessSeconds).toBeLessThanOrEqual(5);
    expect(report.body.rules[1]).toMatchObject({ rule: 'temp-files', tracked: 2, deletedOnTime: 2, overdue: 0 });

    const exit = await service.stop();
    expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true);
    expect(service.output()).not.toContain(image.bytes.toString('base64').slice(0, 64));
  });

  it.each([
    ['RETENTION_ORIGINAL_MAX', 'PT25H'],
    ['RETENTION_OPLOG_MAX', 'P8D'],
    ['RETENTION_TEMP_MAX', 'PT10M'],
  ])('%s=%s longer than the policy: the service refuses to start, naming the variable', async (name, value) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pm-retention-refused-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const result = await runToExit(MAIN, { DATA_DIR: dataDir, [name]: value });
    expect(result.code).toBe(1);
    expect(result.output).toContain(`${name}=${value} is longer than the published privacy policy allows`);
    expect(result.output).not.toContain('Server listening');
  });
});
