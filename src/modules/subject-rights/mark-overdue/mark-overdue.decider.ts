import type { EventOfType } from '../../../events/event-registry';
import type { BusinessCalendar } from '../business-calendar/business-calendar';
import { isOpen, type RequestState } from '../requests/request.state';

/**
 * The overdue saga's decision for one request at `now` (the injected clock): an unanswered request
 * strictly past its `dueAt`, not yet marked, gets one RightsRequestOverdue. Answered requests,
 * requests still within their deadline (at `dueAt` exactly it is still on time) and requests
 * already marked get nothing. Pure.
 */
export function decideOverdue(state: RequestState, now: Date, calendar: Pick<BusinessCalendar, 'isOverdue'>): EventOfType<'RightsRequestOverdue'>[] {
  if (!isOpen(state) || state.overdue || state.requestId === null || state.subjectId === null || state.dueAt === null) return [];
  if (!calendar.isOverdue(new Date(state.dueAt), now)) return [];
  return [{ type: 'RightsRequestOverdue', data: { requestId: state.requestId, subjectId: state.subjectId, dueAt: state.dueAt, detectedAt: now.toISOString() } }];
}
