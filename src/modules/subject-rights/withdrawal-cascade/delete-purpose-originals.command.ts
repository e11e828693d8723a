import { Command } from '@nestjs/cqrs';
import type { Purpose } from '../../../events/purposes';
import type { CommandContext } from '../../event-store/event-log';

/**
 * Consent to a purpose was withdrawn: delete the subject's originals uploaded for it, at once
 * (PIPL art. 47), with reason `consent-withdrawn`. Idempotent. Dispatched by the consent
 * withdrawal right after it cancels the purpose's jobs; the rights sweep repeats it for any
 * original a crash left behind. Answers how many originals were deleted now.
 */
export class DeletePurposeOriginalsCommand extends Command<{ deleted: number }> {
  constructor(
    readonly subjectId: string,
    readonly purpose: Purpose,
    readonly context: CommandContext,
  ) {
    super();
  }
}
