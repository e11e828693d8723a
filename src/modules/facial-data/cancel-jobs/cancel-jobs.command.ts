import { Command } from '@nestjs/cqrs';
import type { JobCancelReason } from '../../../events/facial-data.events';
import type { Purpose } from '../../../events/purposes';
import type { CommandContext } from '../../event-store/event-log';

/**
 * Cancels a subject's jobs that have not finished (queued, and running ones whose work is then
 * discarded), filtered by purpose and/or image. Idempotent: finished jobs are left alone.
 * Answers how many jobs were cancelled.
 */
export class CancelJobsCommand extends Command<{ cancelled: number }> {
  constructor(
    readonly subjectId: string,
    readonly filter: { readonly purpose?: Purpose; readonly imageId?: string },
    readonly reason: JobCancelReason,
    readonly context: CommandContext,
  ) {
    super();
  }
}
