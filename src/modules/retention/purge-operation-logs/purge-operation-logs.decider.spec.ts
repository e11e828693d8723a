import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../event-store/event-log';
import { decideOperationLogsPurge, lastRecordedCutoffMs, purgeCutoffMs, purgeWindow } from './purge-operation-logs.decider';

const WEEK_S = 7 * 24 * 3600;
const purgedAt = new Date('2026-03-09T02:00:30.000Z');

describe('recording a purge of expired operation logs', () => {
  it('given entries newly expired, records them with the count of late ones, the largest lateness and the $maxAge enforced', () => {
    // The oldest entry occurred at 02:00:00 a week earlier: due then, purged 30 s later.
    const oldestMs = Date.parse('2026-03-02T02:00:00.000Z');
    expect(decideOperationLogsPurge({ purgedAt, maxAgeSeconds: WEEK_S, mode: 'removed', expired: { count: 3, late: 1, oldestMs } })).toEqual({
      type: 'OperationLogsPurged',
      data: { purgedAt: '2026-03-09T02:00:30.000Z', entriesRemoved: 3, entriesLate: 1, maxLatenessSeconds: 30, mode: 'removed', maxAgeSeconds: WEEK_S },
    });
  });

  it('given nothing newly expired (none, or another instance recorded them), records nothing', () => {
    expect(decideOperationLogsPurge({ purgedAt, maxAgeSeconds: WEEK_S, mode: 'removed', expired: { count: 0, late: 0, oldestMs: null } })).toBeNull();
  });

  it('an EventStoreDB scavenge is recorded as started, not as removed', () => {
    const event = decideOperationLogsPurge({ purgedAt, maxAgeSeconds: 60, mode: 'scavenge-started', expired: { count: 1, late: 0, oldestMs: purgedAt.getTime() - 60_000 } });
    expect(event?.data).toMatchObject({ mode: 'scavenge-started', maxLatenessSeconds: 0 });
  });

  it('accounts only for entries after the newest recorded cutoff, so two instances never count an entry twice', () => {
    const earlier = {
      type: 'OperationLogsPurged',
      data: { purgedAt: '2026-03-09T02:00:00.000Z', entriesRemoved: 2, entriesLate: 0, maxLatenessSeconds: 0, mode: 'removed', maxAgeSeconds: WEEK_S },
    } as unknown as RecordedEvent;
    const legacy = { type: 'OperationLogsPurged', data: { purgedAt: '2026-03-09T03:00:00.000Z', entriesRemoved: 1, entriesLate: 0, maxLatenessSeconds: 0, mode: 'removed' } } as unknown as RecordedEvent;
    const previous = lastRecordedCutoffMs([earlier, legacy]);
    expect(previous).toBe(Date.parse('2026-03-02T02:00:00.000Z'));
    expect(purgeWindow(previous, purgedAt, WEEK_S)).toEqual({ fromMs: Date.parse('2026-03-02T02:00:00.000Z'), toMs: Date.parse('2026-03-02T02:00:30.000Z') });
    expect(purgeWindow(null, purgedAt, WEEK_S).fromMs).toBe(Number.MIN_SAFE_INTEGER);
    expect(purgeCutoffMs(purgedAt, 1)).toBe(purgedAt.getTime() - 1000);
  });
});
