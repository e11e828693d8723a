import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import type { Logger } from 'pino';
import { AppConfig } from '../../config/app-config';
import { RuntimeOptions } from '../../config/config.module';
import { EventStore, type PurgeResult } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';

export const SCAVENGE_JOB_NAME = 'retention:eventstore-scavenge';

/**
 * EventStoreDB keeps what `$maxAge`, deletes and tombstones hide on disk until a scavenge runs on
 * every node. With EVENTSTORE_SCAVENGE_SCHEDULE (a cron expression, UTC, validated with the
 * configuration at boot; off by default) this
 * instance starts a scavenge through the admin API on that schedule (the key store's tombstoned
 * subject keys and the expired operation logs leave the disk). The embedded store removes such
 * events itself when the sweep purges, so there the schedule is ignored (with a log line).
 */
@Injectable()
export class ScavengeSchedule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private running: Promise<PurgeResult | null> | null = null;

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(SchedulerRegistry) private readonly scheduler: SchedulerRegistry,
    @Inject(RuntimeOptions) private readonly runtime: RuntimeOptions,
    @Inject(AppLogger) appLogger: AppLogger,
  ) {
    this.logger = appLogger.root.child({ component: 'retention', task: 'scavenge-schedule' });
  }

  onApplicationBootstrap(): void {
    const schedule = this.config.eventStore.scavengeSchedule;
    if (schedule === undefined || !this.runtime.schedulersEnabled) return;
    if (this.store.capabilities.physicalPurge) {
      this.logger.info({ schedule }, 'EVENTSTORE_SCAVENGE_SCHEDULE ignored: the embedded event store removes purged events itself');
      return;
    }
    const job = CronJob.from({ cronTime: schedule, onTick: () => void this.scavengeOnce(), start: false, timeZone: 'UTC' });
    this.scheduler.addCronJob(SCAVENGE_JOB_NAME, job);
    job.start();
    this.logger.info({ schedule }, 'scheduled EventStoreDB scavenges');
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('cron', SCAVENGE_JOB_NAME)) {
      await this.scheduler.getCronJob(SCAVENGE_JOB_NAME).stop();
      this.scheduler.deleteCronJob(SCAVENGE_JOB_NAME);
    }
    await this.running;
  }

  /** Starts one scavenge (on every node); one at a time. Never throws: failures are logged. */
  scavengeOnce(): Promise<PurgeResult | null> {
    if (this.running) return this.running;
    this.running = this.store
      .purge()
      .then((result) => {
        this.logger.info({ mode: result.mode, scavengeId: result.scavengeId }, 'scheduled scavenge started');
        return result;
      })
      .catch((error: unknown) => {
        this.logger.warn({ err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'scheduled scavenge could not be started; the next tick retries');
        return null;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }
}
