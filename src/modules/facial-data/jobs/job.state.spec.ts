import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import { recorded } from './job-history.fixture';
import { foldJob, holdsAttempt, isFinished, isLeaseExpired, isRunnable } from './job.state';

const jobId = '11111111-1111-4111-8111-111111111111';
const subjectId = '22222222-2222-4222-8222-222222222222';
const imageId = '33333333-3333-4333-8333-333333333333';
const ids = { jobId, subjectId, imageId, purpose: 'photo-enlarge' as const };
const queued: DomainEvent = { type: 'JobQueued', data: { ...ids, options: {} } };
const started = (attempt: number, leaseUntil: string, worker = 'w1'): DomainEvent => ({ type: 'JobStarted', data: { ...ids, attempt, worker, leaseUntil } });
const temp = (name: string): DomainEvent => ({ type: 'TempFileCreated', data: { jobId, subjectId, objectKey: `tmp/${subjectId}/${jobId}/${name}`, kind: name === 'input' ? 'input' : 'intermediate', size: 10 } });

describe('job state', () => {
  it('is runnable when queued, or running with an expired lease', () => {
    const now = new Date('2026-03-02T03:00:00.000Z');
    expect(isRunnable(foldJob(recorded(`job-${jobId}`, [queued])), now)).toBe(true);
    const live = foldJob(recorded(`job-${jobId}`, [queued, started(1, '2026-03-02T03:05:00.000Z')]));
    expect(isRunnable(live, now)).toBe(false);
    expect(isLeaseExpired(live, now)).toBe(false);
    const expired = foldJob(recorded(`job-${jobId}`, [queued, started(1, '2026-03-02T03:00:00.000Z')]));
    expect(isRunnable(expired, now)).toBe(true);
    expect(expired.startedAt).toBe('2026-03-02T02:00:01.000Z');
  });

  it('tracks the holder of the current attempt', () => {
    const state = foldJob(recorded(`job-${jobId}`, [queued, started(1, '2026-03-02T03:00:00.000Z', 'a'), started(2, '2026-03-02T04:00:00.000Z', 'b')]));
    expect(holdsAttempt(state, 'b', 2)).toBe(true);
    expect(holdsAttempt(state, 'a', 1)).toBe(false);
  });

  it('keeps live temp files until deleted, and is finished after completion, failure or cancellation', () => {
    const key = `tmp/${subjectId}/${jobId}/input`;
    const state = foldJob(
      recorded(`job-${jobId}`, [
        queued,
        started(1, '2026-03-02T03:00:00.000Z'),
        temp('input'),
        temp('input'),
        temp('normalised.png'),
        { type: 'JobCompleted', data: { ...ids, artworkId: null, summary: {} } },
        { type: 'TempFileDeleted', data: { jobId, subjectId, objectKey: key, reason: 'retention', rule: 'temp-files' } },
      ]),
    );
    expect(state.liveTempFiles).toEqual([`tmp/${subjectId}/${jobId}/normalised.png`]);
    expect(isFinished(state)).toBe(true);
    expect(isRunnable(state, new Date('2030-01-01T00:00:00.000Z'))).toBe(false);
  });
});
