import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import { foldSubject } from '../subject.state';
import { history } from '../subject-history.fixture';
import { decideWithdrawConsent } from './withdraw-consent.decider';

const S = '11111111-1111-4111-8111-111111111111';
const V1 = '2025-06-24';
const registered: DomainEvent[] = [
  { type: 'SubjectRegistered', data: { subjectId: S, deviceId: 'device-1', ageBasis: 'guardian', policyVersion: V1 } },
  { type: 'GuardianConsentRecorded', data: { subjectId: S } },
];
const given = (...events: DomainEvent[]) => foldSubject(history(`subject-${S}`, [...registered, ...events]));
const granted = (purpose: 'photo-restore' | 'ai-edit', policyVersion = V1): DomainEvent => ({ type: 'ConsentGranted', data: { subjectId: S, purpose, policyVersion } });

describe('withdraw consent', () => {
  it('given a consent, when withdrawn, then ConsentWithdrawn with the version it was given under', () => {
    expect(decideWithdrawConsent(given(granted('ai-edit')), 'ai-edit')).toEqual([
      { type: 'ConsentWithdrawn', data: { subjectId: S, purpose: 'ai-edit', policyVersion: V1 } },
    ]);
  });

  it('given no consent (or one already withdrawn), when withdrawn, then nothing', () => {
    expect(decideWithdrawConsent(given(), 'ai-edit')).toEqual([]);
    expect(decideWithdrawConsent(given(granted('photo-restore')), 'ai-edit')).toEqual([]);
    const withdrawn = given(granted('ai-edit'), { type: 'ConsentWithdrawn', data: { subjectId: S, purpose: 'ai-edit', policyVersion: V1 } });
    expect(decideWithdrawConsent(withdrawn, 'ai-edit')).toEqual([]);
  });

  it('given a consent under an outdated version, when withdrawn, then it is withdrawn all the same', () => {
    expect(decideWithdrawConsent(given(granted('ai-edit', '2024-01-01')), 'ai-edit')).toEqual([
      { type: 'ConsentWithdrawn', data: { subjectId: S, purpose: 'ai-edit', policyVersion: '2024-01-01' } },
    ]);
  });
});
