import { describe, expect, it } from 'vitest';
import { validateEventData } from '../../../events';
import type { VerificationReport } from '../../../projections/verification/projection-verifier';
import { formatPosition } from '../audit-events/audit-position';
import { decideVerificationRecord, outcomeOf } from './verify-projections.decider';

const report = (over: Partial<VerificationReport> = {}): VerificationReport => ({
  eventsReplayed: 1042,
  verifiedUpTo: { commit: 1042n, prepare: 1042n },
  projectionsMatch: true,
  mismatches: [],
  mismatchCount: 0,
  tables: [{ projection: 'history', table: 'history', liveRows: 900, replayedRows: 900, mismatches: 0 }],
  retentionViolations: [],
  ...over,
});

describe('verification record', () => {
  it('given a clean verification, records counts only, valid per the catalogue', () => {
    const event = decideVerificationRecord('8f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b', 'auditor:alice', report());
    expect(event).toEqual({
      type: 'VerificationCompleted',
      data: { verificationId: '8f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b', requestedBy: 'auditor:alice', eventsReplayed: 1042, projectionsMatch: true, mismatchCount: 0, retentionViolationCount: 0 },
    });
    expect(() => validateEventData(event.type, event.data)).not.toThrow();
  });

  it('given differences and violations, records how many, never the rows (they may hold ids of subjects)', () => {
    const mismatches = [{ projection: 'history', table: 'history', key: { commit_position: 7, prepare_position: 7 }, live: { actor: 'x' }, replayed: { actor: 'y' } }];
    const event = decideVerificationRecord('8f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b', 'system:audit-cli', report({ projectionsMatch: false, mismatches, mismatchCount: 5, retentionViolations: [{ check: 'retention-deadlines', rule: 'x' }] }));
    expect(event.data).toMatchObject({ projectionsMatch: false, mismatchCount: 5, retentionViolationCount: 1 });
    expect(JSON.stringify(event)).not.toContain('commit_position');
    const outcome = outcomeOf('8f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b', report({ mismatches, mismatchCount: 5, projectionsMatch: false }), formatPosition);
    expect(outcome).toMatchObject({ verifiedUpTo: '1042:1042', mismatchCount: 5, mismatches, projectionsMatch: false });
  });
});
