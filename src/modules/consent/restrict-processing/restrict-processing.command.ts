import { Command } from '@nestjs/cqrs';
import type { Purpose } from '../../../events/purposes';
import type { CommandContext } from '../../event-store/event-log';

/** Restricts (or lifts the restriction of) processing for one purpose. Idempotent. */
export class SetRestrictionCommand extends Command<{ purpose: Purpose; restricted: boolean }> {
  constructor(
    readonly subjectId: string,
    readonly purpose: Purpose,
    readonly restricted: boolean,
    readonly context: CommandContext,
    /** The rights request this answers, if any. */
    readonly requestId: string | null = null,
  ) {
    super();
  }
}
