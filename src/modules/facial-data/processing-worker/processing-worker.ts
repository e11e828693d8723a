import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { Clock } from '../../clock/clock.port';
import { AppConfig } from '../../config/app-config';
import { RuntimeOptions } from '../../config/config.module';
import { ConsentGate } from '../../consent/consent-gate.service';
import { EventLog } from '../../event-store/event-log';
import { EventStore } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { FaceProcessor } from '../../processing/face-processor.port';
import { EncryptedObjects } from '../encrypted-objects';
import { JobsView } from '../jobs/jobs.view';
import { JobExecutor, type JobOutcome } from './job-executor';

/** How often the worker looks for runnable jobs (new ones also wake it at once). */
export const WORKER_POLL_INTERVAL_MS = 1_000;
/** How long shutdown waits for running attempts before leaving them to their leases. */
export const WORKER_SHUTDOWN_GRACE_MS = 30_000;
const MAX_DRAIN_ROUNDS = 10_000;

export interface WorkerRound {
  /** Jobs this round took (at most the free slots). */
  readonly picked: number;
  readonly outcomes: readonly JobOutcome[];
}

export type DrainSummary = Readonly<Record<JobOutcome, number>> & { readonly rounds: number };

/**
 * The processing worker of this instance. Runnable jobs come from the jobs projection (queued, or
 * running with an expired lease), so a job survives any crash: whatever the log says is unfinished
 * is found again. At most `AppConfig.processing.concurrency` jobs run at once here; across
 * instances, the JobStarted claim (appended with the job stream's expected revision) makes sure
 * each attempt runs on exactly one.
 *
 * With schedulers enabled (RuntimeOptions) it polls and wakes on every JobQueued any instance
 * appends; tests turn schedulers off and drive it with `runOnce()` / `drain()`. Work never runs on
 * the request path.
 */
@Injectable()
export class ProcessingWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly executor: JobExecutor;
  private readonly logger: Logger;
  private readonly inFlight = new Map<string, Promise<JobOutcome>>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private automatic = false;
  private stopping = false;

  constructor(
    @Inject(EventLog) log: EventLog,
    @Inject(EncryptedObjects) objects: EncryptedObjects,
    @Inject(FaceProcessor) processor: FaceProcessor,
    @Inject(ConsentGate) consent: ConsentGate,
    @Inject(JobsView) private readonly jobs: JobsView,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(AppLogger) appLogger: AppLogger,
    @Inject(RuntimeOptions) private readonly runtime: RuntimeOptions,
  ) {
    this.logger = appLogger.root.child({ component: 'processing-worker' });
    this.executor = new JobExecutor(
      { log, objects, processor, consent, clock, logger: this.logger },
      { worker: config.instanceId, leaseMs: config.processing.leaseMs, maxAttempts: config.processing.maxAttempts },
    );
  }

  get workerId(): string {
    return this.executor.settings.worker;
  }

  /** Jobs running here now. */
  get running(): number {
    return this.inFlight.size;
  }

  onApplicationBootstrap(): void {
    if (this.runtime.schedulersEnabled) this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Starts polling and waking on JobQueued (done on bootstrap when schedulers are enabled). */
  start(): void {
    if (this.automatic || this.stopping) return;
    this.automatic = true;
    this.unsubscribe = this.runner.onEvents((events) => {
      if (events.some((event) => event.type === 'JobQueued')) setImmediate(() => this.pump());
    });
    this.timer = setInterval(() => this.pump(), WORKER_POLL_INTERVAL_MS);
    this.timer.unref();
    setImmediate(() => this.pump());
  }

  /** Stops taking jobs and waits (bounded) for the running ones; unfinished ones go back via their leases. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.automatic = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.inFlight.size === 0) return;
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight.values()]),
      new Promise<void>((resolve) => {
        grace = setTimeout(resolve, WORKER_SHUTDOWN_GRACE_MS);
        grace.unref();
      }),
    ]);
    if (grace) clearTimeout(grace);
  }

  /** Takes as many runnable jobs as there are free slots and runs them to the end of their attempt. */
  async runOnce(): Promise<WorkerRound> {
    const launched = this.pump();
    const outcomes = await Promise.all(launched);
    return { picked: launched.length, outcomes };
  }

  /**
   * Runs rounds until nothing runnable is left for this worker (jobs under another worker's live
   * lease, or waiting for their lease to run out before a retry, are not runnable), with the
   * projections caught up before each round. For tests and maintenance commands.
   */
  async drain(): Promise<DrainSummary> {
    const counts: Record<JobOutcome, number> = { skipped: 0, completed: 0, failed: 0, cancelled: 0, 'retry-later': 0, discarded: 0, aborted: 0 };
    let rounds = 0;
    for (; rounds < MAX_DRAIN_ROUNDS; rounds++) {
      await this.settle();
      if (this.inFlight.size > 0) {
        await Promise.allSettled([...this.inFlight.values()]);
        await this.settle();
      }
      const round = await this.runOnce();
      for (const outcome of round.outcomes) counts[outcome]++;
      // Stop when a round moved nothing forward (all taken by others, or the store failing).
      if (round.picked === 0 || round.outcomes.every((outcome) => outcome === 'skipped' || outcome === 'aborted')) break;
    }
    await this.settle();
    return { ...counts, rounds: rounds + 1 };
  }

  /** Starts runnable jobs in the free slots; returns their outcome promises. */
  private pump(): Promise<JobOutcome>[] {
    if (this.stopping) return [];
    const free = this.config.processing.concurrency - this.inFlight.size;
    if (free <= 0) return [];
    let candidates;
    try {
      candidates = this.jobs.runnable(this.clock.now(), free + this.inFlight.size);
    } catch (error) {
      this.logger.warn({ err: { type: (error as Error).name, message: (error as Error).message } }, 'could not read runnable jobs');
      return [];
    }
    return candidates
      .filter((job) => !this.inFlight.has(job.jobId))
      .slice(0, free)
      .map((job) => this.launch(job.jobId));
  }

  private launch(jobId: string): Promise<JobOutcome> {
    const run = this.executor
      .execute(jobId)
      .then(
        ({ outcome }) => outcome,
        (error: unknown) => {
          // Store or storage down before anything was claimed or recorded: the job stays runnable.
          this.logger.warn({ jobId, err: { type: error instanceof Error ? error.name : typeof error } }, 'job attempt aborted; it will be picked up again');
          return 'aborted' as const;
        },
      )
      .then((outcome) => {
        if (outcome !== 'skipped') this.logger.info({ jobId, outcome }, 'job attempt finished');
        return outcome;
      })
      .finally(() => {
        this.inFlight.delete(jobId);
        if (this.automatic) setImmediate(() => this.pump());
      });
    this.inFlight.set(jobId, run);
    return run;
  }

  private async settle(): Promise<void> {
    const head = await this.store.headPosition();
    if (head) await this.runner.waitFor(head);
  }
}
