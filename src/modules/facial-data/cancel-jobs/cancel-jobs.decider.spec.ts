import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import { recorded } from '../jobs/job-history.fixture';
import { foldJob, initialJobState } from '../jobs/job.state';
import { decideCancelJob } from './cancel-jobs.decider';

const jobId = '11111111-1111-4111-8111-111111111111';
const ids = { jobId, subjectId: '22222222-2222-4222-8222-222222222222', imageId: '33333333-3333-4333-8333-333333333333', purpose: 'ai-edit' as const };
const queued: DomainEvent = { type: 'JobQueued', data: { ...ids, options: {} } };
const job = (...events: DomainEvent[]) => foldJob(recorded(`job-${jobId}`, events));

describe('decideCancelJob', () => {
  it('given a queued job, when cancelled, then JobCancelled with the reason', () => {
    expect(decideCancelJob(job(queued), 'consent-withdrawn')).toEqual({ type: 'JobCancelled', data: { ...ids, reason: 'consent-withdrawn' } });
  });

  it('given a running job, when cancelled, then JobCancelled (its worker discards the result)', () => {
    const running = job(queued, { type: 'JobStarted', data: { ...ids, attempt: 1, worker: 'w', leaseUntil: '2026-03-02T03:00:00.000Z' } });
    expect(decideCancelJob(running, 'restricted')?.data.reason).toBe('restricted');
  });

  it('given a finished or unknown job, then nothing', () => {
    expect(decideCancelJob(job(queued, { type: 'JobFailed', data: { ...ids, code: 'X', message: '' } }), 'erasure')).toBeNull();
    expect(decideCancelJob(job(queued, { type: 'JobCancelled', data: { ...ids, reason: 'erasure' } }), 'erasure')).toBeNull();
    expect(decideCancelJob(initialJobState, 'erasure')).toBeNull();
  });
});
