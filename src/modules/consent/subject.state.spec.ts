import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../events';
import { foldSubject, processingVerdict } from './subject.state';
import { history } from './subject-history.fixture';

const S = '11111111-1111-4111-8111-111111111111';
const V1 = '2025-06-24';
const V2 = '2026-01-01';
const registered: DomainEvent[] = [
  { type: 'SubjectRegistered', data: { subjectId: S, deviceId: 'device-1', ageBasis: 'adult', policyVersion: V1 } },
  { type: 'AdultConfirmed', data: { subjectId: S } },
];
const fold = (...events: DomainEvent[]) => foldSubject(history(`subject-${S}`, [...registered, ...events]));

describe('foldSubject', () => {
  it('records registration, consents (with version and time), withdrawals and restrictions', () => {
    const state = fold(
      { type: 'ConsentGranted', data: { subjectId: S, purpose: 'photo-restore', policyVersion: V1 } },
      { type: 'ConsentGranted', data: { subjectId: S, purpose: 'ai-edit', policyVersion: V1 } },
      { type: 'ConsentWithdrawn', data: { subjectId: S, purpose: 'ai-edit', policyVersion: V1 } },
      { type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'erase-pen', requestId: null } },
    );
    expect(state).toMatchObject({ subjectId: S, status: 'active', ageBasis: 'adult', registeredAt: '2026-03-02T02:00:00.000Z' });
    expect(state.consents['photo-restore']).toEqual({ granted: true, policyVersion: V1, at: '2026-03-02T02:00:02.000Z' });
    expect(state.consents['ai-edit']).toEqual({ granted: false, policyVersion: V1, at: '2026-03-02T02:00:04.000Z' });
    expect([...state.restrictions]).toEqual(['erase-pen']);
  });

  it('an erasure closes the account', () => {
    const R = '22222222-2222-4222-8222-222222222222';
    expect(fold({ type: 'SubjectErasureStarted', data: { subjectId: S, receiptId: R } }).status).toBe('erasing');
  });
});

describe('processingVerdict', () => {
  const grant = (policyVersion: string): DomainEvent => ({ type: 'ConsentGranted', data: { subjectId: S, purpose: 'photo-restore', policyVersion } });

  it('allows a purpose consented to under the current policy version', () => {
    expect(processingVerdict(fold(grant(V1)), 'photo-restore', V1)).toEqual({ allowed: true });
  });

  it('refuses a purpose never consented to, naming the current version', () => {
    const verdict = processingVerdict(fold(grant(V1)), 'time-painting', V1);
    expect(verdict).toMatchObject({ allowed: false, code: 'CONSENT_REQUIRED' });
    expect(!verdict.allowed && verdict.reason).toContain(V1);
  });

  it('given a consent under the old policy, when the policy changes, then it no longer counts until given again', () => {
    const before = fold(grant(V1));
    const verdict = processingVerdict(before, 'photo-restore', V2);
    expect(verdict).toMatchObject({ allowed: false, code: 'CONSENT_REQUIRED' });
    expect(!verdict.allowed && verdict.reason).toContain(V2);
    expect(processingVerdict(fold(grant(V1), grant(V2)), 'photo-restore', V2)).toEqual({ allowed: true });
  });

  it('refuses after withdrawal', () => {
    const state = fold(grant(V1), { type: 'ConsentWithdrawn', data: { subjectId: S, purpose: 'photo-restore', policyVersion: V1 } });
    expect(processingVerdict(state, 'photo-restore', V1)).toMatchObject({ allowed: false, code: 'CONSENT_REQUIRED' });
  });

  it('refuses a restricted purpose even with consent, and allows it again once lifted', () => {
    const restricted = fold(grant(V1), { type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'photo-restore', requestId: null } });
    expect(processingVerdict(restricted, 'photo-restore', V1)).toMatchObject({ allowed: false, code: 'PURPOSE_RESTRICTED' });
    const lifted = fold(
      grant(V1),
      { type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'photo-restore', requestId: null } },
      { type: 'RestrictionLifted', data: { subjectId: S, purpose: 'photo-restore' } },
    );
    expect(processingVerdict(lifted, 'photo-restore', V1)).toEqual({ allowed: true });
  });

  it('refuses an account that is not active', () => {
    expect(processingVerdict(foldSubject([]), 'photo-restore', V1)).toMatchObject({ allowed: false, code: 'SUBJECT_NOT_ACTIVE' });
    const erasing = fold(grant(V1), { type: 'SubjectErasureStarted', data: { subjectId: S, receiptId: '22222222-2222-4222-8222-222222222222' } });
    expect(processingVerdict(erasing, 'photo-restore', V1)).toMatchObject({ allowed: false, code: 'SUBJECT_NOT_ACTIVE' });
  });
});
