import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { Clock } from '../../clock/clock.port';
import { ConsentGate } from '../../consent/consent-gate.service';
import { foldSubject } from '../../consent/subject.state';
import { deterministicUuid, EventLog } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import type { Position } from '../../event-store/event-store.port';
import { foldArtwork } from '../../facial-data/artworks/artwork.state';
import { foldImage } from '../../facial-data/images/image.state';
import { foldJob } from '../../facial-data/jobs/job.state';
import { AppLogger } from '../../logging/logger';
import { BusinessCalendar } from '../business-calendar/business-calendar';
import { correctionJobIdOf, followUp, RequestFulfilment } from '../fulfilment/request-fulfilment.service';
import { foldRequest } from '../requests/request.state';
import { RequestsReadModel, type RequestRecord } from '../requests/requests.read-model';
import { formatResource, parseResource, type RightsResource } from '../requests/rights-resource';
import { SubmitRequestCommand } from './submit-request.command';
import { decideSubmitRequest, SYSTEM_RIGHTS, type RequestTarget } from './submit-request.decider';
import { newId } from '../../../common/ids/uuid-v7';

const ATTEMPTS = 3;

/**
 * Load the subject, the request stream (Idempotency-Key replays) and the resource named; decide;
 * append the request's first events at 'no_stream'; carry out an automatic plan; answer once the
 * requests projection shows the result. A refusal appends nothing. A replay whose first run was
 * interrupted in an automatic step finishes that step.
 */
@CommandHandler(SubmitRequestCommand)
export class SubmitRequestHandler implements ICommandHandler<SubmitRequestCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(ConsentGate) private readonly consent: ConsentGate,
    @Inject(BusinessCalendar) private readonly calendar: BusinessCalendar,
    @Inject(RequestFulfilment) private readonly fulfilment: RequestFulfilment,
    @Inject(RequestsReadModel) private readonly requests: RequestsReadModel,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  async execute(command: SubmitRequestCommand): Promise<RequestRecord> {
    const idempotency = command.context.idempotency;
    const requestId = idempotency ? deterministicUuid('rights-request', command.subjectId, idempotency.key) : newId();
    const stream = streams.request(requestId);
    const resource = command.resource !== null ? parseResource(command.resource) : null;
    let lastError: unknown;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const receivedAt = this.clock.now();
      const [subject, request, target] = await Promise.all([
        this.log.load(streams.subject(command.subjectId)).then((loaded) => foldSubject(loaded.events)),
        this.log.load(stream),
        this.targetOf(command.subjectId, resource),
      ]);
      const decision = decideSubmitRequest(
        { subject, request: foldRequest(request.events), target, currentPolicyVersion: this.consent.currentPolicyVersion },
        {
          requestId,
          subjectId: command.subjectId,
          type: command.type,
          resource,
          details: command.details,
          options: command.options,
          receivedAt,
          dueAt: this.calendar.dueAt(receivedAt),
          requestHash: idempotency?.requestHash ?? null,
          correctionJobId: correctionJobIdOf(requestId),
        },
      );
      if (decision.kind === 'replay') {
        // The first run may have stopped inside its automatic step: finish it (idempotent).
        const resumed = await this.fulfilment.resume(requestId, { ...command.context, causationId: command.context.correlationId });
        return this.answer(command.subjectId, requestId, resumed ?? request.events[request.events.length - 1]?.position ?? null);
      }
      let appended: Position;
      try {
        appended = (await this.log.append(stream, decision.events, 'no_stream', command.context)).position;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || !idempotency) throw error;
        lastError = error; // the same key raced in: decide again (a replay)
        continue;
      }
      this.logger.get().info({ requestId, type: command.type, plan: decision.plan.kind }, 'rights request received');
      let last: Position | null = appended;
      const plan = decision.plan;
      if (plan.kind !== 'dpo' && plan.kind !== 'reject') {
        last = (await this.fulfilment.carryOut({ requestId, subjectId: command.subjectId, resource: resource ? formatResource(resource) : null }, plan, SYSTEM_RIGHTS, null, followUp(command.context))) ?? last;
      }
      return this.answer(command.subjectId, requestId, last);
    }
    throw lastError;
  }

  private async answer(subjectId: string, requestId: string, position: Position | null): Promise<RequestRecord> {
    if (position) await this.runner.waitFor(position);
    const record = await this.requests.getForSubject(subjectId, requestId);
    if (!record) throw new Error(`rights request ${requestId} is not in the read model after its append`);
    return record;
  }

  private async targetOf(subjectId: string, resource: RightsResource | null): Promise<RequestTarget> {
    if (resource === null) return { kind: 'none' };
    switch (resource.kind) {
      case 'purpose':
        return { kind: 'purpose' };
      case 'image':
        return { kind: 'image', image: foldImage((await this.log.load(streams.image(resource.id))).events) };
      case 'artwork':
        return { kind: 'artwork', artwork: foldArtwork((await this.log.load(streams.artwork(resource.id))).events) };
      case 'job': {
        const job = foldJob((await this.log.load(streams.job(resource.id))).events);
        const image = foldImage(job.imageId ? (await this.log.load(streams.image(job.imageId))).events : []);
        const consent = job.subjectId === subjectId && job.purpose ? await this.consent.verdict(subjectId, job.purpose) : null;
        return { kind: 'job', job, image, consent };
      }
    }
  }
}
