import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import { recorded } from '../jobs/job-history.fixture';
import { foldJob } from '../jobs/job.state';
import { decideTempFileDeletion } from './temp-files.decider';

const jobId = '11111111-1111-4111-8111-111111111111';
const subjectId = '22222222-2222-4222-8222-222222222222';
const ids = { jobId, subjectId, imageId: '33333333-3333-4333-8333-333333333333', purpose: 'photo-restore' as const };
const key = (name: string) => `tmp/${subjectId}/${jobId}/${name}`;
const history: DomainEvent[] = [
  { type: 'JobQueued', data: { ...ids, options: {} } },
  { type: 'JobStarted', data: { ...ids, attempt: 1, worker: 'w', leaseUntil: '2026-03-02T03:00:00.000Z' } },
  { type: 'TempFileCreated', data: { jobId, subjectId, objectKey: key('input'), kind: 'input', size: 5 } },
  { type: 'TempFileCreated', data: { jobId, subjectId, objectKey: key('normalised.png'), kind: 'intermediate', size: 5 } },
];
const job = (...more: DomainEvent[]) => foldJob(recorded(`job-${jobId}`, [...history, ...more]));
const deleted = (name: string): DomainEvent => ({ type: 'TempFileDeleted', data: { jobId, subjectId, objectKey: key(name), reason: 'retention', rule: 'temp-files' } });

describe('decideTempFileDeletion (rule temp-files)', () => {
  it('given a running job, then nothing (its worker still uses them)', () => {
    expect(decideTempFileDeletion(job())).toEqual([]);
  });

  for (const end of [
    { type: 'JobCompleted', data: { ...ids, artworkId: null, summary: {} } },
    { type: 'JobFailed', data: { ...ids, code: 'X', message: 'x' } },
    { type: 'JobCancelled', data: { ...ids, reason: 'consent-withdrawn' } },
  ] as DomainEvent[]) {
    it(`given ${end.type}, then one TempFileDeleted per live temp file`, () => {
      expect(decideTempFileDeletion(job(end))).toEqual([deleted('input'), deleted('normalised.png')]);
    });
  }

  it('given some already deleted, then only the rest; given all deleted, then nothing (idempotent)', () => {
    const end: DomainEvent = { type: 'JobCompleted', data: { ...ids, artworkId: null, summary: {} } };
    expect(decideTempFileDeletion(job(end, deleted('input')))).toEqual([deleted('normalised.png')]);
    expect(decideTempFileDeletion(job(end, deleted('input'), deleted('normalised.png')))).toEqual([]);
  });
});
