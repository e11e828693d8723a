import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { Clock } from '../../clock/clock.port';
import { AppConfig } from '../../config/app-config';
import { EventLog } from '../../event-store/event-log';
import { EventStore } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { RetentionLedgerReader } from '../retention-ledger.reader';
import { oplogMaxAgeSeconds, onTimeToleranceMs } from '../retention-rules';
import { PurgeOperationLogsCommand, type PurgeOperationLogsResult } from './purge-operation-logs.command';
import { decideOperationLogsPurge, lastRecordedCutoffMs, purgeWindow } from './purge-operation-logs.decider';

/**
 * A scavenge rewrites the EventStoreDB database chunks: the sweep starts one at most this often
 * (EVENTSTORE_SCAVENGE_SCHEDULE adds scheduled ones). Expired entries are unreadable meanwhile
 * (`$maxAge`); only their physical removal waits.
 */
export const SCAVENGE_MIN_INTERVAL_MS = 3_600_000;

@CommandHandler(PurgeOperationLogsCommand)
export class PurgeOperationLogsHandler implements ICommandHandler<PurgeOperationLogsCommand> {
  private lastScavengeStartedMs: number | null = null;

  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(RetentionLedgerReader) private readonly ledger: RetentionLedgerReader,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  async execute(command: PurgeOperationLogsCommand): Promise<PurgeOperationLogsResult> {
    const maxAgeSeconds = oplogMaxAgeSeconds(this.config);
    const toleranceMs = onTimeToleranceMs(this.config);
    const now = this.clock.now();
    const due = purgeWindow(this.ledger.lastPurgeCutoff(), now, maxAgeSeconds);
    if (this.ledger.oplogExpiry(due.fromMs, due.toMs, due.toMs).count === 0) return { purged: false, entriesRemoved: 0, skipped: 'nothing-expired' };
    if (!this.store.capabilities.physicalPurge && this.lastScavengeStartedMs !== null && now.getTime() - this.lastScavengeStartedMs < SCAVENGE_MIN_INTERVAL_MS) {
      return { purged: false, entriesRemoved: 0, skipped: 'scavenge-started-recently' };
    }

    const purge = await this.store.purge();
    if (purge.mode === 'scavenge-started') this.lastScavengeStartedMs = now.getTime();
    // Read after the purge: the store's own cutoff was at most this one, so every entry it removed
    // is one the event accounts for (and the ledger drops).
    const purgedAt = this.clock.now();
    const outcome = await this.log.decideAndAppend(streams.retention(purgedAt), command.context, (loaded) => {
      const recorded = lastRecordedCutoffMs(loaded.events);
      const applied = this.ledger.lastPurgeCutoff();
      const previous = recorded === null ? applied : applied === null ? recorded : Math.max(recorded, applied);
      const window = purgeWindow(previous, purgedAt, maxAgeSeconds);
      const event = decideOperationLogsPurge({
        purgedAt,
        maxAgeSeconds,
        mode: purge.mode,
        expired: this.ledger.oplogExpiry(window.fromMs, window.toMs, window.toMs - toleranceMs),
      });
      return { events: event ? [event] : [], result: { entriesRemoved: event ? event.data.entriesRemoved : 0 } };
    });
    if (outcome.appended) {
      this.logger.get().info({ rule: 'operation-logs', mode: purge.mode, entriesRemoved: outcome.entriesRemoved, removedEvents: purge.removedEvents }, 'expired operation logs purged');
      await this.runner.waitFor(outcome.appended.position).catch(() => undefined);
    }
    return { purged: true, mode: purge.mode, entriesRemoved: outcome.entriesRemoved };
  }
}
