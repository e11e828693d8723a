import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../event-store/event-log';
import type { ErasureReceipt } from './erase-account.decider';

/** Erases the subject's account at once (crypto-shredding). Idempotent: a finished erasure answers its receipt. */
export class EraseAccountCommand extends Command<ErasureReceipt> {
  constructor(
    readonly subjectId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
