import { Command } from '@nestjs/cqrs';
import type { RightsRequestType } from '../../../events/subject-rights.events';
import type { CommandContext } from '../../event-store/event-log';
import type { JsonObject } from '../../event-store/event-store.port';
import type { RequestRecord } from '../requests/requests.read-model';

/**
 * Receives a rights request in its own stream, with its business-day deadline, and carries out at
 * once what the system can do on its own. With an Idempotency-Key the request id derives from the
 * caller and the key (a replay answers the same record and appends nothing new).
 */
export class SubmitRequestCommand extends Command<RequestRecord> {
  constructor(
    readonly subjectId: string,
    readonly type: RightsRequestType,
    readonly resource: string | null,
    /** Personal: stored encrypted. */
    readonly details: string | null,
    /** Corrected job options (correction only). Personal: stored encrypted in the re-run job. */
    readonly options: JsonObject | null,
    readonly context: CommandContext,
  ) {
    super();
  }
}
