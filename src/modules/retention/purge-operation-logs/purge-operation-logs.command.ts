import { Command } from '@nestjs/cqrs';
import type { PurgeResult } from '../../event-store/event-store.port';
import type { CommandContext } from '../../event-store/event-log';

export interface PurgeOperationLogsResult {
  /** Whether the store was asked to purge this time. */
  readonly purged: boolean;
  readonly mode?: PurgeResult['mode'];
  /** Entries the appended OperationLogsPurged accounts for (0 when none was appended). */
  readonly entriesRemoved: number;
  /** Why nothing was purged. */
  readonly skipped?: 'nothing-expired' | 'scavenge-started-recently';
}

/**
 * Rule `operation-logs`: when entries have expired, physically purge them (embedded store: removed
 * now; EventStoreDB: a scavenge is started) and record OperationLogsPurged in `retention-<day>`.
 * Idempotent: with nothing newly expired it does nothing; two instances record each entry once.
 */
export class PurgeOperationLogsCommand extends Command<PurgeOperationLogsResult> {
  constructor(readonly context: CommandContext) {
    super();
  }
}
