/**
 * The processing worker on real adapters (embedded event store, filesystem objects, SQLite keys,
 * the jobs projection, sharp), driven deterministically with runOnce()/drain() and a ManualClock.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Purpose } from '../../../events/purposes';
import { streams } from '../../../events/streams';
import { jobsProjection } from '../../../projections/jobs.projection';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { openReadModelDatabase } from '../../../projections/read-model-database';
import { ReadModels } from '../../../projections/read-models';
import { ManualClock } from '../../clock/clock.port';
import { loadConfig, type AppConfig } from '../../config/app-config';
import { RuntimeOptions } from '../../config/config.module';
import { ConsentGate } from '../../consent/consent-gate.service';
import { masterKeyFromBytes } from '../../crypto/master-key';
import { SqliteKeyStore } from '../../crypto/sqlite/sqlite-key-store';
import { SubjectCipher } from '../../crypto/subject-cipher';
import { EventLog, type CommandContext } from '../../event-store/event-log';
import { EventStoreUnavailableError } from '../../event-store/event-store.errors';
import type { StoredEvent } from '../../event-store/event-store.port';
import { SqliteEventStore } from '../../event-store/sqlite/sqlite-event-store';
import { PinoAppLogger } from '../../logging/logger';
import { FilesystemObjectStorage } from '../../object-storage/filesystem/filesystem-object-storage';
import { objectKeys } from '../../object-storage/object-keys';
import { ObjectStorage, ObjectStorageUnavailableError, type ObjectInfo, type PutObjectOptions, type LifecycleRule } from '../../object-storage/object-storage.port';
import { FaceProcessor, ProcessingError, type ProcessingInput, type ProcessingOutput, type ProcessorIdentity } from '../../processing/face-processor.port';
import { SharpFaceProcessor } from '../../processing/local/sharp-face-processor';
import { RoutingFaceProcessor } from '../../processing/routing-face-processor';
import { CancelJobsCommand } from '../cancel-jobs/cancel-jobs.command';
import { CancelJobsHandler } from '../cancel-jobs/cancel-jobs.handler';
import { EncryptedObjects } from '../encrypted-objects';
import { JobsView } from '../jobs/jobs.view';
import { TempFilesSaga } from '../temp-files/temp-files.saga';
import { JobExecutor } from './job-executor';
import { artworkIdFor } from './processing-worker.decider';
import { ProcessingWorker } from './processing-worker';

/** An ObjectStorage that delegates and lets a test act when a key is written. */
class HookedStorage extends ObjectStorage {
  readonly kind = 'hooked';
  onPut: ((key: string) => Promise<void>) | undefined;
  constructor(readonly inner: ObjectStorage) {
    super();
  }
  async put(key: string, body: Buffer, options?: PutObjectOptions): Promise<void> {
    await this.inner.put(key, body, options);
    if (this.onPut) await this.onPut(key);
  }
  get(key: string): Promise<Buffer> {
    return this.inner.get(key);
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  deleteMany(keys: readonly string[]): Promise<void> {
    return this.inner.deleteMany(keys);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  ensureLifecycleRules(rules: readonly LifecycleRule[]): Promise<boolean> {
    return this.inner.ensureLifecycleRules(rules);
  }
  checkHealth(): Promise<void> {
    return this.inner.checkHealth();
  }
}

/** A processor whose behaviour each test scripts; delegates to sharp by default. */
class ScriptedProcessor extends FaceProcessor {
  calls = 0;
  running = 0;
  maxRunning = 0;
  script: ((input: ProcessingInput, call: number) => Promise<ProcessingOutput>) | undefined;
  constructor(private readonly real: FaceProcessor) {
    super();
  }
  identityFor(purpose: Purpose): ProcessorIdentity {
    return this.real.identityFor(purpose);
  }
  supports(purpose: Purpose): boolean {
    return this.real.supports(purpose);
  }
  async process(input: ProcessingInput): Promise<ProcessingOutput> {
    this.calls++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      return this.script ? await this.script(input, this.calls) : await this.real.process(input);
    } finally {
      this.running--;
    }
  }
}

interface Bed {
  dir: string;
  clock: ManualClock;
  config: AppConfig;
  store: SqliteEventStore;
  keys: SqliteKeyStore;
  log: EventLog;
  storage: HookedStorage;
  objects: EncryptedObjects;
  runner: ProjectionRunner;
  view: JobsView;
  consent: ConsentGate;
  processor: ScriptedProcessor;
  worker: ProcessingWorker;
  saga: TempFilesSaga;
  cancel: CancelJobsHandler;
  executor(name: string): JobExecutor;
  settle(): Promise<void>;
  close(): Promise<void>;
}

const silent = pino({ level: 'silent' });

async function openBed(env: Record<string, string> = {}, schedulers = false): Promise<Bed> {
  const dir = mkdtempSync(join(tmpdir(), 'pm-worker-'));
  const clock = new ManualClock('2026-03-02T02:00:00.000Z');
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', INSTANCE_ID: 'worker-a', JOB_LEASE: 'PT1M', JOB_MAX_ATTEMPTS: '2', JOB_CONCURRENCY: '2', ...env });
  const store = new SqliteEventStore({ file: join(dir, 'events.db'), clock, pollIntervalMs: 20 });
  const keys = new SqliteKeyStore({ masterKey: masterKeyFromBytes(randomBytes(32)), dataDir: dir, clock });
  const cipher = new SubjectCipher(keys);
  const log = new EventLog(store, cipher, clock);
  const storage = new HookedStorage(new FilesystemObjectStorage({ root: join(dir, 'objects') }));
  const objects = new EncryptedObjects(storage, cipher);
  const db = openReadModelDatabase(join(dir, 'readmodels.db'));
  const runner = new ProjectionRunner(store, db, [jobsProjection]);
  runner.start();
  const readModels = new ReadModels(db);
  const view = new JobsView(readModels);
  const consent = new ConsentGate(log, config);
  const processor = new ScriptedProcessor(new RoutingFaceProcessor({ local: new SharpFaceProcessor({ concurrency: 4 }) }));
  const appLogger = new PinoAppLogger(silent);
  const runtime = new RuntimeOptions(schedulers);
  const worker = new ProcessingWorker(log, objects, processor, consent, view, runner, store, clock, config, appLogger, runtime);
  const saga = new TempFilesSaga(log, storage, view, runner, appLogger, runtime);
  saga.onApplicationBootstrap();
  const cancel = new CancelJobsHandler(log, view, runner);
  const settle = async () => {
    const head = await store.headPosition();
    if (head) await runner.waitFor(head);
    await saga.whenIdle();
    const after = await store.headPosition();
    if (after) await runner.waitFor(after);
  };
  return {
    dir,
    clock,
    config,
    store,
    keys,
    log,
    storage,
    objects,
    runner,
    view,
    consent,
    processor,
    worker,
    saga,
    cancel,
    executor: (name) => new JobExecutor({ log, objects, processor, consent, clock, logger: silent }, { worker: name, leaseMs: config.processing.leaseMs, maxAttempts: config.processing.maxAttempts }),
    settle,
    close: async () => {
      await worker.stop();
      await saga.beforeApplicationShutdown();
      await runner.stop();
      db.close();
      await store.close();
      await keys.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ctx = (subjectId: string): CommandContext => ({ actor: `subject:${subjectId}`, correlationId: randomUUID(), causationId: null });

async function png(width = 40, height = 30): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 60 } } })
    .composite([{ input: Buffer.from(`<svg width="${width}" height="${height}"><circle cx="${width / 2}" cy="${height / 2}" r="${height / 3}" fill="#334"/></svg>`) }])
    .png()
    .toBuffer();
}

interface Seeded {
  subjectId: string;
  imageId: string;
  original: Buffer;
}

async function seedSubject(bed: Bed, purposes: Purpose[] = ['photo-enlarge']): Promise<string> {
  const subjectId = randomUUID();
  await bed.log.append(
    streams.subject(subjectId),
    [
      { type: 'SubjectRegistered', data: { subjectId, deviceId: 'device-1', ageBasis: 'adult', policyVersion: bed.config.policyVersion } },
      ...purposes.map((purpose) => ({ type: 'ConsentGranted' as const, data: { subjectId, purpose, policyVersion: bed.config.policyVersion } })),
    ],
    'no_stream',
    ctx(subjectId),
  );
  return subjectId;
}

async function seedImage(bed: Bed, subjectId: string): Promise<Seeded> {
  const imageId = randomUUID();
  const original = await png();
  const key = objectKeys.original(subjectId, imageId);
  await bed.objects.put(subjectId, key, original, 'image/png');
  await bed.log.append(
    streams.image(imageId),
    [
      {
        type: 'ImageUploaded',
        data: {
          imageId,
          subjectId,
          purpose: 'photo-enlarge',
          contentType: 'image/png',
          objectKey: key,
          size: original.length,
          sha256: createHash('sha256').update(original).digest('hex'),
          width: 40,
          height: 30,
          faceCount: 1,
          faces: [{ x: 10, y: 5, width: 20, height: 20 }],
        },
      },
    ],
    'no_stream',
    ctx(subjectId),
  );
  return { subjectId, imageId, original };
}

async function queue(bed: Bed, seeded: Seeded, purpose: Purpose = 'photo-enlarge', options: Record<string, never> = {}): Promise<string> {
  const jobId = randomUUID();
  await bed.log.append(streams.job(jobId), [{ type: 'JobQueued', data: { jobId, imageId: seeded.imageId, subjectId: seeded.subjectId, purpose, options } }], 'no_stream', ctx(seeded.subjectId));
  await bed.settle();
  return jobId;
}

async function jobEvents(bed: Bed, jobId: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const event of bed.store.readStream(streams.job(jobId))) out.push(event);
  return out;
}

async function tmpObjects(bed: Bed): Promise<string[]> {
  const out: string[] = [];
  for await (const info of bed.storage.list('tmp/')) out.push(info.key);
  return out;
}

describe('ProcessingWorker', () => {
  let bed: Bed;
  beforeEach(async () => {
    bed = await openBed();
  });
  afterEach(async () => {
    await bed.close();
  });

  it('runs a queued photo-enlarge job: claim, staged input, disclosure before the hand-over, intermediates, artwork, completion, then the temp files go', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);

    const summary = await bed.worker.drain();
    expect(summary.completed).toBe(1);
    await bed.settle();

    const events = await jobEvents(bed, jobId);
    expect(events.map((e) => e.type)).toEqual([
      'JobQueued',
      'JobStarted',
      'TempFileCreated',
      'DataDisclosedToProcessor',
      'TempFileCreated',
      'JobCompleted',
      'TempFileDeleted',
      'TempFileDeleted',
    ]);
    expect(events[1].data).toMatchObject({ attempt: 1, worker: 'worker-a', leaseUntil: '2026-03-02T02:01:00.000Z' });
    expect(events[2].data).toMatchObject({ kind: 'input', objectKey: objectKeys.temp(seeded.subjectId, jobId, 'input'), size: seeded.original.length });
    expect(events[3].data).toMatchObject({
      processor: 'local-sharp',
      purpose: 'photo-enlarge',
      objectSha256: createHash('sha256').update(seeded.original).digest('hex'),
      bytes: seeded.original.length,
    });
    expect(events[4].data).toMatchObject({ kind: 'intermediate', objectKey: objectKeys.temp(seeded.subjectId, jobId, 'normalised.png') });
    const artworkId = events[5].data.artworkId as string;
    expect(artworkId).toBe(artworkIdFor(jobId, 1));
    expect(events.slice(6).map((e) => e.data)).toEqual([
      { jobId, subjectId: seeded.subjectId, objectKey: objectKeys.temp(seeded.subjectId, jobId, 'input'), reason: 'retention', rule: 'temp-files' },
      { jobId, subjectId: seeded.subjectId, objectKey: objectKeys.temp(seeded.subjectId, jobId, 'normalised.png'), reason: 'retention', rule: 'temp-files' },
    ]);
    expect(events.slice(1).every((e) => e.metadata.actor === 'system:processing' || e.metadata.actor === 'system:retention')).toBe(true);
    expect(await tmpObjects(bed)).toEqual([]);

    const artworkStream: StoredEvent[] = [];
    for await (const e of bed.store.readStream(streams.artwork(artworkId))) artworkStream.push(e);
    expect(artworkStream.map((e) => e.type)).toEqual(['ArtworkGenerated']);
    const bytes = await bed.objects.get(seeded.subjectId, objectKeys.artwork(seeded.subjectId, artworkId));
    const meta = await sharp(bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 80, 60]);
    expect(artworkStream[0].data).toMatchObject({ contentType: 'image/png', width: 80, height: 60, size: bytes.length, jobId });

    const oplog: StoredEvent[] = [];
    for await (const e of bed.store.readStream(streams.oplog(seeded.subjectId))) oplog.push(e);
    expect(oplog.map((e) => e.data.step)).toEqual(['started', 'completed']);
    expect(typeof oplog[1].data.durationMs).toBe('number');

    expect(bed.view.findForSubject(jobId, seeded.subjectId)).toMatchObject({ status: 'completed', artworkId, attempts: 1 });
    expect(bed.view.findForSubject(jobId, randomUUID())).toBeNull();
  });

  it('runs at most JOB_CONCURRENCY jobs at once', async () => {
    const subjectId = await seedSubject(bed);
    const seeded = await seedImage(bed, subjectId);
    const jobs = [await queue(bed, seeded), await queue(bed, seeded), await queue(bed, seeded)];
    const first = await bed.worker.runOnce();
    expect(first.picked).toBe(2);
    expect(bed.processor.maxRunning).toBeLessThanOrEqual(2);
    const rest = await bed.worker.drain();
    expect(rest.completed).toBe(1);
    for (const jobId of jobs) expect(bed.view.find(jobId)?.status).toBe('completed');
    expect(bed.processor.maxRunning).toBe(2);
  });

  it('cancels at start when consent was withdrawn meanwhile: no disclosure, no temp file', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);
    await bed.log.append(streams.subject(seeded.subjectId), [{ type: 'ConsentWithdrawn', data: { subjectId: seeded.subjectId, purpose: 'photo-enlarge', policyVersion: bed.config.policyVersion } }], 'any', ctx(seeded.subjectId));
    expect((await bed.worker.drain()).cancelled).toBe(1);
    const events = await jobEvents(bed, jobId);
    expect(events.map((e) => [e.type, e.data.reason])).toEqual([
      ['JobQueued', undefined],
      ['JobCancelled', 'consent-withdrawn'],
    ]);
    expect(bed.processor.calls).toBe(0);
    expect(await tmpObjects(bed)).toEqual([]);
  });

  it('cancels at start when the purpose is restricted, or the original deleted', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const restrictedJob = await queue(bed, seeded);
    await bed.log.append(streams.subject(seeded.subjectId), [{ type: 'ProcessingRestricted', data: { subjectId: seeded.subjectId, purpose: 'photo-enlarge', requestId: null } }], 'any', ctx(seeded.subjectId));
    await bed.worker.drain();
    expect(bed.view.find(restrictedJob)?.cancelReason).toBe('restricted');

    const other = await seedImage(bed, await seedSubject(bed));
    const deletedJob = await queue(bed, other);
    await bed.storage.delete(objectKeys.original(other.subjectId, other.imageId));
    await bed.log.append(
      streams.image(other.imageId),
      [{ type: 'ImageDeleted', data: { imageId: other.imageId, subjectId: other.subjectId, purpose: 'photo-enlarge', objectKey: objectKeys.original(other.subjectId, other.imageId), reason: 'user' } }],
      'any',
      ctx(other.subjectId),
    );
    await bed.worker.drain();
    expect(bed.view.find(deletedJob)?.cancelReason).toBe('original-deleted');
    expect(bed.processor.calls).toBe(0);
  });

  it('fails ai-edit with PROCESSOR_UNSUPPORTED when no AI server is configured, without handing anything over', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed, ['ai-edit']));
    const jobId = await queue(bed, seeded, 'ai-edit');
    expect((await bed.worker.drain()).failed).toBe(1);
    const events = await jobEvents(bed, jobId);
    expect(events.map((e) => e.type)).toEqual(['JobQueued', 'JobStarted', 'JobFailed']);
    expect(events[2].data).toMatchObject({ code: 'PROCESSOR_UNSUPPORTED' });
    expect(bed.processor.calls).toBe(0);
    expect(bed.view.findForSubject(jobId, seeded.subjectId)?.error?.code).toBe('PROCESSOR_UNSUPPORTED');
  });

  it('leaves a retryable failure to its lease, then retries it as attempt 2', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);
    bed.processor.script = async (_input, call) => {
      if (call === 1) throw new ProcessingError('PROCESSOR_UNAVAILABLE', 'busy', true);
      bed.processor.script = undefined;
      return bed.processor.process(_input);
    };
    expect((await bed.worker.drain())['retry-later']).toBe(1);
    expect(bed.view.find(jobId)?.status).toBe('running');
    expect((await bed.worker.drain()).completed).toBe(0); // the lease still holds

    bed.clock.advance(60_000);
    expect((await bed.worker.drain()).completed).toBe(1);
    const types = (await jobEvents(bed, jobId)).map((e) => e.type);
    expect(types.filter((t) => t === 'JobStarted')).toHaveLength(2);
    expect(types.filter((t) => t === 'DataDisclosedToProcessor')).toHaveLength(2);
    expect(bed.view.find(jobId)).toMatchObject({ status: 'completed', attempts: 2, artworkId: artworkIdFor(jobId, 2) });
    await bed.settle();
    expect(await tmpObjects(bed)).toEqual([]);
  });

  it('fails with the processor’s code when the last attempt fails retryably', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);
    bed.processor.script = async () => {
      throw new ProcessingError('PROCESSOR_TIMEOUT', 'too slow', true);
    };
    await bed.worker.drain();
    bed.clock.advance(60_000);
    expect((await bed.worker.drain()).failed).toBe(1);
    expect(bed.view.find(jobId)).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'PROCESSOR_TIMEOUT', message: 'too slow' } });
    await bed.settle();
    expect(await tmpObjects(bed)).toEqual([]);
  });

  it('recovers a job whose worker died: expired lease → attempt 2 completes; on the last attempt → WORKER_LOST', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);
    const base = { jobId, subjectId: seeded.subjectId, imageId: seeded.imageId, purpose: 'photo-enlarge' as const };
    await bed.log.append(streams.job(jobId), [{ type: 'JobStarted', data: { ...base, attempt: 1, worker: 'dead', leaseUntil: '2026-03-02T02:01:00.000Z' } }], 0n, ctx(seeded.subjectId));
    await bed.settle();
    expect((await bed.worker.drain()).completed).toBe(0);
    bed.clock.advance(61_000);
    expect((await bed.worker.drain()).completed).toBe(1);
    expect(bed.view.find(jobId)).toMatchObject({ status: 'completed', attempts: 2 });

    const lostJob = await queue(bed, seeded);
    await bed.log.append(
      streams.job(lostJob),
      [
        { type: 'JobStarted', data: { ...base, jobId: lostJob, attempt: 1, worker: 'dead', leaseUntil: '2026-03-02T02:02:00.000Z' } },
        { type: 'TempFileCreated', data: { jobId: lostJob, subjectId: seeded.subjectId, objectKey: objectKeys.temp(seeded.subjectId, lostJob, 'input'), kind: 'input', size: 3 } },
        { type: 'JobStarted', data: { ...base, jobId: lostJob, attempt: 2, worker: 'dead', leaseUntil: '2026-03-02T02:03:00.000Z' } },
      ],
      0n,
      ctx(seeded.subjectId),
    );
    await bed.storage.put(objectKeys.temp(seeded.subjectId, lostJob, 'input'), Buffer.from('abc'));
    bed.clock.advance(120_000);
    await bed.settle();
    expect((await bed.worker.drain()).failed).toBe(1);
    await bed.settle();
    expect(bed.view.find(lostJob)).toMatchObject({ status: 'failed', error: { code: 'WORKER_LOST' } });
    expect((await jobEvents(bed, lostJob)).map((e) => e.type).slice(-2)).toEqual(['JobFailed', 'TempFileDeleted']);
    expect(await tmpObjects(bed)).toEqual([]);
  });

  it('resumes a job that crashed between ArtworkGenerated and JobCompleted with that artwork, handing nothing over again', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);
    const base = { jobId, subjectId: seeded.subjectId, imageId: seeded.imageId, purpose: 'photo-enlarge' as const };
    await bed.log.append(streams.job(jobId), [{ type: 'JobStarted', data: { ...base, attempt: 1, worker: 'dead', leaseUntil: '2026-03-02T02:01:00.000Z' } }], 0n, ctx(seeded.subjectId));
    const artworkId = artworkIdFor(jobId, 1);
    const art = await png(80, 60);
    await bed.objects.put(seeded.subjectId, objectKeys.artwork(seeded.subjectId, artworkId), art, 'image/png');
    await bed.log.append(
      streams.artwork(artworkId),
      [
        {
          type: 'ArtworkGenerated',
          data: {
            ...base,
            artworkId,
            objectKey: objectKeys.artwork(seeded.subjectId, artworkId),
            contentType: 'image/png',
            size: art.length,
            sha256: createHash('sha256').update(art).digest('hex'),
            width: 80,
            height: 60,
          },
        },
      ],
      'no_stream',
      { actor: 'system:processing', correlationId: randomUUID(), causationId: null },
    );
    bed.clock.advance(61_000);
    await bed.settle();
    expect((await bed.worker.drain()).completed).toBe(1);
    const events = await jobEvents(bed, jobId);
    expect(events.map((e) => e.type)).toEqual(['JobQueued', 'JobStarted', 'JobStarted', 'JobCompleted']);
    expect(events[3].data).toMatchObject({ artworkId, summary: { resumedFromAttempt: 1 } });
    expect(bed.processor.calls).toBe(0);
  });

  it('discards the result of a job cancelled while it ran, removing what it wrote', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);
    const cancelCtx = ctx(seeded.subjectId);
    bed.storage.onPut = async (key) => {
      if (!key.startsWith('artworks/')) return;
      bed.storage.onPut = undefined;
      await bed.cancel.execute(new CancelJobsCommand(seeded.subjectId, { purpose: 'photo-enlarge' }, 'consent-withdrawn', cancelCtx));
    };
    expect((await bed.worker.drain()).discarded).toBe(1);
    await bed.settle();
    const events = await jobEvents(bed, jobId);
    expect(events.map((e) => e.type)).toEqual(['JobQueued', 'JobStarted', 'TempFileCreated', 'DataDisclosedToProcessor', 'TempFileCreated', 'JobCancelled', 'TempFileDeleted', 'TempFileDeleted']);
    const artworkId = artworkIdFor(jobId, 1);
    const artworkTypes: string[] = [];
    for await (const e of bed.store.readStream(streams.artwork(artworkId))) artworkTypes.push(e.type);
    expect(artworkTypes).toEqual(['ArtworkGenerated', 'ArtworkDeleted']);
    expect(await bed.storage.head(objectKeys.artwork(seeded.subjectId, artworkId))).toBeNull();
    expect(await tmpObjects(bed)).toEqual([]);
    const oplogSteps: unknown[] = [];
    for await (const e of bed.store.readStream(streams.oplog(seeded.subjectId))) oplogSteps.push(e.data.step);
    expect(oplogSteps).toEqual(['started', 'cancelled']);
  });

  it('two workers racing on one job: exactly one JobStarted for the attempt and one JobCompleted', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);
    const outcomes = await Promise.all([bed.executor('worker-a').execute(jobId), bed.executor('worker-b').execute(jobId), bed.executor('worker-c').execute(jobId)]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['completed', 'skipped', 'skipped']);
    const types = (await jobEvents(bed, jobId)).map((e) => e.type);
    expect(types.filter((t) => t === 'JobStarted')).toHaveLength(1);
    expect(types.filter((t) => t === 'JobCompleted')).toHaveLength(1);
    expect(bed.processor.calls).toBe(1);
  });

  it('cancel-jobs cancels the unfinished jobs matching the filter and leaves finished ones alone', async () => {
    const subjectId = await seedSubject(bed, ['photo-enlarge', 'erase-pen']);
    const seeded = await seedImage(bed, subjectId);
    const done = await queue(bed, seeded);
    await bed.worker.drain();
    const enlarge = await queue(bed, seeded);
    const erase = await queue(bed, seeded, 'erase-pen');
    const first = await bed.cancel.execute(new CancelJobsCommand(subjectId, { purpose: 'photo-enlarge' }, 'consent-withdrawn', ctx(subjectId)));
    expect(first).toEqual({ cancelled: 1 });
    expect(bed.view.find(enlarge)).toMatchObject({ status: 'cancelled', cancelReason: 'consent-withdrawn' });
    expect(bed.view.find(erase)?.status).toBe('queued');
    expect(bed.view.find(done)?.status).toBe('completed');
    expect(await bed.cancel.execute(new CancelJobsCommand(subjectId, { purpose: 'photo-enlarge' }, 'consent-withdrawn', ctx(subjectId)))).toEqual({ cancelled: 0 });
    expect(await bed.cancel.execute(new CancelJobsCommand(randomUUID(), {}, 'erasure', ctx(subjectId)))).toEqual({ cancelled: 0 });
    expect(await bed.cancel.execute(new CancelJobsCommand(subjectId, { imageId: seeded.imageId }, 'original-deleted', ctx(subjectId)))).toEqual({ cancelled: 1 });
    expect(bed.view.find(erase)).toMatchObject({ status: 'cancelled', cancelReason: 'original-deleted' });
  });

  it('with schedulers enabled, wakes on JobQueued and runs the job by itself; stop() ends cleanly', async () => {
    const auto = await openBed({ INSTANCE_ID: 'worker-auto' }, true);
    try {
      auto.worker.onApplicationBootstrap();
      const seeded = await seedImage(auto, await seedSubject(auto));
      const jobId = await queue(auto, seeded);
      const deadline = Date.now() + 20_000;
      while (auto.view.find(jobId)?.status !== 'completed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(auto.view.find(jobId)?.status).toBe('completed');
      await auto.worker.beforeApplicationShutdown();
      expect(auto.worker.running).toBe(0);
      expect((await auto.worker.runOnce()).picked).toBe(0); // stopped: takes nothing more
    } finally {
      await auto.close();
    }
  });

  it('an infrastructure error during an attempt: what it staged is removed, the job is retried, then fails WORKER_ERROR', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);
    bed.storage.onPut = async (key) => {
      if (key.startsWith('tmp/')) throw new ObjectStorageUnavailableError('storage down');
    };
    expect((await bed.worker.drain())['retry-later']).toBe(1);
    expect(await tmpObjects(bed)).toEqual([]);
    expect((await jobEvents(bed, jobId)).map((e) => e.type)).toEqual(['JobQueued', 'JobStarted']);
    bed.clock.advance(60_000);
    expect((await bed.worker.drain()).failed).toBe(1);
    expect(bed.view.find(jobId)).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'WORKER_ERROR' } });
    expect(bed.processor.calls).toBe(0);
  });

  it('a store failure before the claim aborts the round without recording anything; the job runs once the store is back', async () => {
    const seeded = await seedImage(bed, await seedSubject(bed));
    const jobId = await queue(bed, seeded);
    let failing = true;
    class FlakyGate extends ConsentGate {
      override async verdict(subjectId: string, purpose: Purpose) {
        if (failing) throw new EventStoreUnavailableError('store down');
        return super.verdict(subjectId, purpose);
      }
    }
    const flaky = new ProcessingWorker(bed.log, bed.objects, bed.processor, new FlakyGate(bed.log, bed.config), bed.view, bed.runner, bed.store, bed.clock, bed.config, new PinoAppLogger(silent), new RuntimeOptions(false));
    const aborted = await flaky.drain();
    expect([aborted.aborted, aborted.rounds]).toEqual([1, 1]);
    expect((await jobEvents(bed, jobId)).map((e) => e.type)).toEqual(['JobQueued']);
    failing = false;
    expect((await flaky.drain()).completed).toBe(1);
  });
});
