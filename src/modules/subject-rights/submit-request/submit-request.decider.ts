import { DomainError, notFound, unauthorized, unprocessable } from '../../../common/errors/domain-error';
import type { DomainEvent, EventOfType } from '../../../events/event-registry';
import type { Purpose } from '../../../events/purposes';
import type { RightsRequestType } from '../../../events/subject-rights.events';
import type { ConsentVerdict, SubjectState } from '../../consent/subject.state';
import type { JsonObject } from '../../event-store/event-store.port';
import type { ArtworkState } from '../../facial-data/artworks/artwork.state';
import type { ImageState } from '../../facial-data/images/image.state';
import { isOwnedBy } from '../../facial-data/images/image.state';
import { initialJobState, type JobState } from '../../facial-data/jobs/job.state';
import { decideQueueJob } from '../../facial-data/queue-job/queue-job.decider';
import { artworkNotFound, isArtworkOwnedBy } from '../../facial-data/read-artwork-content/read-artwork-content.decider';
import { imageNotFound } from '../../facial-data/read-image-content/read-image-content.decider';
import type { RequestState } from '../requests/request.state';
import { formatResource, type RightsResource } from '../requests/rights-resource';

/**
 * How a request is answered. `dpo`: it needs a judgement (free-text details, a disputed result),
 * so it waits for the DPO. `reject`: the system can tell at once that it cannot be done, and says
 * why (PIPL art. 50). Every other plan is carried out at once by the system.
 */
export type FulfilmentPlan =
  | { readonly kind: 'dpo' }
  | { readonly kind: 'history-snapshot' }
  | { readonly kind: 'export-link' }
  | { readonly kind: 'delete-image'; readonly imageId: string }
  | { readonly kind: 'delete-artwork'; readonly artworkId: string }
  | { readonly kind: 'restrict'; readonly purpose: Purpose }
  | { readonly kind: 'reprocess'; readonly job: EventOfType<'JobQueued'> }
  | { readonly kind: 'reject'; readonly reason: string };

export type AutomaticPlan = Exclude<FulfilmentPlan, { kind: 'dpo' } | { kind: 'reject' }>;

/** The step name recorded in RightsRequestProcessingStarted for each automatic plan. */
export type FulfilmentStep = AutomaticPlan['kind'];
export const FULFILMENT_STEPS: readonly FulfilmentStep[] = ['history-snapshot', 'export-link', 'delete-image', 'delete-artwork', 'restrict', 'reprocess'];

/** The resource the request names, as its own stream tells it (or nothing). */
export type RequestTarget =
  | { readonly kind: 'none' }
  | { readonly kind: 'image'; readonly image: ImageState }
  | { readonly kind: 'artwork'; readonly artwork: ArtworkState }
  /** A job, its original, and the consent verdict for its purpose now (null for another subject's job). */
  | { readonly kind: 'job'; readonly job: JobState; readonly image: ImageState; readonly consent: ConsentVerdict | null }
  | { readonly kind: 'purpose' };

export interface SubmitRequestPast {
  readonly subject: SubjectState;
  /** `request-<requestId>` folded: 'none' for a new id (an Idempotency-Key replay finds it). */
  readonly request: RequestState;
  readonly target: RequestTarget;
  readonly currentPolicyVersion: string;
}

export interface SubmitRequestInput {
  readonly requestId: string;
  readonly subjectId: string;
  readonly type: RightsRequestType;
  readonly resource: RightsResource | null;
  readonly details: string | null;
  /** Corrected processing options (correction requests only). */
  readonly options: JsonObject | null;
  readonly receivedAt: Date;
  /** From the business calendar: 5 business days after receipt. */
  readonly dueAt: Date;
  readonly requestHash: string | null;
  /** The id a correction's re-run job gets (derived from the request id). */
  readonly correctionJobId: string;
}

export type SubmitDecision =
  | { readonly kind: 'replay' }
  | { readonly kind: 'receive'; readonly events: readonly DomainEvent[]; readonly plan: FulfilmentPlan };

/** The system's actor for what it decides on its own. */
export const SYSTEM_RIGHTS = 'system:rights';

/**
 * Receiving a rights request (POST /v1/me/requests). In order: an Idempotency-Key already used
 * (the same request: a replay that appends nothing; another: 422 IDEMPOTENCY_KEY_REUSED), an open
 * account (401 otherwise), `options` only on corrections (422 OPTIONS_NOT_APPLICABLE), the
 * resource rules of the type (422 RESOURCE_REQUIRED / RESOURCE_NOT_APPLICABLE /
 * UNSUPPORTED_RESOURCE), the resource being the subject's own (404, also for another subject's),
 * then the plan:
 *
 * | type | automatic (no details) | waits for the DPO |
 * |---|---|---|
 * | access | history snapshot (optionally of one resource) | with details |
 * | export | a link to GET /v1/me/export | with details |
 * | deletion | `image:` / `artwork:` deleted at once | with details, or without a resource |
 * | restriction | `purpose:` restricted at once | with details, or without a resource |
 * | correction | `job:` + `options`: the job re-run with them | `job:` + details (a disputed result) |
 *
 * A correction that cannot run (its original is gone, no consent, restricted) is received and
 * rejected at once with the reason; one whose job has not completed is refused (422
 * JOB_NOT_COMPLETED). Pure: throws the DomainError or returns what to append.
 */
export function decideSubmitRequest(past: SubmitRequestPast, input: SubmitRequestInput): SubmitDecision {
  if (past.request.status !== 'none') {
    if (input.requestHash !== null && past.request.subjectId === input.subjectId && past.request.requestHash === input.requestHash) return { kind: 'replay' };
    throw unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request');
  }
  if (past.subject.status !== 'active' || past.subject.subjectId !== input.subjectId) throw unauthorized('The token is invalid or expired');
  if (input.options !== null && input.type !== 'correction') {
    throw unprocessable('OPTIONS_NOT_APPLICABLE', 'options (corrected processing options) are only accepted on a correction request');
  }
  requireResourceRules(input);
  requireOwnTarget(past.target, input);

  const plan = planOf(past, input);
  const received: EventOfType<'RightsRequestReceived'> = {
    type: 'RightsRequestReceived',
    data: {
      requestId: input.requestId,
      subjectId: input.subjectId,
      type: input.type,
      resource: input.resource ? formatResource(input.resource) : null,
      details: input.details,
      receivedAt: input.receivedAt.toISOString(),
      dueAt: input.dueAt.toISOString(),
      needsDecision: plan.kind === 'dpo',
    },
  };
  const events: DomainEvent[] = [received];
  if (plan.kind === 'reject') {
    events.push({ type: 'RightsRequestRejected', data: { requestId: input.requestId, subjectId: input.subjectId, decidedBy: SYSTEM_RIGHTS, reason: plan.reason } });
  } else if (plan.kind !== 'dpo') {
    events.push({ type: 'RightsRequestProcessingStarted', data: { requestId: input.requestId, subjectId: input.subjectId, step: plan.kind } });
  }
  return { kind: 'receive', events, plan };
}

function requireResourceRules(input: SubmitRequestInput): void {
  const { type, resource, details, options } = input;
  const kind = resource?.kind ?? null;
  switch (type) {
    case 'access':
      return;
    case 'export':
      if (kind !== null) throw unprocessable('RESOURCE_NOT_APPLICABLE', 'An export covers all of the subject’s data: send no resource');
      return;
    case 'deletion':
      if (kind === null) {
        if (details === null) {
          throw unprocessable('RESOURCE_REQUIRED', 'Name the image:<id> or artwork:<id> to delete, or explain in details (DELETE /v1/me erases the whole account)');
        }
        return;
      }
      if (kind !== 'image' && kind !== 'artwork') throw unprocessable('UNSUPPORTED_RESOURCE', 'A deletion request names an image:<id> or an artwork:<id>');
      return;
    case 'restriction':
      if (kind === null) {
        if (details === null) throw unprocessable('RESOURCE_REQUIRED', 'Name the purpose:<purpose> to restrict, or explain in details');
        return;
      }
      if (kind !== 'purpose') throw unprocessable('UNSUPPORTED_RESOURCE', 'A restriction request names a purpose:<purpose>');
      return;
    case 'correction':
      if (kind === null) throw unprocessable('RESOURCE_REQUIRED', 'A correction request names the job:<id> whose result is to be corrected');
      if (kind !== 'job') throw unprocessable('UNSUPPORTED_RESOURCE', 'A correction request names a job:<id>');
      if (options !== null && details !== null) {
        throw unprocessable('OPTIONS_WITH_DETAILS', 'Send either corrected options (the job is re-run at once) or details (the DPO decides), not both');
      }
      if (options === null && details === null) {
        throw unprocessable('CORRECTION_DETAILS_REQUIRED', 'Send corrected options for the job, or details of what is wrong for the DPO');
      }
      return;
  }
}

function requireOwnTarget(target: RequestTarget, input: SubmitRequestInput): void {
  const resource = input.resource;
  if (resource === null || resource.kind === 'purpose') return;
  switch (resource.kind) {
    case 'image':
      if (target.kind !== 'image' || !isOwnedBy(target.image, input.subjectId)) throw imageNotFound();
      return;
    case 'artwork':
      if (target.kind !== 'artwork' || !isArtworkOwnedBy(target.artwork, input.subjectId)) throw artworkNotFound();
      return;
    case 'job':
      if (target.kind !== 'job' || target.job.status === 'none' || target.job.subjectId !== input.subjectId) throw notFound('JOB_NOT_FOUND', 'No such job');
      return;
  }
}

function planOf(past: SubmitRequestPast, input: SubmitRequestInput): FulfilmentPlan {
  const { type, resource, details } = input;
  if (details !== null) return { kind: 'dpo' };
  switch (type) {
    case 'access':
      return { kind: 'history-snapshot' };
    case 'export':
      return { kind: 'export-link' };
    case 'deletion':
      if (resource?.kind === 'image') return { kind: 'delete-image', imageId: resource.id };
      if (resource?.kind === 'artwork') return { kind: 'delete-artwork', artworkId: resource.id };
      return { kind: 'dpo' };
    case 'restriction':
      return resource?.kind === 'purpose' ? { kind: 'restrict', purpose: resource.purpose } : { kind: 'dpo' };
    case 'correction':
      return reprocessPlan(past, input);
  }
}

/** A correction with options: re-run the completed job on the same original, if it still can run. */
function reprocessPlan(past: SubmitRequestPast, input: SubmitRequestInput): FulfilmentPlan {
  const target = past.target;
  if (target.kind !== 'job' || input.options === null) return { kind: 'dpo' };
  const { job, image } = target;
  if (job.status !== 'completed') {
    throw unprocessable('JOB_NOT_COMPLETED', `Only a completed job can be corrected (this one is ${job.status})`, { status: job.status });
  }
  const jobId = job.jobId as string;
  try {
    const decision = decideQueueJob(
      { image, job: initialJobState, consent: target.consent, currentPolicyVersion: past.currentPolicyVersion },
      { subjectId: input.subjectId, imageId: job.imageId as string, jobId: input.correctionJobId, purpose: job.purpose as string, options: input.options, requestHash: null },
    );
    if (decision.kind !== 'queue') throw new Error('decideQueueJob: a fresh job id cannot be a replay');
    return { kind: 'reprocess', job: { type: 'JobQueued', data: { ...decision.event.data, correctionOf: jobId, requestId: input.requestId } } };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    // Malformed options are the caller's to fix (nothing recorded); anything else is a reason to refuse the request.
    if (error.code === 'BIOMETRIC_TEMPLATE_REJECTED') throw error;
    return { kind: 'reject', reason: correctionRefusal(error, jobId) };
  }
}

function correctionRefusal(error: DomainError, jobId: string): string {
  switch (error.code) {
    case 'IMAGE_DELETED':
    case 'IMAGE_NOT_FOUND':
      return `The original image of job ${jobId} has already been deleted, so it cannot be processed again with corrected options.`;
    case 'CONSENT_REQUIRED':
    case 'PURPOSE_RESTRICTED':
      return `The job cannot be re-run: ${error.message}.`;
    default:
      return `The job cannot be re-run (${error.code}): ${error.message}.`;
  }
}
