import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject, StoredEvent } from '../../event-store/event-store.port';
import { ALL_PROJECTIONS } from '../../../projections';
import { ProjectionApplier } from '../../../projections/projection-applier';
import { openReadModelDatabase } from '../../../projections/read-model-database';
import { ReadModels } from '../../../projections/read-models';
import { storedEventLog } from '../../../../test/support/stored-events';
import { SubjectDataReadModel } from './subject-data.read-model';

const alice = '0a000000-0000-4000-8000-000000000001';
const bob = '0b000000-0000-4000-8000-000000000002';
const job = (n: number) => `0c000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const image = (n: number) => `0d000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const log = storedEventLog('system:test');
let second = 0;
/** The next event of the spec's log, a second after the last. */
function stored(stream: string, type: string, data: JsonObject): StoredEvent {
  second++;
  return log(stream, type, data, new Date(Date.parse('2026-03-02T02:00:00.000Z') + second * 1000).toISOString());
}

function tempFile(subjectId: string, jobNumber: number, name: string, created: boolean, reason?: string): StoredEvent {
  const data: JsonObject = { jobId: job(jobNumber), subjectId, objectKey: `tmp/${subjectId}/${job(jobNumber)}/${name}` };
  if (created) return stored(`job-${job(jobNumber)}`, 'TempFileCreated', { ...data, kind: 'intermediate', size: 10 });
  return stored(`job-${job(jobNumber)}`, 'TempFileDeleted', { ...data, reason: reason ?? 'retention' });
}

describe('SubjectDataReadModel', () => {
  let db: Database;
  let model: SubjectDataReadModel;

  beforeEach(() => {
    db = openReadModelDatabase(':memory:');
    const applier = new ProjectionApplier(db, ALL_PROJECTIONS);
    applier.apply([
      stored(`subject-${alice}`, 'SubjectRegistered', { subjectId: alice, ageBasis: 'self-declared-adult' }),
      stored(`subject-${bob}`, 'SubjectRegistered', { subjectId: bob, ageBasis: 'self-declared-adult' }),
      ...[1, 2, 3].map((n) => stored(`job-${job(n)}`, 'JobQueued', { jobId: job(n), subjectId: n < 3 ? alice : bob, imageId: image(n), purpose: 'erase-pen' })),
      tempFile(alice, 1, 'a', true),
      tempFile(alice, 1, 'b', true),
      tempFile(alice, 2, 'a', true),
      tempFile(bob, 3, 'a', true),
      tempFile(alice, 2, 'a', false, 'erasure'),
      tempFile(alice, 1, 'a', false),
      stored(`subject-${alice}`, 'SubjectErasureStarted', { subjectId: alice, receiptId: 'r-1' }),
    ]);
    model = new SubjectDataReadModel(new ReadModels(db));
  });

  afterEach(() => db.close());

  it('answers from the events: jobs with live temporary objects, erasure counts, erasures under way', () => {
    expect(model.jobsWithLiveTempFiles(alice)).toEqual([job(1)]);
    expect(model.jobsWithLiveTempFiles(bob)).toEqual([job(3)]);
    expect(model.erasedCounts(alice)).toEqual({ images: 0, artworks: 0, tempFiles: 1, jobsCancelled: 0 });
    expect(model.erasingSubjects()).toEqual([alice]);
  });
});
