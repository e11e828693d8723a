import type { RightsRequestType } from '../../../events/subject-rights.events';
import type { Shredded } from '../../../events/schema';
import type { RecordedEvent } from '../../event-store/event-log';

export type RequestStatus = 'none' | 'received' | 'in-progress' | 'fulfilled' | 'rejected';

/** One rights request, folded from `request-<requestId>`. */
export interface RequestState {
  readonly status: RequestStatus;
  readonly requestId: string | null;
  readonly subjectId: string | null;
  readonly type: RightsRequestType | null;
  readonly resource: string | null;
  /** The subject's free text (decrypted), SHREDDED after erasure, null when none. */
  readonly details: string | null | Shredded;
  readonly receivedAt: string | null;
  readonly dueAt: string | null;
  readonly needsDecision: boolean;
  /** Set once by the overdue saga. */
  readonly overdue: boolean;
  /** The step under way (`RightsRequestProcessingStarted`), while in progress. */
  readonly step: string | null;
  /** When that step started. */
  readonly stepStartedAt: string | null;
  /** The Idempotency-Key request hash the request was received with (replays compare it). */
  readonly requestHash: string | null;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly outcome: Readonly<Record<string, string | number | boolean>> | null;
  readonly exported: boolean;
}

export const initialRequestState: RequestState = {
  status: 'none',
  requestId: null,
  subjectId: null,
  type: null,
  resource: null,
  details: null,
  receivedAt: null,
  dueAt: null,
  needsDecision: false,
  overdue: false,
  step: null,
  stepStartedAt: null,
  requestHash: null,
  decidedBy: null,
  decidedAt: null,
  outcome: null,
  exported: false,
};

export function evolveRequest(state: RequestState, event: RecordedEvent): RequestState {
  switch (event.type) {
    case 'RightsRequestReceived':
      if (state.status !== 'none') return state;
      return {
        ...state,
        status: 'received',
        requestId: event.data.requestId,
        subjectId: event.data.subjectId,
        type: event.data.type,
        resource: event.data.resource,
        details: event.data.details,
        receivedAt: event.data.receivedAt,
        dueAt: event.data.dueAt,
        needsDecision: event.data.needsDecision,
        requestHash: typeof event.metadata.requestHash === 'string' ? event.metadata.requestHash : null,
      };
    case 'RightsRequestProcessingStarted':
      return isOpen(state) ? { ...state, status: 'in-progress', step: event.data.step, stepStartedAt: event.metadata.occurredAt } : state;
    case 'RightsRequestFulfilled':
      return isOpen(state)
        ? { ...state, status: 'fulfilled', step: null, decidedBy: event.data.decidedBy, decidedAt: event.metadata.occurredAt, outcome: event.data.outcome }
        : state;
    case 'RightsRequestRejected':
      return isOpen(state) ? { ...state, status: 'rejected', step: null, decidedBy: event.data.decidedBy, decidedAt: event.metadata.occurredAt } : state;
    case 'RightsRequestOverdue':
      return { ...state, overdue: true };
    case 'DataExported':
      return { ...state, exported: true };
    default:
      return state;
  }
}

export function foldRequest(events: readonly RecordedEvent[]): RequestState {
  return events.reduce(evolveRequest, initialRequestState);
}

/** Received or in progress: not answered yet. */
export function isOpen(state: RequestState): boolean {
  return state.status === 'received' || state.status === 'in-progress';
}
