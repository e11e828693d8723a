import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import { decideRestriction } from './restrict-processing.decider';
import { foldSubject } from '../subject.state';
import { history } from '../subject-history.fixture';

const S = '11111111-1111-4111-8111-111111111111';
const V1 = '2025-06-24';
const registered: DomainEvent[] = [
  { type: 'SubjectRegistered', data: { subjectId: S, deviceId: 'device-1', ageBasis: 'guardian', policyVersion: V1 } },
  { type: 'GuardianConsentRecorded', data: { subjectId: S } },
];
const given = (...events: DomainEvent[]) => foldSubject(history(`subject-${S}`, [...registered, ...events]));

describe('restriction', () => {
  it('restricts once, lifts once; repeating appends nothing', () => {
    expect(decideRestriction(given(), { purpose: 'photo-restore', restricted: true })).toEqual([
      { type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'photo-restore', requestId: null } },
    ]);
    const restricted = given({ type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'photo-restore', requestId: null } });
    expect(decideRestriction(restricted, { purpose: 'photo-restore', restricted: true })).toEqual([]);
    expect(decideRestriction(restricted, { purpose: 'photo-restore', restricted: false })).toEqual([
      { type: 'RestrictionLifted', data: { subjectId: S, purpose: 'photo-restore' } },
    ]);
    expect(decideRestriction(given(), { purpose: 'photo-restore', restricted: false })).toEqual([]);
  });

  it('carries the rights request it answers', () => {
    const requestId = '33333333-3333-4333-8333-333333333333';
    expect(decideRestriction(given(), { purpose: 'erase-pen', restricted: true, requestId })).toEqual([
      { type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'erase-pen', requestId } },
    ]);
  });

  it('restricting one purpose leaves the others alone', () => {
    const restricted = given({ type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'photo-restore', requestId: null } });
    expect(decideRestriction(restricted, { purpose: 'ai-edit', restricted: true })).toHaveLength(1);
  });
});
