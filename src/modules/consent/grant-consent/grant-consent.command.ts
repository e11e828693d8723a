import { Command } from '@nestjs/cqrs';
import type { Purpose } from '../../../events/purposes';
import type { CommandContext } from '../../event-store/event-log';
import type { ConsentView } from '../get-consents/consent-ledger.reader';

/** Separate consent to one purpose under the current policy version. Idempotent. */
export class GrantConsentCommand extends Command<ConsentView> {
  constructor(
    readonly subjectId: string,
    readonly purpose: Purpose,
    readonly policyVersion: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
