import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { history } from '../../consent/subject-history.fixture';
import { foldRequest } from '../requests/request.state';
import { approvalPlanOf, decideDpoDecision, planOfRecordedStep } from './dpo-decide.decider';

const S = '11111111-1111-4111-8111-111111111111';
const R = '33333333-3333-4333-8333-333333333333';
const IMG = '44444444-4444-4444-8444-444444444444';

const received = (type: 'access' | 'export' | 'deletion' | 'correction' | 'restriction', resource: string | null, details: string | null = 'please'): DomainEvent => ({
  type: 'RightsRequestReceived',
  data: { requestId: R, subjectId: S, type, resource, details, receivedAt: '2026-03-06T12:00:00.000Z', dueAt: '2026-03-13T15:59:59.999Z', needsDecision: details !== null },
});
const state = (...events: DomainEvent[]) => foldRequest(history(`request-${R}`, events));
const dpo = (outcome: 'fulfilled' | 'rejected', reason: string | null = null) => ({ outcome, reason, decidedBy: 'dpo:dora' });

function refusal(run: () => unknown): { status: number; code: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return { status: error.status, code: error.code };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('DPO decision', () => {
  it('given a waiting request, when rejected with a reason, then RightsRequestRejected by the DPO with the reason (trimmed)', () => {
    expect(decideDpoDecision(state(received('access', null)), dpo('rejected', '  Not held.  '))).toEqual({
      kind: 'reject',
      event: { type: 'RightsRequestRejected', data: { requestId: R, subjectId: S, decidedBy: 'dpo:dora', reason: 'Not held.' } },
    });
  });

  it('given a waiting request, when rejected without a reason (or a blank one), then 422 REASON_REQUIRED', () => {
    expect(refusal(() => decideDpoDecision(state(received('access', null)), dpo('rejected')))).toEqual({ status: 422, code: 'REASON_REQUIRED' });
    expect(refusal(() => decideDpoDecision(state(received('access', null)), dpo('rejected', ' \n ')))).toEqual({ status: 422, code: 'REASON_REQUIRED' });
  });

  it('given no request, then 404; given an answered one, then 409 REQUEST_ALREADY_DECIDED', () => {
    expect(refusal(() => decideDpoDecision(state(), dpo('fulfilled')))).toEqual({ status: 404, code: 'REQUEST_NOT_FOUND' });
    const answered = state(received('access', null), { type: 'RightsRequestRejected', data: { requestId: R, subjectId: S, decidedBy: 'dpo:dora', reason: 'No.' } });
    expect(refusal(() => decideDpoDecision(answered, dpo('fulfilled')))).toEqual({ status: 409, code: 'REQUEST_ALREADY_DECIDED' });
    const overdueOpen = state(received('access', null), { type: 'RightsRequestOverdue', data: { requestId: R, subjectId: S, dueAt: '2026-03-13T15:59:59.999Z', detectedAt: '2026-03-14T00:00:00.000Z' } });
    expect(decideDpoDecision(overdueOpen, dpo('fulfilled'))).toMatchObject({ kind: 'fulfil' });
  });

  it('when fulfilled, then what the request names is carried out (never from the free text); the reason becomes a note', () => {
    expect(decideDpoDecision(state(received('deletion', `image:${IMG}`)), dpo('fulfilled', 'Done.'))).toEqual({ kind: 'fulfil', plan: { kind: 'delete-image', imageId: IMG }, note: 'Done.' });
    expect(decideDpoDecision(state(received('restriction', 'purpose:ai-edit')), dpo('fulfilled'))).toEqual({ kind: 'fulfil', plan: { kind: 'restrict', purpose: 'ai-edit' }, note: null });
    expect(decideDpoDecision(state(received('deletion', null)), dpo('fulfilled'))).toEqual({ kind: 'fulfil', plan: null, note: null });
    expect(decideDpoDecision(state(received('correction', `job:${IMG}`)), dpo('fulfilled'))).toEqual({ kind: 'fulfil', plan: null, note: null });
    expect(approvalPlanOf(state(received('access', null)))).toEqual({ kind: 'history-snapshot' });
    expect(approvalPlanOf(state(received('export', null)))).toEqual({ kind: 'export-link' });
  });

  it('a recorded automatic step is resumed with the same plan; an unknown or mismatched step is not', () => {
    const started = (step: string) => state(received('deletion', `image:${IMG}`, null), { type: 'RightsRequestProcessingStarted', data: { requestId: R, subjectId: S, step } });
    expect(planOfRecordedStep(started('delete-image'))).toEqual({ kind: 'delete-image', imageId: IMG });
    expect(planOfRecordedStep(started('restrict'))).toBeNull();
    expect(planOfRecordedStep(started('reprocess'))).toBeNull();
  });
});
