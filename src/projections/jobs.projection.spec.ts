import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { JsonObject, StoredEvent } from '../modules/event-store/event-store.port';
import { jobsProjection } from './jobs.projection';

const jobId = '11111111-1111-4111-8111-111111111111';
const subjectId = '22222222-2222-4222-8222-222222222222';
const imageId = '33333333-3333-4333-8333-333333333333';
const ids = { jobId, subjectId, imageId, purpose: 'erase-pen' };
const key = (name: string) => `tmp/${subjectId}/${jobId}/${name}`;

function stored(type: string, data: JsonObject, index: number): StoredEvent {
  const at = new Date(Date.parse('2026-03-02T02:00:00.000Z') + index * 1000);
  return {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    stream: `job-${jobId}`,
    revision: BigInt(index),
    position: { commit: BigInt(index + 1), prepare: BigInt(index + 1) },
    type,
    data,
    metadata: { occurredAt: at.toISOString(), actor: 'system:processing' },
    created: at,
  };
}

const history: StoredEvent[] = [
  stored('JobQueued', { ...ids, options: { $pii: 'ciphertext' } }, 0),
  stored('JobStarted', { ...ids, attempt: 1, worker: 'w1', leaseUntil: '2026-03-02T02:05:00.000Z' }, 1),
  stored('TempFileCreated', { jobId, subjectId, objectKey: key('input'), kind: 'input', size: 10 }, 2),
  stored('TempFileCreated', { jobId, subjectId, objectKey: key('mask.png'), kind: 'intermediate', size: 5 }, 3),
  stored('JobFailed', { ...ids, code: 'INVALID_OPTIONS', message: 'regions outside the image' }, 4),
  stored('TempFileDeleted', { jobId, subjectId, objectKey: key('input'), reason: 'retention', rule: 'temp-files' }, 5),
];

function replay(events: readonly StoredEvent[]): Database.Database {
  const db = new Database(':memory:');
  jobsProjection.setup(db);
  for (const event of events) jobsProjection.apply(db, event);
  return db;
}

function rows(db: Database.Database): unknown[] {
  return jobsProjection.tables.map((table) => db.prepare(`SELECT * FROM ${table.name} ORDER BY ${table.orderBy}`).all());
}

describe('jobs projection', () => {
  it('follows a job from queued to failed and keeps its temp files with their deletions', () => {
    const db = replay(history);
    expect(db.prepare('SELECT status, attempts, worker, lease_until, error_code, error_message, ended_at FROM jobs').get()).toEqual({
      status: 'failed',
      attempts: 1,
      worker: 'w1',
      lease_until: null,
      error_code: 'INVALID_OPTIONS',
      error_message: 'regions outside the image',
      ended_at: '2026-03-02T02:00:04.000Z',
    });
    expect(db.prepare('SELECT object_key, deleted_at FROM job_temp_files ORDER BY object_key').all()).toEqual([
      { object_key: key('input'), deleted_at: '2026-03-02T02:00:05.000Z' },
      { object_key: key('mask.png'), deleted_at: null },
    ]);
  });

  it('is a deterministic function of the log: two replays give identical rows, holding no personal field', () => {
    expect(rows(replay(history))).toEqual(rows(replay(history)));
    expect(JSON.stringify(rows(replay(history)))).not.toContain('ciphertext');
  });

  it('ignores events without a job id and a second JobQueued for the same job', () => {
    const db = replay([...history, stored('JobQueued', { ...ids, options: {} }, 6), stored('JobCompleted', { subjectId }, 7)]);
    expect(db.prepare('SELECT status FROM jobs').all()).toEqual([{ status: 'failed' }]);
  });
});
