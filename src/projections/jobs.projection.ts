import type { Projection } from './projection';
import { num, occurredAt, statements, str } from './projection';

/**
 * Processing jobs and the temporary objects they wrote. Feeds GET /v1/jobs/{id}, the worker's
 * search for runnable jobs (queued, or running with an expired lease: compared with "now" at query
 * time, never inside the projection), CancelJobs' search for unfinished jobs, and the temp-file
 * sweep (finished jobs with live temp files). No personal data: ids, purposes, states, object keys.
 */
const sql = statements({
  queued: `INSERT INTO jobs (job_id, subject_id, image_id, purpose, status, attempts, queued_at, correction_of, request_id)
           VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?)
           ON CONFLICT(job_id) DO NOTHING`,
  started: `UPDATE jobs SET status = 'running', attempts = ?, worker = ?, lease_until = ?, started_at = ? WHERE job_id = ?`,
  completed: `UPDATE jobs SET status = 'completed', artwork_id = ?, lease_until = NULL, ended_at = ? WHERE job_id = ?`,
  failed: `UPDATE jobs SET status = 'failed', error_code = ?, error_message = ?, lease_until = NULL, ended_at = ? WHERE job_id = ?`,
  cancelled: `UPDATE jobs SET status = 'cancelled', cancel_reason = ?, lease_until = NULL, ended_at = ? WHERE job_id = ?`,
  tempCreated: `INSERT INTO job_temp_files (job_id, object_key, subject_id, kind, size, created_at, deleted_at)
                VALUES (?, ?, ?, ?, ?, ?, NULL)
                ON CONFLICT(job_id, object_key) DO UPDATE SET deleted_at = NULL, kind = excluded.kind, size = excluded.size, created_at = excluded.created_at`,
  tempDeleted: `UPDATE job_temp_files SET deleted_at = ?, deleted_reason = ? WHERE job_id = ? AND object_key = ?`,
});

export const jobsProjection: Projection = {
  name: 'jobs',
  version: 1,
  buildCost: 5.1,
  eventTypes: ['JobQueued', 'JobStarted', 'JobCompleted', 'JobFailed', 'JobCancelled', 'TempFileCreated', 'TempFileDeleted'],
  tables: [
    { name: 'jobs', orderBy: 'job_id' },
    { name: 'job_temp_files', orderBy: 'job_id, object_key' },
  ],
  queryIndexes: [
    `CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, lease_until, queued_at)`,
    `CREATE INDEX IF NOT EXISTS jobs_by_subject ON jobs (subject_id, status)`,
    // The temp-file sweep's: live temporary objects by job (apply finds them by their key).
    `CREATE INDEX IF NOT EXISTS job_temp_files_live ON job_temp_files (job_id) WHERE deleted_at IS NULL`,
    // An erasure's: the subject's jobs with live temporary objects, and what its erasure deleted
    // (SubjectDataReadModel). Without it each erasure read the whole table.
    `CREATE INDEX IF NOT EXISTS job_temp_files_by_subject ON job_temp_files (subject_id)`,
  ],
  setup(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS jobs (
      job_id TEXT PRIMARY KEY,
      subject_id TEXT NOT NULL,
      image_id TEXT NOT NULL,
      purpose TEXT NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      worker TEXT,
      lease_until TEXT,
      artwork_id TEXT,
      error_code TEXT,
      error_message TEXT,
      cancel_reason TEXT,
      queued_at TEXT NOT NULL,
      started_at TEXT,
      ended_at TEXT,
      correction_of TEXT,
      request_id TEXT
    )`);
    db.exec(`CREATE TABLE IF NOT EXISTS job_temp_files (
      job_id TEXT NOT NULL,
      object_key TEXT NOT NULL,
      subject_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      size INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      deleted_at TEXT,
      deleted_reason TEXT,
      PRIMARY KEY (job_id, object_key)
    )`);
  },
  apply(db, event) {
    const q = sql(db);
    const jobId = str(event.data.jobId);
    if (!jobId) return;
    const at = occurredAt(event);
    switch (event.type) {
      case 'JobQueued': {
        const subjectId = str(event.data.subjectId);
        const imageId = str(event.data.imageId);
        const purpose = str(event.data.purpose);
        if (!subjectId || !imageId || !purpose) return;
        q.queued.run(jobId, subjectId, imageId, purpose, at, str(event.data.correctionOf), str(event.data.requestId));
        break;
      }
      case 'JobStarted':
        q.started.run(num(event.data.attempt) ?? 1, str(event.data.worker), str(event.data.leaseUntil), at, jobId);
        break;
      case 'JobCompleted':
        q.completed.run(str(event.data.artworkId), at, jobId);
        break;
      case 'JobFailed':
        q.failed.run(str(event.data.code) ?? 'UNKNOWN', str(event.data.message) ?? '', at, jobId);
        break;
      case 'JobCancelled':
        q.cancelled.run(str(event.data.reason), at, jobId);
        break;
      case 'TempFileCreated': {
        const key = str(event.data.objectKey);
        const subjectId = str(event.data.subjectId);
        if (!key || !subjectId) return;
        q.tempCreated.run(jobId, key, subjectId, str(event.data.kind) ?? 'intermediate', num(event.data.size) ?? 0, at);
        break;
      }
      case 'TempFileDeleted': {
        const key = str(event.data.objectKey);
        if (!key) return;
        q.tempDeleted.run(at, str(event.data.reason), jobId, key);
        break;
      }
    }
  },
};
