import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../events';
import { history } from '../../consent/subject-history.fixture';
import { foldSubject } from '../../consent/subject.state';
import { shouldDeleteAfterWithdrawal } from './withdrawal-cascade.decider';

const S = '11111111-1111-4111-8111-111111111111';
const registered: DomainEvent = { type: 'SubjectRegistered', data: { subjectId: S, deviceId: 'd', ageBasis: 'adult', policyVersion: 'v1' } };
const grant = (policyVersion = 'v1'): DomainEvent => ({ type: 'ConsentGranted', data: { subjectId: S, purpose: 'ai-edit', policyVersion } });
const withdraw: DomainEvent = { type: 'ConsentWithdrawn', data: { subjectId: S, purpose: 'ai-edit', policyVersion: 'v1' } };
const given = (...events: DomainEvent[]) => foldSubject(history(`subject-${S}`, [registered, ...events]));

describe('withdrawal cascade', () => {
  it('given consent withdrawn, then the purpose’s originals go', () => {
    expect(shouldDeleteAfterWithdrawal(given(grant(), withdraw), 'ai-edit')).toBe(true);
  });

  it('given consent given again, never given, or only outdated by a new policy version, then they stay', () => {
    expect(shouldDeleteAfterWithdrawal(given(grant(), withdraw, grant()), 'ai-edit')).toBe(false);
    expect(shouldDeleteAfterWithdrawal(given(), 'ai-edit')).toBe(false);
    expect(shouldDeleteAfterWithdrawal(given(grant('v0')), 'ai-edit')).toBe(false);
    expect(shouldDeleteAfterWithdrawal(given(grant(), withdraw), 'photo-restore')).toBe(false);
  });

  it('given an account being erased, then the erasure deletes everything (nothing here)', () => {
    expect(shouldDeleteAfterWithdrawal(given(grant(), withdraw, { type: 'SubjectErasureStarted', data: { subjectId: S, receiptId: S } }), 'ai-edit')).toBe(false);
  });
});
