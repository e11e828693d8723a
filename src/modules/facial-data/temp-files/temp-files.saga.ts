import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { RuntimeOptions } from '../../config/config.module';
import { EventLog, type CommandContext } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import type { StoredEvent } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { ObjectStorage } from '../../object-storage/object-storage.port';
import { foldJob } from '../jobs/job.state';
import { JobsView } from '../jobs/jobs.view';
import { decideTempFileDeletion } from './temp-files.decider';

const FINISHING_EVENTS: ReadonlySet<string> = new Set(['JobCompleted', 'JobFailed', 'JobCancelled']);
const MAX_CONFLICT_RETRIES = 5;

export interface TempFileSweepResult {
  /** Finished jobs found with temporary objects still on record. */
  readonly jobs: number;
  /** TempFileDeleted events appended. */
  readonly deleted: number;
  /** Jobs whose clean-up failed this time (left for the next sweep). */
  readonly failed: number;
}

/**
 * Retention rule `temp-files` ("temporary files cleared immediately after processing"): the
 * moment this instance's projections apply a JobCompleted, JobFailed or JobCancelled (appended by
 * any instance), every temporary object the job still has on record is deleted, the object first,
 * then one TempFileDeleted per object appended with the job stream's expected revision. Running
 * twice (two instances, a replay after restart) appends nothing more: the second run finds no live
 * temp files, or loses the revision race and then finds none.
 *
 * `sweepTempFiles()` is the crash-repair path: it lists finished jobs with live temp files in the
 * jobs projection and cleans each; the retention module calls it from its scheduled sweep (and
 * this saga once at start-up when schedulers are enabled).
 */
@Injectable()
export class TempFilesSaga implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(ObjectStorage) private readonly storage: ObjectStorage,
    @Inject(JobsView) private readonly jobs: JobsView,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppLogger) appLogger: AppLogger,
    @Inject(RuntimeOptions) private readonly runtime: RuntimeOptions,
  ) {
    this.logger = appLogger.root.child({ component: 'temp-files-saga' });
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.runner.onEvents((events) => this.onEvents(events));
    if (this.runtime.schedulersEnabled) {
      // Repairs what a crash left behind before this start (the projection already knows it).
      void this.runner
        .waitUntilCaughtUp()
        .then(() => (this.stopped ? undefined : this.sweepTempFiles()))
        .catch((error: unknown) => this.logger.warn({ err: { type: (error as Error)?.name } }, 'start-up temp-file sweep failed'));
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.whenIdle();
  }

  /** Resolves when every clean-up triggered so far has run. */
  async whenIdle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.chain;
      await current;
    } while (current !== this.chain);
  }

  /** Deletes the temporary objects of a finished job and records each deletion. Returns how many. */
  async cleanUpJob(jobId: string, causationId: string | null = null): Promise<number> {
    const stream = streams.job(jobId);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const loaded = await this.log.load(stream);
      const events = decideTempFileDeletion(foldJob(loaded.events));
      if (events.length === 0) return 0;
      await this.storage.deleteMany(events.map((event) => event.data.objectKey));
      const context: CommandContext = { actor: 'system:retention', correlationId: randomUUID(), causationId: causationId ?? loaded.events[loaded.events.length - 1].id };
      try {
        await this.log.append(stream, events, loaded.revision, context);
        return events.length;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        // Another instance recorded (some of) them meanwhile: decide again from the new history.
      }
    }
    throw new Error(`temp-file clean-up of job ${jobId} kept conflicting`);
  }

  /** The crash-repair path: every finished job with temp files still on record, cleaned. */
  async sweepTempFiles(): Promise<TempFileSweepResult> {
    const jobIds = this.jobs.finishedJobsWithLiveTempFiles(10_000);
    let deleted = 0;
    let failed = 0;
    for (const jobId of jobIds) {
      try {
        deleted += await this.cleanUpJob(jobId);
      } catch (error) {
        failed++;
        this.logger.warn({ jobId, err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'temp-file clean-up failed; the next sweep retries');
      }
    }
    return { jobs: jobIds.length, deleted, failed };
  }

  private onEvents(events: readonly StoredEvent[]): void {
    if (this.stopped) return;
    for (const event of events) {
      if (!FINISHING_EVENTS.has(event.type)) continue;
      const jobId = typeof event.data.jobId === 'string' ? event.data.jobId : null;
      if (!jobId || this.pending.has(jobId)) continue;
      // The projection already holds this event: skip jobs with nothing to delete (replays, rebuilds).
      if (this.jobs.liveTempFiles(jobId).length === 0) continue;
      this.pending.add(jobId);
      const causationId = event.id;
      this.chain = this.chain.then(async () => {
        this.pending.delete(jobId);
        try {
          await this.cleanUpJob(jobId, causationId);
        } catch (error) {
          this.logger.warn({ jobId, err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'temp-file clean-up failed; the sweep retries');
        }
      });
    }
  }
}
