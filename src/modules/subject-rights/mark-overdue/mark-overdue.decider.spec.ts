import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import { history } from '../../consent/subject-history.fixture';
import { BusinessCalendar } from '../business-calendar/business-calendar';
import { loadHolidayCalendar } from '../business-calendar/holiday-calendar';
import { foldRequest } from '../requests/request.state';
import { decideOverdue } from './mark-overdue.decider';

const S = '11111111-1111-4111-8111-111111111111';
const R = '33333333-3333-4333-8333-333333333333';
const calendar = new BusinessCalendar(loadHolidayCalendar());

/** A request received at `receivedAt`, its dueAt from the shipped calendar (as the handler computes it). */
function receivedAt(at: string): { event: DomainEvent; dueAt: string } {
  const dueAt = calendar.dueAt(new Date(at)).toISOString();
  return {
    dueAt,
    event: { type: 'RightsRequestReceived', data: { requestId: R, subjectId: S, type: 'access', resource: null, details: 'x', receivedAt: at, dueAt, needsDecision: true } },
  };
}
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms);

describe('overdue saga decision', () => {
  it('given a request received on a Friday evening in Shanghai, then nothing at its dueAt (next Friday 23:59:59.999 +08:00), one RightsRequestOverdue 1 ms later', () => {
    const { event, dueAt } = receivedAt('2026-03-06T12:00:00.000Z');
    expect(dueAt).toBe('2026-03-13T15:59:59.999Z');
    const open = foldRequest(history(`request-${R}`, [event]));
    expect(decideOverdue(open, plus(dueAt, -86_400_000), calendar)).toEqual([]);
    expect(decideOverdue(open, new Date(dueAt), calendar)).toEqual([]);
    expect(decideOverdue(open, plus(dueAt, 1), calendar)).toEqual([
      { type: 'RightsRequestOverdue', data: { requestId: R, subjectId: S, dueAt, detectedAt: '2026-03-13T16:00:00.000Z' } },
    ]);
  });

  it('given a request received before the Labour Day holidays, then it is not overdue on the holidays nor on the adjusted working Saturday, only after Monday 5/11', () => {
    const { event, dueAt } = receivedAt('2026-04-30T02:00:00.000Z');
    expect(dueAt).toBe('2026-05-11T15:59:59.999Z');
    const open = foldRequest(history(`request-${R}`, [event]));
    for (const at of ['2026-05-05T12:00:00.000Z', '2026-05-09T12:00:00.000Z', '2026-05-11T15:59:59.999Z']) expect(decideOverdue(open, new Date(at), calendar)).toEqual([]);
    expect(decideOverdue(open, new Date('2026-05-11T16:00:00.000Z'), calendar)).toHaveLength(1);
  });

  it('given a request answered, or already marked overdue, then nothing', () => {
    const { event, dueAt } = receivedAt('2026-03-06T12:00:00.000Z');
    const late = plus(dueAt, 60_000);
    const fulfilled = foldRequest(
      history(`request-${R}`, [event, { type: 'RightsRequestFulfilled', data: { requestId: R, subjectId: S, decidedBy: 'dpo:dora', outcome: { action: 'dpo-decision' }, note: null } }]),
    );
    expect(decideOverdue(fulfilled, late, calendar)).toEqual([]);
    const marked = foldRequest(history(`request-${R}`, [event, { type: 'RightsRequestOverdue', data: { requestId: R, subjectId: S, dueAt, detectedAt: late.toISOString() } }]));
    expect(marked.overdue).toBe(true);
    expect(decideOverdue(marked, plus(dueAt, 86_400_000), calendar)).toEqual([]);
    expect(decideOverdue(foldRequest([]), late, calendar)).toEqual([]);
  });

  it('given a request in progress past its deadline (an automatic step that stalled), then it is overdue too', () => {
    const { event, dueAt } = receivedAt('2026-03-06T12:00:00.000Z');
    const stalled = foldRequest(history(`request-${R}`, [event, { type: 'RightsRequestProcessingStarted', data: { requestId: R, subjectId: S, step: 'reprocess' } }]));
    expect(stalled.status).toBe('in-progress');
    expect(decideOverdue(stalled, plus(dueAt, 1), calendar)).toHaveLength(1);
  });
});
