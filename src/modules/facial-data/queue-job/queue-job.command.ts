import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../event-store/event-log';
import type { JsonObject } from '../../event-store/event-store.port';

export interface QueueJobResult {
  readonly jobId: string;
  readonly status: 'queued';
  /** True when an Idempotency-Key replay answered the first response and nothing was written. */
  readonly replayed: boolean;
}

/**
 * Queues a processing job on one of the subject's originals. The work itself is done later by a
 * processing worker, never on the request path. With an Idempotency-Key the job id derives from
 * the caller and the key.
 */
export class QueueJobCommand extends Command<QueueJobResult> {
  constructor(
    readonly subjectId: string,
    readonly imageId: string,
    /** As sent (checked against the six purposes by the decider). */
    readonly purpose: string,
    /** Purpose-specific options (e.g. erase-pen regions). Personal: stored encrypted. */
    readonly options: JsonObject,
    readonly context: CommandContext,
  ) {
    super();
  }
}
