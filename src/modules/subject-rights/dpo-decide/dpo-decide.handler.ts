import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import type { Position } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { RequestFulfilment } from '../fulfilment/request-fulfilment.service';
import { foldRequest } from '../requests/request.state';
import { RequestsReadModel, type DpoRequestRecord } from '../requests/requests.read-model';
import { DpoDecideCommand } from './dpo-decide.command';
import { decideDpoDecision } from './dpo-decide.decider';

const ATTEMPTS = 5;

/**
 * Decides from the request stream; a rejection is appended at its revision. A fulfilment first
 * carries out what the request names (idempotent: a DPO repeating a decision that was interrupted
 * completes it), then appends RightsRequestFulfilled at the revision. A request answered meanwhile
 * (the system, another DPO) makes the decision 409 REQUEST_ALREADY_DECIDED.
 */
@CommandHandler(DpoDecideCommand)
export class DpoDecideHandler implements ICommandHandler<DpoDecideCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(RequestFulfilment) private readonly fulfilment: RequestFulfilment,
    @Inject(RequestsReadModel) private readonly requests: RequestsReadModel,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  async execute(command: DpoDecideCommand): Promise<DpoRequestRecord> {
    const stream = streams.request(command.requestId);
    let position: Position | null = null;
    for (let attempt = 0; position === null; attempt++) {
      const loaded = await this.log.load(stream);
      const state = foldRequest(loaded.events);
      const decision = decideDpoDecision(state, { outcome: command.outcome, reason: command.reason, decidedBy: command.decidedBy });
      if (decision.kind === 'reject') {
        try {
          position = (await this.log.append(stream, [decision.event], loaded.revision, command.context)).position;
        } catch (error) {
          if (!(error instanceof WrongExpectedVersionError) || attempt + 1 >= ATTEMPTS) throw error;
        }
        continue;
      }
      const subjectId = state.subjectId as string;
      const requestId = command.requestId;
      if (decision.plan !== null) {
        position = await this.fulfilment.carryOut({ requestId, subjectId, resource: state.resource }, decision.plan, command.decidedBy, decision.note, command.context);
      } else {
        position = await this.fulfilment.answer(requestId, command.context, () => ({
          type: 'RightsRequestFulfilled',
          data: { requestId, subjectId, decidedBy: command.decidedBy, outcome: { action: 'dpo-decision' }, note: decision.note },
        }));
      }
      // Nothing appended: the request was answered meanwhile; deciding again reports that (409).
      if (position === null && attempt + 1 >= ATTEMPTS) throw new Error('the DPO decision kept conflicting');
    }
    this.logger.get().info({ requestId: command.requestId, outcome: command.outcome }, 'rights request decided by the DPO');
    await this.runner.waitFor(position);
    const record = await this.requests.getForDpo(command.requestId);
    if (!record) throw new Error(`rights request ${command.requestId} is not in the read model after its decision`);
    return record;
  }
}
