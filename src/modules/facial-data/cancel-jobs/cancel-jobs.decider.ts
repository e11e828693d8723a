import type { EventOfType, JobCancelReason } from '../../../events';
import { isFinished, type JobState } from '../jobs/job.state';

/**
 * Cancelling one job: JobCancelled with the reason while the job is queued or running (a worker
 * still running it then discards its result); nothing for an unknown or finished job, so a repeated
 * cancellation appends nothing.
 */
export function decideCancelJob(job: JobState, reason: JobCancelReason): EventOfType<'JobCancelled'> | null {
  if (job.status === 'none' || isFinished(job)) return null;
  if (!job.jobId || !job.subjectId || !job.imageId || !job.purpose) return null;
  return { type: 'JobCancelled', data: { jobId: job.jobId, subjectId: job.subjectId, imageId: job.imageId, purpose: job.purpose, reason } };
}
