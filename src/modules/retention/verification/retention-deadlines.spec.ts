import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../event-store/event-store.port';
import { RetentionEvents, SUBJECT_A, SUBJECT_B } from '../retention-events.fixture';
import type { RetentionDurations } from '../retention-rules';
import { RetentionDeadlinesCheck } from './retention-deadlines.check';
import { deriveRetentionViolations, MAX_LISTED_VIOLATIONS } from './retention-deadlines';

const IMG1 = '11111111-1111-4111-8111-111111111111';
const IMG2 = '22222222-2222-4222-8222-222222222222';
const IMG3 = '33333333-3333-4333-8333-333333333333';
const JOB = '44444444-4444-4444-8444-444444444444';
const H = 3_600_000;
const DAY = 24 * H;
const T0 = Date.parse('2026-03-02T02:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const durations: RetentionDurations = { originalMs: DAY, tempFilesMs: 60_000, oplogMs: 7 * DAY, toleranceMs: 35_000 };
const derive = (events: StoredEvent[], nowMs: number) => deriveRetentionViolations(events, durations, new Date(T0 + nowMs));

describe('re-deriving retention deadlines from the raw log', () => {
  it('an original deleted within the tolerance of 24 h after its FIRST completed job is no violation; later, it is deleted-late', () => {
    const e = new RetentionEvents();
    const base = [e.uploaded(IMG1, at(0)), e.jobEnded('JobCompleted', JOB, IMG1, at(2 * H)), e.jobEnded('JobCompleted', 'aaaaaaaa-0000-4000-8000-000000000000', IMG1, at(5 * H))];
    expect(derive([...base, e.imageDeleted(IMG1, at(26 * H + 30_000), 'retention')], 30 * H)).toEqual([]);
    expect(derive([...base, e.imageDeleted(IMG1, at(26 * H + 36_000), 'retention')], 30 * H)).toEqual([
      { rule: 'original-after-processing', kind: 'deleted-late', resource: `image:${IMG1}`, dueAt: at(26 * H), deletedAt: at(26 * H + 36_000), latenessSeconds: 36 },
    ]);
  });

  it('ignores the due time a deletion event claims: the deadline is re-derived (a deletion recorded as due later is still late)', () => {
    const e = new RetentionEvents();
    const events = [e.uploaded(IMG1, at(0)), e.imageDeleted(IMG1, at(30 * H), 'retention', { rule: 'original-after-processing', dueAt: at(30 * H) })];
    expect(derive(events, 31 * H)).toEqual([expect.objectContaining({ kind: 'deleted-late', dueAt: at(DAY), latenessSeconds: 6 * 3600 })]);
  });

  it('an original still held past its deadline is overdue now; not before the tolerance has passed', () => {
    const e = new RetentionEvents();
    const events = [e.uploaded(IMG1, at(0))];
    expect(derive(events, DAY + 35_000)).toEqual([]);
    expect(derive(events, DAY + 36_000)).toEqual([{ rule: 'original-after-processing', kind: 'overdue', resource: `image:${IMG1}`, dueAt: at(DAY), latenessSeconds: 36 }]);
  });

  it('a withdrawal of consent while the original is held makes it due at once; not for images uploaded after it or already deleted', () => {
    const e = new RetentionEvents();
    const events = [
      e.uploaded(IMG1, at(0)),
      e.uploaded(IMG2, at(0)),
      e.imageDeleted(IMG2, at(1 * H)),
      e.consentWithdrawn(at(2 * H)),
      e.uploaded(IMG3, at(3 * H)),
      e.uploaded('77777777-7777-4777-8777-777777777777', at(0), SUBJECT_B),
    ];
    expect(derive([...events, e.imageDeleted(IMG1, at(2 * H + 1000), 'consent-withdrawn')], 4 * H)).toEqual([]);
    expect(derive(events, 4 * H)).toEqual([{ rule: 'original-after-processing', kind: 'overdue', resource: `image:${IMG1}`, dueAt: at(2 * H), latenessSeconds: 7200 }]);
    // Consent given again before the deletion: the withdrawal no longer applies.
    const granted = e.event(`subject-${SUBJECT_A}`, 'ConsentGranted', { subjectId: SUBJECT_A, purpose: 'photo-enlarge', policyVersion: '2025-06-24' }, at(3 * H));
    expect(derive([...events, granted], 4 * H)).toEqual([]);
  });

  it('temp files are due RETENTION_TEMP_MAX after their job ended; files of a running job have no deadline yet', () => {
    const e = new RetentionEvents();
    const events = [e.tempCreated(JOB, 'input', at(0)), e.tempCreated(JOB, 'mid', at(0)), e.jobEnded('JobFailed', JOB, IMG1, at(1000)), e.tempDeleted(JOB, 'input', at(1500))];
    const running = [e.tempCreated('99999999-9999-4999-8999-999999999999', 'input', at(0))];
    expect(derive([...events, ...running], 1000 + 60_000 + 35_000)).toEqual([]);
    expect(derive([...events, ...running], 1000 + 60_000 + 36_000)).toEqual([
      { rule: 'temp-files', kind: 'overdue', resource: `job:${JOB}:tmp/${SUBJECT_A}/${JOB}/mid`, dueAt: at(61_000), latenessSeconds: 36 },
    ]);
  });

  it('operation-log entries still in the log past 7 days and no recorded purge covering them are overdue; late purges are listed', () => {
    const e = new RetentionEvents();
    const entries = [e.faceDetectionLogged(IMG1, at(0)), e.processingLogged(JOB, IMG1, at(1 * H)), e.faceDetectionLogged(IMG2, at(0), SUBJECT_B)];
    expect(derive(entries, 7 * DAY)).toEqual([]);
    expect(derive(entries, 7 * DAY + 2 * H)).toEqual([
      { rule: 'operation-logs', kind: 'overdue', resource: `oplog-${SUBJECT_A}`, entries: 2, dueAt: at(7 * DAY), latenessSeconds: 7200 },
      { rule: 'operation-logs', kind: 'overdue', resource: `oplog-${SUBJECT_B}`, entries: 1, dueAt: at(7 * DAY), latenessSeconds: 7200 },
    ]);
    // A purge whose cutoff covers them (e.g. on EventStoreDB before the scavenge finished) accounts for them.
    const purge = e.operationLogsPurged(at(7 * DAY + 2 * H), 7 * 24 * 3600, 3, 3, 7200);
    expect(derive([...entries, purge], 7 * DAY + 3 * H)).toEqual([
      { rule: 'operation-logs', kind: 'deleted-late', resource: 'retention', entries: 3, deletedAt: at(7 * DAY + 2 * H), latenessSeconds: 7200 },
    ]);
    // An erased subject's tombstoned log is gone.
    expect(derive([...entries, e.subjectErased(at(1000))], 7 * DAY + 2 * H).map((v) => v.resource)).toEqual([`oplog-${SUBJECT_B}`]);
  });

  it('lists at most MAX_LISTED_VIOLATIONS and counts the rest', () => {
    const e = new RetentionEvents();
    const events: StoredEvent[] = [];
    for (let i = 0; i < MAX_LISTED_VIOLATIONS + 5; i++) events.push(e.uploaded(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, at(0)));
    const found = derive(events, 2 * DAY);
    expect(found).toHaveLength(MAX_LISTED_VIOLATIONS + 1);
    expect(found[found.length - 1]).toEqual({ rule: '*', kind: 'truncated', resource: 'retention', omitted: 5 });
  });

  it('as a verification check: sees the replay in batches and reports at the verification time', async () => {
    const e = new RetentionEvents();
    const run = new RetentionDeadlinesCheck(durations).start({ now: new Date(T0 + 2 * DAY) });
    run.onEvents?.([e.uploaded(IMG1, at(0))]);
    run.onEvents?.([e.jobEnded('JobCompleted', JOB, IMG1, at(DAY))]);
    // Due exactly now (24 h after the job completed): not overdue.
    expect(await run.finish({} as never)).toEqual([]);
    const late = new RetentionDeadlinesCheck(durations).start({ now: new Date(T0 + 3 * DAY) });
    late.onEvents?.([e.uploaded(IMG2, at(0))]);
    expect(await late.finish({} as never)).toEqual([expect.objectContaining({ kind: 'overdue', resource: `image:${IMG2}`, latenessSeconds: 2 * 24 * 3600 })]);
  });
});
