/**
 * The temp-files saga on the embedded store: reacts at once to a job's end (appended by this or
 * another instance), deletes the objects first and records each deletion once; the sweep repairs
 * a crash between the two.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import { streams } from '../../../events/streams';
import { jobsProjection } from '../../../projections/jobs.projection';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { openReadModelDatabase } from '../../../projections/read-model-database';
import { ReadModels } from '../../../projections/read-models';
import { ManualClock } from '../../clock/clock.port';
import { RuntimeOptions } from '../../config/config.module';
import { masterKeyFromBytes } from '../../crypto/master-key';
import { SqliteKeyStore } from '../../crypto/sqlite/sqlite-key-store';
import { SubjectCipher } from '../../crypto/subject-cipher';
import { EventLog, type CommandContext } from '../../event-store/event-log';
import { EventStoreUnavailableError } from '../../event-store/event-store.errors';
import type { EventStore, StoredEvent } from '../../event-store/event-store.port';
import { SqliteEventStore } from '../../event-store/sqlite/sqlite-event-store';
import { PinoAppLogger } from '../../logging/logger';
import { FilesystemObjectStorage } from '../../object-storage/filesystem/filesystem-object-storage';
import { objectKeys } from '../../object-storage/object-keys';
import { JobsView } from '../jobs/jobs.view';
import { TempFilesSaga } from './temp-files.saga';

interface Instance {
  store: SqliteEventStore;
  log: EventLog;
  runner: ProjectionRunner;
  view: JobsView;
  saga: TempFilesSaga;
  settle(): Promise<void>;
  close(): Promise<void>;
}

let dir: string;
let clock: ManualClock;
let keys: SqliteKeyStore;
let storage: FilesystemObjectStorage;
const opened: Instance[] = [];

/** One service instance: its own store connection, read models and saga, on the shared files. */
function instance(name: string, wrapStore: (store: EventStore) => EventStore = (s) => s): Instance {
  const store = new SqliteEventStore({ file: join(dir, 'events.db'), clock, pollIntervalMs: 20 });
  const log = new EventLog(wrapStore(store), new SubjectCipher(keys), clock);
  const db = openReadModelDatabase(join(dir, `readmodels-${name}.db`));
  const runner = new ProjectionRunner(store, db, [jobsProjection]);
  runner.start();
  const view = new JobsView(new ReadModels(db));
  const saga = new TempFilesSaga(log, storage, view, runner, new PinoAppLogger(pino({ level: 'silent' })), new RuntimeOptions(false));
  saga.onApplicationBootstrap();
  const settle = async () => {
    for (let i = 0; i < 2; i++) {
      const head = await store.headPosition();
      if (head) await runner.waitFor(head);
      await saga.whenIdle();
    }
  };
  const made: Instance = {
    store,
    log,
    runner,
    view,
    saga,
    settle,
    close: async () => {
      await saga.beforeApplicationShutdown();
      await runner.stop();
      db.close();
      await store.close();
    },
  };
  opened.push(made);
  return made;
}

const context: CommandContext = { actor: 'system:processing', correlationId: randomUUID(), causationId: null };

async function jobWithTempFiles(on: Instance, names: string[]): Promise<{ jobId: string; subjectId: string; keys: string[] }> {
  const jobId = randomUUID();
  const subjectId = randomUUID();
  const ids = { jobId, subjectId, imageId: randomUUID(), purpose: 'photo-restore' as const };
  const tempKeys = names.map((name) => objectKeys.temp(subjectId, jobId, name));
  for (const key of tempKeys) await storage.put(key, randomBytes(32));
  const events: DomainEvent[] = [
    { type: 'JobQueued', data: { ...ids, options: {} } },
    { type: 'JobStarted', data: { ...ids, attempt: 1, worker: 'w', leaseUntil: '2026-03-02T03:00:00.000Z' } },
    ...tempKeys.map((objectKey, i): DomainEvent => ({ type: 'TempFileCreated', data: { jobId, subjectId, objectKey, kind: i === 0 ? 'input' : 'intermediate', size: 32 } })),
  ];
  await on.log.append(streams.job(jobId), events, 'no_stream', context);
  return { jobId, subjectId, keys: tempKeys };
}

async function finish(on: Instance, jobId: string, subjectId: string, how: 'JobCompleted' | 'JobFailed' | 'JobCancelled'): Promise<void> {
  const loaded = await on.log.load(streams.job(jobId));
  const queued = loaded.events[0];
  const ids = { jobId, subjectId, imageId: queued.type === 'JobQueued' ? queued.data.imageId : '', purpose: 'photo-restore' as const };
  const event: DomainEvent =
    how === 'JobCompleted'
      ? { type: 'JobCompleted', data: { ...ids, artworkId: null, summary: {} } }
      : how === 'JobFailed'
        ? { type: 'JobFailed', data: { ...ids, code: 'IMAGE_UNREADABLE', message: 'x' } }
        : { type: 'JobCancelled', data: { ...ids, reason: 'consent-withdrawn' } };
  await on.log.append(streams.job(jobId), [event], loaded.revision, context);
}

async function streamTypes(store: EventStore, jobId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const event of store.readStream(streams.job(jobId))) out.push(event.type);
  return out;
}

async function exists(key: string): Promise<boolean> {
  return (await storage.head(key)) !== null;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pm-tempfiles-'));
  clock = new ManualClock('2026-03-02T02:00:00.000Z');
  keys = new SqliteKeyStore({ masterKey: masterKeyFromBytes(randomBytes(32)), dataDir: dir, clock });
  storage = new FilesystemObjectStorage({ root: join(dir, 'objects') });
});

afterEach(async () => {
  for (const one of opened.splice(0)) await one.close();
  await keys.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('TempFilesSaga', () => {
  for (const how of ['JobCompleted', 'JobFailed', 'JobCancelled'] as const) {
    it(`on ${how}: deletes every temp object at once, then records one TempFileDeleted each`, async () => {
      const a = instance('a');
      const job = await jobWithTempFiles(a, ['input', 'normalised.png']);
      await a.settle();
      expect(await Promise.all(job.keys.map(exists))).toEqual([true, true]); // running: left alone

      await finish(a, job.jobId, job.subjectId, how);
      await a.settle();
      expect(await Promise.all(job.keys.map(exists))).toEqual([false, false]);
      const events: StoredEvent[] = [];
      for await (const event of a.store.readStream(streams.job(job.jobId))) events.push(event);
      const deleted = events.filter((e) => e.type === 'TempFileDeleted');
      expect(deleted.map((e) => e.data)).toEqual(job.keys.map((objectKey) => ({ jobId: job.jobId, subjectId: job.subjectId, objectKey, reason: 'retention', rule: 'temp-files' })));
      expect(deleted.every((e) => e.metadata.actor === 'system:retention')).toBe(true);
      expect(a.view.liveTempFiles(job.jobId)).toEqual([]);

      expect(await a.saga.cleanUpJob(job.jobId)).toBe(0);
      expect(await a.saga.sweepTempFiles()).toEqual({ jobs: 0, deleted: 0, failed: 0 });
    });
  }

  it('reacts to a job end appended by another instance, and two instances record each deletion once', async () => {
    const a = instance('a');
    const b = instance('b');
    const job = await jobWithTempFiles(a, ['input', 'one.png', 'two.png']);
    await finish(b, job.jobId, job.subjectId, 'JobCompleted');
    await a.settle();
    await b.settle();
    await a.settle();
    const types = await streamTypes(a.store, job.jobId);
    expect(types.filter((t) => t === 'TempFileDeleted')).toHaveLength(3);
    expect(await Promise.all(job.keys.map(exists))).toEqual([false, false, false]);
    expect(a.view.liveTempFiles(job.jobId)).toEqual([]);
    expect(b.view.liveTempFiles(job.jobId)).toEqual([]);
  });

  it('crash between object deletion and event: the next sweep appends exactly one TempFileDeleted, a second sweep nothing', async () => {
    let crash = true;
    const crashing = instance('crashing', (store) =>
      new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === 'append') {
            return async (stream: string, events: { type: string }[], expected: never) => {
              if (crash && events.some((e) => e.type === 'TempFileDeleted')) throw new EventStoreUnavailableError('simulated crash before the event');
              return target.append(stream, events as never, expected);
            };
          }
          const value = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
    );
    const job = await jobWithTempFiles(crashing, ['input']);
    await finish(crashing, job.jobId, job.subjectId, 'JobFailed');
    await crashing.settle();
    expect(await exists(job.keys[0])).toBe(false); // the object went first
    expect((await streamTypes(crashing.store, job.jobId)).filter((t) => t === 'TempFileDeleted')).toHaveLength(0);
    expect(crashing.view.finishedJobsWithLiveTempFiles()).toEqual([job.jobId]);

    // Restart on the same files: the read model is past the JobFailed, so only the sweep (the retention tick) can repair it.
    crash = false;
    await crashing.close();
    opened.splice(opened.indexOf(crashing), 1);
    const fresh = instance('crashing');
    await fresh.settle();
    expect((await streamTypes(fresh.store, job.jobId)).filter((t) => t === 'TempFileDeleted')).toHaveLength(0);
    expect(await fresh.saga.sweepTempFiles()).toEqual({ jobs: 1, deleted: 1, failed: 0 });
    await fresh.settle();
    expect((await streamTypes(fresh.store, job.jobId)).filter((t) => t === 'TempFileDeleted')).toHaveLength(1);
    expect(await fresh.saga.sweepTempFiles()).toEqual({ jobs: 0, deleted: 0, failed: 0 });
    expect((await streamTypes(fresh.store, job.jobId)).filter((t) => t === 'TempFileDeleted')).toHaveLength(1);
  });
});
