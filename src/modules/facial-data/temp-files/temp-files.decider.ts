import type { EventOfType } from '../../../events';
import { isFinished, type JobState } from '../jobs/job.state';

/**
 * Rule `temp-files`: the clock starts when the job completes, fails or is cancelled, and the
 * deadline is immediate. For a finished job, one TempFileDeleted per temporary object still on
 * record (the objects are deleted first); nothing for a job still running (its worker may still
 * need them) or one whose temp files are all gone, so running it twice appends nothing.
 */
export function decideTempFileDeletion(job: JobState): EventOfType<'TempFileDeleted'>[] {
  if (!isFinished(job) || !job.jobId || !job.subjectId) return [];
  const { jobId, subjectId } = job;
  return job.liveTempFiles.map((objectKey) => ({
    type: 'TempFileDeleted' as const,
    data: { jobId, subjectId, objectKey, reason: 'retention' as const, rule: 'temp-files' as const },
  }));
}
