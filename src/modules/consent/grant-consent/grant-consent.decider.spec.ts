import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { decideGrantConsent } from './grant-consent.decider';
import { foldSubject } from '../subject.state';
import { history } from '../subject-history.fixture';

const S = '11111111-1111-4111-8111-111111111111';
const V1 = '2025-06-24';
const V2 = '2026-01-01';
const registered: DomainEvent[] = [
  { type: 'SubjectRegistered', data: { subjectId: S, deviceId: 'device-1', ageBasis: 'guardian', policyVersion: V1 } },
  { type: 'GuardianConsentRecorded', data: { subjectId: S } },
];
const given = (...events: DomainEvent[]) => foldSubject(history(`subject-${S}`, [...registered, ...events]));
const granted = (purpose: 'photo-restore' | 'ai-edit', policyVersion = V1): DomainEvent => ({ type: 'ConsentGranted', data: { subjectId: S, purpose, policyVersion } });

function errorOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('grant consent', () => {
  it('given no consent, when granted under the current version, then ConsentGranted with that version', () => {
    expect(decideGrantConsent(given(), { purpose: 'photo-restore', policyVersion: V1 }, V1)).toEqual([
      { type: 'ConsentGranted', data: { subjectId: S, purpose: 'photo-restore', policyVersion: V1 } },
    ]);
  });

  it('given a consent that counts, when granted again, then nothing', () => {
    expect(decideGrantConsent(given(granted('photo-restore')), { purpose: 'photo-restore', policyVersion: V1 }, V1)).toEqual([]);
  });

  it('when granted under another version, then 422 POLICY_VERSION_MISMATCH naming the current one', () => {
    for (const version of [V2, '2024-01-01']) {
      const error = errorOf(() => decideGrantConsent(given(), { purpose: 'photo-restore', policyVersion: version }, V1));
      expect(error).toMatchObject({ code: 'POLICY_VERSION_MISMATCH', status: 422, extra: { currentPolicyVersion: V1 } });
      expect(error.message).toContain(V1);
    }
  });

  it('given a consent under an older version, when the policy changed and the subject consents again, then a new ConsentGranted', () => {
    expect(decideGrantConsent(given(granted('photo-restore', V1)), { purpose: 'photo-restore', policyVersion: V2 }, V2)).toEqual([
      { type: 'ConsentGranted', data: { subjectId: S, purpose: 'photo-restore', policyVersion: V2 } },
    ]);
  });

  it('given a withdrawn consent, when granted again, then ConsentGranted', () => {
    const state = given(granted('photo-restore'), { type: 'ConsentWithdrawn', data: { subjectId: S, purpose: 'photo-restore', policyVersion: V1 } });
    expect(decideGrantConsent(state, { purpose: 'photo-restore', policyVersion: V1 }, V1)).toHaveLength(1);
  });

  it('given an account being erased, then 401', () => {
    const state = given({ type: 'SubjectErasureStarted', data: { subjectId: S, receiptId: '22222222-2222-4222-8222-222222222222' } });
    expect(errorOf(() => decideGrantConsent(state, { purpose: 'photo-restore', policyVersion: V1 }, V1)).status).toBe(401);
    expect(errorOf(() => decideGrantConsent(foldSubject([]), { purpose: 'photo-restore', policyVersion: V1 }, V1)).status).toBe(401);
  });
});
