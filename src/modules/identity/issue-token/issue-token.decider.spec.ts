import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { foldSubject } from '../../consent/subject.state';
import { history } from '../../consent/subject-history.fixture';
import { foldDevice } from '../devices/device.state';
import { decideTokenIssue } from './issue-token.decider';

const HASH = 'b'.repeat(64);
const S1 = '11111111-1111-4111-8111-111111111111';
const bound: DomainEvent = { type: 'DeviceRegistered', data: { subjectId: S1, deviceHash: HASH, secretHash: 'scrypt$32768$8$1$c2FsdA$a2V5' } };
const device = (...events: DomainEvent[]) => foldDevice(history(`device-${HASH}`, events));
const subject = (...events: DomainEvent[]) => foldSubject(history(`subject-${S1}`, events));
const opened: DomainEvent[] = [
  { type: 'SubjectRegistered', data: { subjectId: S1, deviceId: 'device-1', ageBasis: 'adult', policyVersion: '2025-06-24' } },
  { type: 'AdultConfirmed', data: { subjectId: S1 } },
];

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return `${error.status} ${error.code}`;
    throw error;
  }
  return 'no error';
}

describe('token issue', () => {
  it('a bound device of an active account with the right secret gets its subject', () => {
    expect(decideTokenIssue(device(bound), subject(...opened), true, true)).toBe(S1);
  });

  it('a wrong secret, an unknown device, a released device, an erased or unfinished account: the same 401 INVALID_CREDENTIALS', () => {
    const released: DomainEvent = { type: 'DeviceReleased', data: { subjectId: S1, deviceHash: HASH, reason: 'erasure' } };
    const erasing: DomainEvent = { type: 'SubjectErasureStarted', data: { subjectId: S1, receiptId: '22222222-2222-4222-8222-222222222222' } };
    const cases = [
      () => decideTokenIssue(device(bound), subject(...opened), false, true),
      () => decideTokenIssue(device(), subject(), false, false),
      () => decideTokenIssue(device(bound, released), subject(...opened), false, true),
      () => decideTokenIssue(device(bound), subject(...opened, erasing), true, true),
      () => decideTokenIssue(device(bound), subject(), true, true),
      () => decideTokenIssue(device(bound), subject(...opened), true, false),
    ];
    for (const attempt of cases) expect(codeOf(attempt)).toBe('401 INVALID_CREDENTIALS');
  });
});
