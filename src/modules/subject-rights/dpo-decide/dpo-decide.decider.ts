import { conflict, notFound, unprocessable } from '../../../common/errors/domain-error';
import type { EventOfType } from '../../../events/event-registry';
import { isOpen, type RequestState } from '../requests/request.state';
import { parseResource } from '../requests/rights-resource';
import type { AutomaticPlan } from '../submit-request/submit-request.decider';

export const DPO_OUTCOMES = ['fulfilled', 'rejected'] as const;
export type DpoOutcome = (typeof DPO_OUTCOMES)[number];

export interface DpoDecisionInput {
  readonly outcome: DpoOutcome;
  /** Required (non-blank) when rejected: shown to the subject. With a fulfilment: a note to the subject. */
  readonly reason: string | null;
  /** `dpo:<name>`. */
  readonly decidedBy: string;
}

export type DpoDecision =
  | { readonly kind: 'reject'; readonly event: EventOfType<'RightsRequestRejected'> }
  /** Carry out `plan` (when the request names something the system can do), then append the fulfilment. */
  | { readonly kind: 'fulfil'; readonly plan: AutomaticPlan | null; readonly note: string | null };

/**
 * The DPO's decision on a request (POST /v1/dpo/requests/{id}/decisions): 404 REQUEST_NOT_FOUND
 * for an unknown id, 409 REQUEST_ALREADY_DECIDED for one already answered, 422 REASON_REQUIRED for
 * a rejection without a reason (PIPL art. 50). Approving a request the system knows how to carry
 * out (a deletion of a named image or artwork, a restriction of a named purpose, an access or an
 * export) carries it out; anything else (a disputed result, free-text requests) is recorded as
 * decided, the DPO having acted. Pure.
 */
export function decideDpoDecision(state: RequestState, input: DpoDecisionInput): DpoDecision {
  if (state.status === 'none' || state.requestId === null || state.subjectId === null) throw notFound('REQUEST_NOT_FOUND', 'No such rights request');
  if (!isOpen(state)) throw conflict('REQUEST_ALREADY_DECIDED', `This request was already ${state.status}`);
  const reason = input.reason !== null && input.reason.trim().length > 0 ? input.reason.trim() : null;
  if (input.outcome === 'rejected') {
    if (reason === null) throw unprocessable('REASON_REQUIRED', 'A rejection needs a reason; it is shown to the subject');
    return {
      kind: 'reject',
      event: { type: 'RightsRequestRejected', data: { requestId: state.requestId, subjectId: state.subjectId, decidedBy: input.decidedBy, reason } },
    };
  }
  return { kind: 'fulfil', plan: approvalPlanOf(state), note: reason };
}

/** What approving a request carries out: derived from its type and resource only (never from the free text). */
export function approvalPlanOf(state: RequestState): AutomaticPlan | null {
  const resource = state.resource ? parseResource(state.resource) : null;
  switch (state.type) {
    case 'access':
      return { kind: 'history-snapshot' };
    case 'export':
      return { kind: 'export-link' };
    case 'deletion':
      if (resource?.kind === 'image') return { kind: 'delete-image', imageId: resource.id };
      if (resource?.kind === 'artwork') return { kind: 'delete-artwork', artworkId: resource.id };
      return null;
    case 'restriction':
      return resource?.kind === 'purpose' ? { kind: 'restrict', purpose: resource.purpose } : null;
    default:
      return null;
  }
}

/** The plan of the automatic step a request recorded it started (for resuming it); null for `reprocess` or an unknown step. */
export function planOfRecordedStep(state: RequestState): AutomaticPlan | null {
  const plan = approvalPlanOf(state);
  return plan !== null && plan.kind === state.step ? plan : null;
}
