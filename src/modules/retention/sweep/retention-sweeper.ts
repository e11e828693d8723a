import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { SchedulerRegistry } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { Clock } from '../../clock/clock.port';
import { AppConfig } from '../../config/app-config';
import { RuntimeOptions } from '../../config/config.module';
import type { CommandContext } from '../../event-store/event-log';
import { TempFilesSaga, type TempFileSweepResult } from '../../facial-data/temp-files/temp-files.saga';
import { AppLogger } from '../../logging/logger';
import { LifecycleBackstop } from '../lifecycle/lifecycle-backstop';
import { OplogMetadata, type OplogMetadataPassResult } from '../operation-logs/oplog-metadata';
import { OrphanSweeper, type OrphanSweepResult } from '../orphans/orphan-sweeper';
import { PurgeOperationLogsCommand, type PurgeOperationLogsResult } from '../purge-operation-logs/purge-operation-logs.command';
import { RetentionLedgerReader } from '../retention-ledger.reader';
import { OriginalDeletions, type DeletionPassResult } from './original-deletions';

export const SWEEP_INTERVAL_NAME = 'retention:sweep';
/** How long the start waits for the OSS lifecycle backstop before going on without it. */
const BACKSTOP_BOOT_WAIT_MS = 10_000;

export interface RetentionSweepReport {
  readonly sweepId: string;
  /** The clock's time the due items were computed against. */
  readonly at: string;
  readonly originals: DeletionPassResult | null;
  readonly consentWithdrawn: DeletionPassResult | null;
  /** Null when no temporary object was due (the saga had deleted them all). */
  readonly tempFiles: TempFileSweepResult | null;
  readonly oplogMetadata: OplogMetadataPassResult | null;
  readonly oplogPurge: PurgeOperationLogsResult | null;
  readonly orphans: OrphanSweepResult | null;
  /** Steps that failed this time (each is retried by the next sweep). */
  readonly failedSteps: readonly string[];
}

/**
 * The retention sweep: every RETENTION_SWEEP_INTERVAL (an @nestjs/schedule interval; off when
 * schedulers are disabled, where tests call `sweepOnce()`), it reads what is due from the
 * retention ledger and dispatches idempotent commands:
 * 1. originals past RETENTION_ORIGINAL_MAX → DeleteImageCommand (reason `retention`, rule, dueAt);
 * 2. held originals of a purpose whose consent was withdrawn → DeleteImageCommand (`consent-withdrawn`);
 * 3. temporary objects still on record RETENTION_TEMP_MAX after their job ended → the temp-file
 *    saga's `sweepTempFiles()` (its crash-repair path);
 * 4. operation logs: `$maxAge` on streams that lack it, then a purge of expired entries with an
 *    OperationLogsPurged record;
 * 5. orphaned objects (a bounded stretch of the bucket per sweep);
 * 6. the OSS lifecycle backstop, until it is in place.
 * Due times come from the log (through the ledger), never from a timer, so a restart loses
 * nothing; a crash between an object deletion and its event is completed by the next sweep with
 * exactly one event; concurrent instances race on stream revisions and record each deletion once.
 * One sweep at a time per instance; each run is bounded and yields between pages.
 */
@Injectable()
export class RetentionSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private running: Promise<RetentionSweepReport> | null = null;
  private stopped = false;

  constructor(
    @Inject(OriginalDeletions) private readonly originals: OriginalDeletions,
    @Inject(RetentionLedgerReader) private readonly ledger: RetentionLedgerReader,
    @Inject(TempFilesSaga) private readonly tempFiles: TempFilesSaga,
    @Inject(OplogMetadata) private readonly oplogMetadata: OplogMetadata,
    @Inject(OrphanSweeper) private readonly orphans: OrphanSweeper,
    @Inject(LifecycleBackstop) private readonly backstop: LifecycleBackstop,
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(SchedulerRegistry) private readonly scheduler: SchedulerRegistry,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(RuntimeOptions) private readonly runtime: RuntimeOptions,
    @Inject(AppLogger) appLogger: AppLogger,
  ) {
    this.logger = appLogger.root.child({ component: 'retention-sweep' });
  }

  async onApplicationBootstrap(): Promise<void> {
    // The lifecycle backstop at boot, without letting a slow OSS hold the start for long (the
    // sweep keeps trying until it is in place).
    const ensured = this.backstop.ensure();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ensured, new Promise((resolve) => (timer = setTimeout(resolve, BACKSTOP_BOOT_WAIT_MS)))]);
    clearTimeout(timer);
    if (!this.runtime.schedulersEnabled) return;
    const interval = setInterval(() => this.tick(), this.config.retention.sweepIntervalMs);
    this.scheduler.addInterval(SWEEP_INTERVAL_NAME, interval);
    // A first sweep as soon as the ledger has caught up: whatever fell due while the service was
    // down is handled now, not one interval later.
    void this.runner
      .waitUntilCaughtUp()
      .then(() => this.tick())
      .catch(() => undefined);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.scheduler.doesExist('interval', SWEEP_INTERVAL_NAME)) this.scheduler.deleteInterval(SWEEP_INTERVAL_NAME);
    await this.running?.catch(() => undefined);
  }

  /** Runs one full sweep now (after the one in progress, if any) and returns what it did. */
  async sweepOnce(): Promise<RetentionSweepReport> {
    while (this.running) await this.running.catch(() => undefined);
    return this.start();
  }

  /** A scheduler tick: skipped while a sweep is still running. */
  private tick(): void {
    if (this.stopped || this.running) return;
    void this.start().catch(() => undefined);
  }

  private start(): Promise<RetentionSweepReport> {
    const run = this.sweep().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async sweep(): Promise<RetentionSweepReport> {
    const sweepId = randomUUID();
    const now = this.clock.now();
    const context: CommandContext = { actor: 'system:retention', correlationId: sweepId, causationId: null };
    const failedSteps: string[] = [];
    const step = async <T>(name: string, work: () => Promise<T>): Promise<T | null> => {
      if (this.stopped) return null;
      try {
        return await work();
      } catch (error) {
        failedSteps.push(name);
        this.logger.warn({ sweepId, step: name, err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'retention sweep step failed; the next sweep retries');
        return null;
      }
    };

    const originals = await step('original-after-processing', () => this.originals.dueByDeadline(now, context));
    const consentWithdrawn = await step('consent-withdrawn', () => this.originals.dueByWithdrawal(context));
    const tempFiles = await step('temp-files', async () =>
      this.ledger.anyTempFileDue(now.getTime() - this.config.retention.tempFileMaxMs) ? this.tempFiles.sweepTempFiles() : null,
    );
    const oplogMetadata = await step('operation-logs-metadata', () => this.oplogMetadata.pass());
    const oplogPurge = await step('operation-logs-purge', () => this.commandBus.execute(new PurgeOperationLogsCommand(context)));
    const orphans = await step('orphans', () => this.orphans.sweepStep(now));
    if (!this.backstop.ensured) await this.backstop.ensure();

    const report: RetentionSweepReport = { sweepId, at: now.toISOString(), originals, consentWithdrawn, tempFiles, oplogMetadata, oplogPurge, orphans, failedSteps };
    const acted =
      (originals?.due ?? 0) + (consentWithdrawn?.due ?? 0) + (tempFiles?.jobs ?? 0) + (oplogMetadata?.applied ?? 0) + (oplogPurge?.entriesRemoved ?? 0) + (orphans?.deleted ?? 0) >
      0;
    if (acted || failedSteps.length > 0) {
      this.logger.info(
        {
          sweepId,
          originals: originals && { due: originals.due, deleted: originals.deleted, alreadyDeleted: originals.alreadyDeleted, failed: originals.failed },
          consentWithdrawn: consentWithdrawn && { due: consentWithdrawn.due, deleted: consentWithdrawn.deleted },
          tempFiles,
          oplogMetadataApplied: oplogMetadata?.applied,
          oplogEntriesPurged: oplogPurge?.entriesRemoved,
          orphansDeleted: orphans?.deleted,
          failedSteps,
        },
        'retention sweep',
      );
    }
    return report;
  }
}
