import { Command } from '@nestjs/cqrs';
import type { Purpose } from '../../../events/purposes';
import type { CommandContext } from '../../event-store/event-log';
import type { ConsentView } from '../get-consents/consent-ledger.reader';

/** Withdraws consent to one purpose, then cancels that purpose's unfinished jobs. Idempotent. */
export class WithdrawConsentCommand extends Command<ConsentView> {
  constructor(
    readonly subjectId: string,
    readonly purpose: Purpose,
    readonly context: CommandContext,
  ) {
    super();
  }
}
