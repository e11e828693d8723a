import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../event-store/event-log';
import type { DpoRequestRecord } from '../requests/requests.read-model';
import type { DpoOutcome } from './dpo-decide.decider';

/** The DPO answers a rights request: fulfilled (carrying out what the request names) or rejected with a reason. */
export class DpoDecideCommand extends Command<DpoRequestRecord> {
  constructor(
    readonly requestId: string,
    readonly outcome: DpoOutcome,
    readonly reason: string | null,
    /** The deciding DPO's actor, `dpo:<name>`. */
    readonly decidedBy: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
