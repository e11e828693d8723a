import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import { history } from '../../consent/subject-history.fixture';
import { foldJob } from '../../facial-data/jobs/job.state';
import { foldRequest } from '../requests/request.state';
import { decideCorrectionOutcome } from './correct-job.decider';

const S = '11111111-1111-4111-8111-111111111111';
const R = '33333333-3333-4333-8333-333333333333';
const IMG = '44444444-4444-4444-8444-444444444444';
const OLD_JOB = '55555555-5555-4555-8555-555555555555';
const OLD_ART = '66666666-6666-4666-8666-666666666666';
const NEW_JOB = '77777777-7777-4777-8777-777777777777';
const NEW_ART = '88888888-8888-4888-8888-888888888888';
const STARTED = '2026-03-02T02:01:00.000Z';

const request = foldRequest(
  history(`request-${R}`, [
    { type: 'RightsRequestReceived', data: { requestId: R, subjectId: S, type: 'correction', resource: `job:${OLD_JOB}`, details: null, receivedAt: '2026-03-02T02:00:00.000Z', dueAt: '2026-03-09T15:59:59.999Z', needsDecision: false } },
    { event: { type: 'RightsRequestProcessingStarted', data: { requestId: R, subjectId: S, step: 'reprocess' } }, at: STARTED },
  ]),
);
const base = { jobId: NEW_JOB, subjectId: S, imageId: IMG, purpose: 'erase-pen' as const };
const rerun = (...end: DomainEvent[]) =>
  foldJob(
    history(`job-${NEW_JOB}`, [
      { type: 'JobQueued', data: { ...base, options: {}, correctionOf: OLD_JOB, requestId: R } },
      { type: 'JobStarted', data: { ...base, attempt: 1, worker: 'w', leaseUntil: '2026-03-02T03:00:00.000Z' } },
      ...end,
    ]),
  );
const clock = (now: string) => ({ now: new Date(now), graceMs: 5 * 60_000, stepStartedAt: request.stepStartedAt });

describe('correction outcome', () => {
  it('given the re-run completed, then the superseded artwork is to be deleted and the request fulfilled with both artworks named', () => {
    const decision = decideCorrectionOutcome(request, rerun({ type: 'JobCompleted', data: { ...base, artworkId: NEW_ART, summary: {} } }), OLD_ART, clock('2026-03-02T02:05:00.000Z'));
    expect(decision).toEqual({
      kind: 'fulfil',
      supersededArtworkId: OLD_ART,
      event: {
        type: 'RightsRequestFulfilled',
        data: { requestId: R, subjectId: S, decidedBy: 'system:rights', outcome: { action: 'reprocessed', jobId: NEW_JOB, correctedJobId: OLD_JOB, artworkId: NEW_ART, supersededArtworkId: OLD_ART }, note: null },
      },
    });
  });

  it('given the re-run failed or was cancelled, then rejected with the reason; the earlier result is kept', () => {
    const failed = decideCorrectionOutcome(request, rerun({ type: 'JobFailed', data: { ...base, code: 'INVALID_OPTIONS', message: 'bad regions' } }), OLD_ART, clock(STARTED));
    expect(failed).toEqual({
      kind: 'reject',
      event: { type: 'RightsRequestRejected', data: { requestId: R, subjectId: S, decidedBy: 'system:rights', reason: 'The corrected processing failed (INVALID_OPTIONS); the earlier result is kept.' } },
    });
    const cancelled = decideCorrectionOutcome(request, rerun({ type: 'JobCancelled', data: { ...base, reason: 'restricted' } }), OLD_ART, clock(STARTED));
    expect(cancelled).toMatchObject({ kind: 'reject', event: { data: { reason: 'The corrected processing was cancelled (restricted); the earlier result is kept.' } } });
  });

  it('given the re-run still queued or running, then wait; given none queued, wait within the grace period, reject after it', () => {
    expect(decideCorrectionOutcome(request, rerun(), OLD_ART, clock('2026-03-09T00:00:00.000Z'))).toEqual({ kind: 'wait' });
    const none = foldJob([]);
    expect(decideCorrectionOutcome(request, none, null, clock('2026-03-02T02:05:59.999Z'))).toEqual({ kind: 'wait' });
    expect(decideCorrectionOutcome(request, none, null, clock('2026-03-02T02:06:00.000Z'))).toMatchObject({ kind: 'reject' });
  });

  it('given the request already answered, then wait (nothing more)', () => {
    const answered = foldRequest(
      history(`request-${R}`, [
        { type: 'RightsRequestReceived', data: { requestId: R, subjectId: S, type: 'correction', resource: `job:${OLD_JOB}`, details: null, receivedAt: '2026-03-02T02:00:00.000Z', dueAt: '2026-03-09T15:59:59.999Z', needsDecision: false } },
        { type: 'RightsRequestRejected', data: { requestId: R, subjectId: S, decidedBy: 'dpo:dora', reason: 'No.' } },
      ]),
    );
    expect(decideCorrectionOutcome(answered, rerun({ type: 'JobCompleted', data: { ...base, artworkId: NEW_ART, summary: {} } }), OLD_ART, clock(STARTED))).toEqual({ kind: 'wait' });
  });
});
