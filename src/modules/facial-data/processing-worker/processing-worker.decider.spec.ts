import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import type { ConsentVerdict } from '../../consent/subject.state';
import { foldImage } from '../images/image.state';
import { recorded } from '../jobs/job-history.fixture';
import { foldJob } from '../jobs/job.state';
import {
  artworkIdFor,
  decideAttemptFailure,
  decideClaim,
  decideCompletion,
  tempNamesFor,
  WORKER_LOST,
  type ClaimContext,
} from './processing-worker.decider';

const jobId = '11111111-1111-4111-8111-111111111111';
const subjectId = '22222222-2222-4222-8222-222222222222';
const imageId = '33333333-3333-4333-8333-333333333333';
const ids = { jobId, subjectId, imageId, purpose: 'photo-enlarge' as const };
const queued: DomainEvent = { type: 'JobQueued', data: { ...ids, options: {} } };
const started = (attempt: number, leaseUntil: string, worker = 'w1'): DomainEvent => ({ type: 'JobStarted', data: { ...ids, attempt, worker, leaseUntil } });
const uploaded: DomainEvent = {
  type: 'ImageUploaded',
  data: {
    imageId,
    subjectId,
    purpose: 'photo-enlarge',
    contentType: 'image/png',
    objectKey: `originals/${subjectId}/${imageId}`,
    size: 100,
    sha256: 'a'.repeat(64),
    width: 64,
    height: 48,
    faceCount: 1,
    faces: [{ x: 1, y: 1, width: 10, height: 10 }],
  },
};
const imageDeleted: DomainEvent = {
  type: 'ImageDeleted',
  data: { imageId, subjectId, purpose: 'photo-enlarge', objectKey: `originals/${subjectId}/${imageId}`, reason: 'user' },
};

const job = (...events: DomainEvent[]) => foldJob(recorded(`job-${jobId}`, events));
const now = new Date('2026-03-02T03:00:00.000Z');
const ctx = (overrides: Partial<ClaimContext> = {}): ClaimContext => ({
  now,
  worker: 'w2',
  leaseMs: 60_000,
  maxAttempts: 3,
  consent: { allowed: true },
  image: foldImage(recorded(`image-${imageId}`, [uploaded])),
  ...overrides,
});

describe('decideClaim (start / claim)', () => {
  it('given a queued job, when a worker claims it, then JobStarted attempt 1 with a lease of leaseMs from now', () => {
    expect(decideClaim(job(queued), ctx())).toEqual({
      kind: 'start',
      attempt: 1,
      event: { type: 'JobStarted', data: { ...ids, attempt: 1, worker: 'w2', leaseUntil: '2026-03-02T03:01:00.000Z' } },
    });
  });

  it('given a job running under a live lease, then skip (another worker owns it)', () => {
    expect(decideClaim(job(queued, started(1, '2026-03-02T03:00:00.001Z')), ctx()).kind).toBe('skip');
  });

  it('given a finished job, then skip', () => {
    expect(decideClaim(job(queued, { type: 'JobCompleted', data: { ...ids, artworkId: null, summary: {} } }), ctx()).kind).toBe('skip');
  });

  it('given a lost worker whose lease expired, then the next attempt starts', () => {
    const decision = decideClaim(job(queued, started(1, '2026-03-02T02:59:59.000Z', 'w1')), ctx());
    expect(decision.kind).toBe('start');
    expect(decision.kind === 'start' && decision.event.data.attempt).toBe(2);
  });

  it('given the last allowed attempt was lost, then JobFailed WORKER_LOST', () => {
    const decision = decideClaim(job(queued, started(1, '2026-03-02T01:00:00.000Z'), started(2, '2026-03-02T02:00:00.000Z'), started(3, '2026-03-02T02:30:00.000Z')), ctx());
    expect(decision.kind).toBe('fail');
    expect(decision.kind === 'fail' && decision.event.data.code).toBe(WORKER_LOST);
  });

  it('given consent withdrawn, restriction or erasure at start time, then JobCancelled with the matching reason', () => {
    const refused = (code: 'CONSENT_REQUIRED' | 'PURPOSE_RESTRICTED' | 'SUBJECT_NOT_ACTIVE'): ConsentVerdict => ({ allowed: false, code, reason: 'no' });
    const reasonOf = (verdict: ConsentVerdict) => {
      const decision = decideClaim(job(queued), ctx({ consent: verdict }));
      return decision.kind === 'cancel' ? decision.event.data.reason : decision.kind;
    };
    expect(reasonOf(refused('CONSENT_REQUIRED'))).toBe('consent-withdrawn');
    expect(reasonOf(refused('PURPOSE_RESTRICTED'))).toBe('restricted');
    expect(reasonOf(refused('SUBJECT_NOT_ACTIVE'))).toBe('erasure');
  });

  it('given the original deleted, then JobCancelled original-deleted', () => {
    const decision = decideClaim(job(queued), ctx({ image: foldImage(recorded(`image-${imageId}`, [uploaded, imageDeleted])) }));
    expect(decision).toEqual({ kind: 'cancel', event: { type: 'JobCancelled', data: { ...ids, reason: 'original-deleted' } } });
  });
});

describe('decideAttemptFailure (retries)', () => {
  const running = (attempt: number) => job(queued, ...Array.from({ length: attempt }, (_, i) => started(i + 1, '2026-03-02T04:00:00.000Z', 'w2')));

  it('given a retryable error with attempts left, then nothing is recorded (the lease expiry retries)', () => {
    expect(decideAttemptFailure(running(1), 'w2', 1, { code: 'PROCESSOR_UNAVAILABLE', message: 'down', retryable: true }, 3)).toEqual({ kind: 'retry-later' });
  });

  it('given a retryable error on the last attempt, then JobFailed with its code', () => {
    expect(decideAttemptFailure(running(3), 'w2', 3, { code: 'PROCESSOR_TIMEOUT', message: 'slow', retryable: true }, 3)).toEqual({
      kind: 'fail',
      event: { type: 'JobFailed', data: { ...ids, code: 'PROCESSOR_TIMEOUT', message: 'slow' } },
    });
  });

  it('given a permanent error, then JobFailed at once', () => {
    const decision = decideAttemptFailure(running(1), 'w2', 1, { code: 'PROCESSOR_UNSUPPORTED', message: 'no', retryable: false }, 3);
    expect(decision.kind === 'fail' && decision.event.data.code).toBe('PROCESSOR_UNSUPPORTED');
  });

  it('given the attempt was taken over or cancelled, then the failure is discarded', () => {
    expect(decideAttemptFailure(running(2), 'w2', 1, { code: 'X', message: 'x', retryable: false }, 3)).toEqual({ kind: 'discard' });
    const cancelled = job(queued, started(1, '2026-03-02T04:00:00.000Z', 'w2'), { type: 'JobCancelled', data: { ...ids, reason: 'consent-withdrawn' } });
    expect(decideAttemptFailure(cancelled, 'w2', 1, { code: 'X', message: 'x', retryable: false }, 3)).toEqual({ kind: 'discard' });
  });
});

describe('decideCompletion', () => {
  it('given the worker still holds the attempt, then JobCompleted with the artwork and summary', () => {
    const state = job(queued, started(1, '2026-03-02T04:00:00.000Z', 'w2'));
    const artworkId = artworkIdFor(jobId, 1);
    expect(decideCompletion(state, 'w2', 1, { artworkId, summary: { operation: 'x' } })).toEqual({
      kind: 'complete',
      event: { type: 'JobCompleted', data: { ...ids, artworkId, summary: { operation: 'x' } } },
    });
  });

  it('given the job was cancelled meanwhile, then the result is discarded', () => {
    const state = job(queued, started(1, '2026-03-02T04:00:00.000Z', 'w2'), { type: 'JobCancelled', data: { ...ids, reason: 'consent-withdrawn' } });
    expect(decideCompletion(state, 'w2', 1, { artworkId: null, summary: {} })).toEqual({ kind: 'discard' });
  });

  it('derives one artwork id per job attempt', () => {
    expect(artworkIdFor(jobId, 1)).toBe(artworkIdFor(jobId, 1));
    expect(artworkIdFor(jobId, 1)).not.toBe(artworkIdFor(jobId, 2));
  });
});

describe('tempNamesFor', () => {
  it('keeps names object-key safe, unique and distinct from the input', () => {
    expect(tempNamesFor(['normalised.png', 'input', 'normalised.png', '../x y', ''])).toEqual(['normalised.png', 'input-2', 'normalised.png-2', 'x_y', 'intermediate-5']);
  });
});
