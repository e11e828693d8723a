import { Inject, Injectable } from '@nestjs/common';
import type { Purpose } from '../../../events/purposes';
import { statements } from '../../../projections/projection';
import { ReadModels } from '../../../projections/read-models';

export type JobViewStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** One row of the jobs read model (no personal data). */
export interface JobRecord {
  readonly jobId: string;
  readonly subjectId: string;
  readonly imageId: string;
  readonly purpose: Purpose;
  readonly status: JobViewStatus;
  readonly attempts: number;
  readonly leaseUntil: string | null;
  readonly artworkId: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly cancelReason: string | null;
  readonly queuedAt: string;
  readonly endedAt: string | null;
}

interface JobRow {
  job_id: string;
  subject_id: string;
  image_id: string;
  purpose: string;
  status: string;
  attempts: number;
  lease_until: string | null;
  artwork_id: string | null;
  error_code: string | null;
  error_message: string | null;
  cancel_reason: string | null;
  queued_at: string;
  ended_at: string | null;
}

function toRecord(row: JobRow): JobRecord {
  return {
    jobId: row.job_id,
    subjectId: row.subject_id,
    imageId: row.image_id,
    purpose: row.purpose as Purpose,
    status: row.status as JobViewStatus,
    attempts: row.attempts,
    leaseUntil: row.lease_until,
    artworkId: row.artwork_id,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    cancelReason: row.cancel_reason,
    queuedAt: row.queued_at,
    endedAt: row.ended_at,
  };
}

const COLUMNS = 'job_id, subject_id, image_id, purpose, status, attempts, lease_until, artwork_id, error_code, error_message, cancel_reason, queued_at, ended_at';

/** The view's SQL (exported for the spec that checks how SQLite answers it). */
export const JOBS_VIEW_SQL = {
  byId: `SELECT ${COLUMNS} FROM jobs WHERE job_id = ?`,
  runnable: `SELECT ${COLUMNS} FROM jobs
             WHERE status = 'queued' OR (status = 'running' AND (lease_until IS NULL OR lease_until <= ?))
             ORDER BY queued_at, job_id LIMIT ?`,
  unfinished: `SELECT ${COLUMNS} FROM jobs WHERE subject_id = ? AND status IN ('queued', 'running') ORDER BY queued_at, job_id`,
  // From the live temporary objects (a partial index: the backlog) to their jobs, never from every
  // finished job the service has run: CROSS JOIN keeps that order. SQLite's planner started from
  // the jobs by status, which read every finished job at each sweep (19–23 ms for 67,000 jobs).
  finishedWithTemp: `SELECT DISTINCT t.job_id AS job_id FROM job_temp_files t CROSS JOIN jobs j ON j.job_id = t.job_id
                     WHERE t.deleted_at IS NULL AND j.status IN ('completed', 'failed', 'cancelled')
                     ORDER BY t.job_id LIMIT ?`,
  liveTemp: `SELECT object_key FROM job_temp_files WHERE job_id = ? AND deleted_at IS NULL ORDER BY object_key`,
} as const;
const sql = statements(JOBS_VIEW_SQL);

/**
 * Queries over the jobs projection (`src/projections/jobs.projection.ts`). A view may lag the log
 * by a few milliseconds: every writer re-reads the job's stream before it decides, so the view
 * only chooses candidates, never outcomes.
 */
@Injectable()
export class JobsView {
  constructor(@Inject(ReadModels) private readonly readModels: ReadModels) {}

  private get q() {
    return sql(this.readModels.db);
  }

  /** The job, or null when unknown or another subject's (callers answer 404 for both). */
  findForSubject(jobId: string, subjectId: string): JobRecord | null {
    const row = this.q.byId.get(jobId) as JobRow | undefined;
    return row && row.subject_id === subjectId ? toRecord(row) : null;
  }

  find(jobId: string): JobRecord | null {
    const row = this.q.byId.get(jobId) as JobRow | undefined;
    return row ? toRecord(row) : null;
  }

  /** Jobs a worker may take at `now`, oldest first. */
  runnable(now: Date, limit: number): JobRecord[] {
    return (this.q.runnable.all(now.toISOString(), limit) as JobRow[]).map(toRecord);
  }

  /** The subject's queued and running jobs, optionally of one purpose and/or one image. */
  unfinishedForSubject(subjectId: string, filter: { readonly purpose?: Purpose; readonly imageId?: string } = {}): JobRecord[] {
    return (this.q.unfinished.all(subjectId) as JobRow[])
      .map(toRecord)
      .filter((job) => (filter.purpose === undefined || job.purpose === filter.purpose) && (filter.imageId === undefined || job.imageId === filter.imageId));
  }

  /** Finished jobs that still have temporary objects on record (the sweep's work list). */
  finishedJobsWithLiveTempFiles(limit = 500): string[] {
    return (this.q.finishedWithTemp.all(limit) as { job_id: string }[]).map((row) => row.job_id);
  }

  liveTempFiles(jobId: string): string[] {
    return (this.q.liveTemp.all(jobId) as { object_key: string }[]).map((row) => row.object_key);
  }
}
