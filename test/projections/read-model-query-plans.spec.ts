import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS_VIEW_SQL } from '../../src/modules/facial-data/jobs/jobs.view';
import { SUBJECT_DATA_SQL } from '../../src/modules/subject-rights/erase-account/subject-data.read-model';
import { REQUESTS_SQL } from '../../src/modules/subject-rights/requests/requests.read-model';
import { ALL_PROJECTIONS } from '../../src/projections';
import { ProjectionApplier } from '../../src/projections/projection-applier';
import { openReadModelDatabase } from '../../src/projections/read-model-database';
import { RETENTION_LEDGER_SQL } from '../../src/projections/retention-ledger.projection';

/**
 * How SQLite answers the read models' statements whose cost must not grow with the whole history
 * of the service (each runs on the event loop). Without statistics (no ANALYZE) the planner's
 * choice depends only on the schema, so a plan checked here is the plan the service runs; a
 * schema or query change that loses it fails here, where a timed test would not be allowed.
 */
describe('read-model query plans', () => {
  let db: Database;
  const plan = (query: string): string[] =>
    (db.prepare(`EXPLAIN QUERY PLAN ${query}`).all(...Array.from({ length: query.split('?').length - 1 }, () => 'x')) as { detail: string }[]).map(
      (step) => step.detail,
    );

  beforeAll(() => {
    db = openReadModelDatabase(':memory:');
    // Every projection's tables, setup indexes and query indexes, as in the live file.
    new ProjectionApplier(db, ALL_PROJECTIONS);
  });
  afterAll(() => db.close());

  it.each(['consentWithdrawn', 'consentGranted'] as const)(
    'a consent change (%s) finds the subject’s originals of the purpose by their index, not among every pending item',
    (name) => {
      expect(plan(RETENTION_LEDGER_SQL[name])).toEqual(['SEARCH retention_ledger USING INDEX retention_ledger_originals_by_subject (subject_id=? AND purpose=?)']);
    },
  );

  it('the temp-file sweep starts from the live temporary objects, not from every finished job', () => {
    const steps = plan(JOBS_VIEW_SQL.finishedWithTemp);
    expect(steps[0]).toBe('SCAN t USING INDEX job_temp_files_live');
    expect(steps[1]).toMatch(/^SEARCH j USING INDEX sqlite_autoindex_jobs_1 \(job_id=\?\)$/);
    // The partial index is in job order: DISTINCT and ORDER BY need no sort, so LIMIT stops the scan.
    expect(steps.filter((step) => step.startsWith('USE TEMP B-TREE'))).toEqual([]);
  });

  // Each of an erasure's questions (and the recovery sweep's) is asked on the event loop: none may
  // read a whole table or a whole index, whose size grows with every subject the service has known.
  // A scan is allowed over a partial index only (it holds a backlog: the erasures under way).
  it.each(Object.entries(SUBJECT_DATA_SQL))('SubjectDataReadModel: %s is answered by a search, not by reading a whole table', (_name, query) => {
    const reads = plan(query).filter((detail) => /^(SCAN|SEARCH) /.test(detail));
    expect(reads.length).toBeGreaterThan(0);
    const wholeReads = reads.filter((detail) => {
      if (detail.startsWith('SEARCH ')) return false;
      const scan = /^SCAN (\w+) USING (?:COVERING )?INDEX (\w+)/.exec(detail);
      return scan === null || !isPartialIndex(scan[1], scan[2]);
    });
    expect(wholeReads).toEqual([]);
  });

  function isPartialIndex(table: string, index: string): boolean {
    const indexes = db.prepare(`SELECT name, partial FROM pragma_index_list(?)`).all(table) as { name: string; partial: number }[];
    return indexes.some((row) => row.name === index && row.partial === 1);
  }

  it.each(['all', 'byStatus'] as const)('the DPO’s list (%s) is read in log order up to its limit, without sorting every request', (name) => {
    const steps = plan(REQUESTS_SQL[name]);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatch(name === 'all' ? /^SCAN rights_requests USING INDEX rights_requests_by_position$/ : /^SEARCH rights_requests USING INDEX rights_requests_by_status \(status=\?\)$/);
  });
});
