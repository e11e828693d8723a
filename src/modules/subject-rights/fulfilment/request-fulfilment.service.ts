import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events/event-registry';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { SubjectHistoryReader } from '../../audit/read-models/subject-history.reader';
import { Clock } from '../../clock/clock.port';
import { SetRestrictionCommand } from '../../consent/restrict-processing/restrict-processing.command';
import { deterministicUuid, EventLog, type CommandContext } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import type { Position } from '../../event-store/event-store.port';
import { DeleteArtworkCommand } from '../../facial-data/delete-artwork/delete-artwork.command';
import { DeleteImageCommand } from '../../facial-data/delete-image/delete-image.command';
import { foldJob } from '../../facial-data/jobs/job.state';
import { AppLogger } from '../../logging/logger';
import { foldRequest, isOpen, type RequestState } from '../requests/request.state';
import { decideCorrectionOutcome } from '../correct-job/correct-job.decider';
import { planOfRecordedStep } from '../dpo-decide/dpo-decide.decider';
import { SYSTEM_RIGHTS, type AutomaticPlan } from '../submit-request/submit-request.decider';

/** The job a correction request re-runs: derived from the request id, so a retry never queues a second one. */
export function correctionJobIdOf(requestId: string): string {
  return deterministicUuid('correction-job', requestId);
}

/** How long an automatic step may stay "in progress" before the sweep assumes its runner died and resumes it. */
export const RESUME_GRACE_MS = 5 * 60_000;

export type Outcome = Record<string, string | number | boolean>;

/**
 * Carries out what the system can do on its own for a rights request (PIPL art. 50: a mechanism
 * for requests), through the other contexts' public commands, then answers the request with
 * RightsRequestFulfilled at the request stream's revision. Every action is idempotent, so a retry
 * (an Idempotency-Key replay, a DPO repeating a decision, the sweep resuming a request whose runner
 * crashed) completes the request with exactly one answer.
 */
@Injectable()
export class RequestFulfilment {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(SubjectHistoryReader) private readonly history: SubjectHistoryReader,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  /**
   * Performs `plan` and appends the answer (unless the request was answered meanwhile). A
   * `reprocess` plan queues the re-run and leaves the request in progress: the correction saga
   * answers it when the job ends. Returns the position of the last event appended, if any.
   */
  async carryOut(request: { readonly requestId: string; readonly subjectId: string; readonly resource: string | null }, plan: AutomaticPlan, decidedBy: string, note: string | null, context: CommandContext): Promise<Position | null> {
    const { requestId, subjectId } = request;
    const ctx = followUp(context);
    let outcome: Outcome;
    switch (plan.kind) {
      case 'history-snapshot': {
        const entries = await this.history.history(subjectId);
        const relevant = request.resource ? entries.filter((entry) => entry.resource === request.resource) : entries;
        outcome = { action: 'history-snapshot', events: relevant.length, href: '/v1/me/history' };
        break;
      }
      case 'export-link':
        outcome = { action: 'export-available', href: '/v1/me/export' };
        break;
      case 'delete-image': {
        const result = await this.commandBus.execute(new DeleteImageCommand(subjectId, plan.imageId, 'rights-request', ctx, undefined, requestId));
        outcome = { action: 'image-deleted', imageId: plan.imageId, deletedNow: result.deleted };
        break;
      }
      case 'delete-artwork': {
        const result = await this.commandBus.execute(new DeleteArtworkCommand(subjectId, plan.artworkId, 'rights-request', ctx, requestId));
        outcome = { action: 'artwork-deleted', artworkId: plan.artworkId, deletedNow: result.deleted };
        break;
      }
      case 'restrict': {
        await this.commandBus.execute(new SetRestrictionCommand(subjectId, plan.purpose, true, ctx, requestId));
        outcome = { action: 'processing-restricted', purpose: plan.purpose };
        break;
      }
      case 'reprocess':
        return this.queueCorrection(plan.job, ctx);
    }
    return this.answer(requestId, ctx, () => ({ type: 'RightsRequestFulfilled', data: { requestId, subjectId, decidedBy, outcome, note } }));
  }

  /**
   * Answers a correction request once its re-run has ended: completed, the superseded artwork is
   * deleted (ArtworkDeleted, reason `superseded`) and the request fulfilled; failed or cancelled,
   * it is rejected with the reason (the earlier result is kept). A request whose re-run was never
   * queued (its runner died in between) is rejected once the grace period has passed.
   */
  async completeCorrection(requestId: string, context: CommandContext): Promise<Position | null> {
    const request = foldRequest((await this.log.load(streams.request(requestId))).events);
    if (!isOpen(request) || request.step !== 'reprocess' || request.subjectId === null) return null;
    const jobId = correctionJobIdOf(requestId);
    const job = foldJob((await this.log.load(streams.job(jobId))).events);
    const supersededJob = job.correctionOf ? foldJob((await this.log.load(streams.job(job.correctionOf))).events) : null;
    const decision = decideCorrectionOutcome(request, job, supersededJob?.artworkId ?? null, {
      now: this.clock.now(),
      graceMs: RESUME_GRACE_MS,
      stepStartedAt: request.stepStartedAt,
    });
    if (decision.kind === 'wait') return null;
    const ctx = followUp(context);
    const subjectId = request.subjectId;
    if (decision.kind === 'fulfil' && decision.supersededArtworkId) {
      try {
        await this.commandBus.execute(new DeleteArtworkCommand(subjectId, decision.supersededArtworkId, 'superseded', ctx, requestId));
      } catch (error) {
        // Already gone for good (another subject's can't happen: the job is the subject's own).
        if (!(error instanceof DomainError) || error.status !== 404) throw error;
      }
    }
    return this.answer(requestId, ctx, (state) => (state.subjectId ? decision.event : null));
  }

  /** Picks up a request stuck in an automatic step (its runner crashed): the same step, idempotently. */
  async resume(requestId: string, context: CommandContext): Promise<Position | null> {
    const loaded = await this.log.load(streams.request(requestId));
    const request = foldRequest(loaded.events);
    if (!isOpen(request) || request.status !== 'in-progress' || request.requestId === null || request.subjectId === null) return null;
    if (request.step === 'reprocess') return this.completeCorrection(requestId, context);
    const plan = planOfRecordedStep(request);
    if (plan === null) return null;
    return this.carryOut({ requestId, subjectId: request.subjectId, resource: request.resource }, plan, SYSTEM_RIGHTS, null, context);
  }

  /** Appends the answer at the request stream's revision, unless it is already answered. */
  async answer(requestId: string, context: CommandContext, event: (state: RequestState) => DomainEvent | null): Promise<Position | null> {
    const outcome = await this.log.decideAndAppend(streams.request(requestId), context, (loaded) => {
      const state = foldRequest(loaded.events);
      const answer = isOpen(state) ? event(state) : null;
      return { events: answer ? [answer] : [], result: {} };
    });
    return outcome.appended?.position ?? null;
  }

  private async queueCorrection(job: Extract<AutomaticPlan, { kind: 'reprocess' }>['job'], context: CommandContext): Promise<Position | null> {
    try {
      const appended = await this.log.append(streams.job(job.data.jobId), [job], 'no_stream', context);
      this.logger.get().info({ jobId: job.data.jobId, requestId: job.data.requestId }, 'correction job queued');
      await this.runner.waitFor(appended.position);
      return appended.position;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return null; // queued by an earlier attempt
      throw error;
    }
  }
}

/** The context of every append after a request's first one: no Idempotency-Key derived ids (they would repeat). */
export function followUp(context: CommandContext): CommandContext {
  return context.idempotency ? { ...context, idempotency: undefined } : context;
}
