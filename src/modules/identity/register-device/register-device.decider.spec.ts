import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { foldSubject } from '../../consent/subject.state';
import { history, type Given } from '../../consent/subject-history.fixture';
import { deterministicUuid } from '../../event-store/event-log';
import { foldDevice, usableSecretHash } from '../devices/device.state';
import { ageBasisOf, decideDeviceBinding, decideSubjectOpening, resolveBoundRegistration, type BindDevice } from './register-device.decider';

const HASH = 'a'.repeat(64);
const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';
const SECRET_HASH = 'scrypt$32768$8$1$c2FsdA$a2V5';
const device = (...given: Given[]) => foldDevice(history(`device-${HASH}`, given));
const subject = (...events: DomainEvent[]) => foldSubject(history(`subject-${S1}`, events));
const registeredTo = (subjectId: string, requestHash?: string): Given => ({
  event: { type: 'DeviceRegistered', data: { subjectId, deviceHash: HASH, secretHash: SECRET_HASH } },
  metadata: requestHash ? { requestHash } : {},
});
const released = (subjectId: string): DomainEvent => ({ type: 'DeviceReleased', data: { subjectId, deviceHash: HASH, reason: 'erasure' } });

const withoutKey: BindDevice = { deviceHash: HASH, secretHash: SECRET_HASH, subjectIdFor: () => S2, requestHash: null };
const withKey = (key: string, requestHash = 'hash-1'): BindDevice => ({
  deviceHash: HASH,
  secretHash: SECRET_HASH,
  subjectIdFor: (generation) => deterministicUuid('registered-subject', HASH, key, String(generation)),
  requestHash,
});

function errorOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('age basis', () => {
  it('an adult registers on their own confirmation; a minor with a guardian consent', () => {
    expect(ageBasisOf(true, undefined)).toBe('adult');
    expect(ageBasisOf(true, false)).toBe('adult');
    expect(ageBasisOf(false, true)).toBe('guardian');
  });

  it('a minor without a guardian consent is refused with 422 GUARDIAN_CONSENT_REQUIRED', () => {
    for (const guardianConsent of [undefined, false]) {
      expect(errorOf(() => ageBasisOf(false, guardianConsent))).toMatchObject({ code: 'GUARDIAN_CONSENT_REQUIRED', status: 422 });
    }
  });
});

describe('device binding (step a)', () => {
  it('given a new device, then DeviceRegistered binding it to the new subject, with only the secret hash', () => {
    expect(decideDeviceBinding(device(), withoutKey)).toEqual({
      kind: 'bind',
      subjectId: S2,
      events: [{ type: 'DeviceRegistered', data: { subjectId: S2, deviceHash: HASH, secretHash: SECRET_HASH } }],
    });
  });

  it('given a device bound to a subject, then it is bound (the caller decides between 409 and finishing)', () => {
    expect(decideDeviceBinding(device(registeredTo(S1)), withoutKey)).toEqual({ kind: 'bound', subjectId: S1 });
  });

  it('given a device released by an erasure, then it registers again as a NEW subject (the next generation)', () => {
    const state = device(registeredTo(S1), released(S1));
    expect(state).toMatchObject({ status: 'released', registrations: 1, secretHash: null });
    const decision = decideDeviceBinding(state, withKey('k1'));
    expect(decision.kind).toBe('bind');
    expect(decision.subjectId).toBe(deterministicUuid('registered-subject', HASH, 'k1', '1'));
    expect(decision.subjectId).not.toBe(deterministicUuid('registered-subject', HASH, 'k1', '0'));
  });

  it('given a binding made with the same Idempotency-Key and body, then a replay of it', () => {
    const first = decideDeviceBinding(device(), withKey('k1'));
    const state = device(registeredTo(first.subjectId, 'hash-1'));
    expect(decideDeviceBinding(state, withKey('k1'))).toEqual({ kind: 'replay', subjectId: first.subjectId });
  });

  it('given a binding made with the same Idempotency-Key and another body, then 422 IDEMPOTENCY_KEY_REUSED', () => {
    const first = decideDeviceBinding(device(), withKey('k1'));
    const state = device(registeredTo(first.subjectId, 'hash-1'));
    expect(errorOf(() => decideDeviceBinding(state, withKey('k1', 'hash-2')))).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
  });

  it('given a binding made without a key (or with another key), a keyed request is simply bound', () => {
    expect(decideDeviceBinding(device(registeredTo(S1)), withKey('k1'))).toEqual({ kind: 'bound', subjectId: S1 });
    const other = decideDeviceBinding(device(), withKey('k0'));
    expect(decideDeviceBinding(device(registeredTo(other.subjectId, 'hash-1')), withKey('k1'))).toEqual({ kind: 'bound', subjectId: other.subjectId });
  });

  it('the secret hash of a live binding is usable; not once released or shredded', () => {
    expect(usableSecretHash(device(registeredTo(S1)))).toBe(SECRET_HASH);
    expect(usableSecretHash(device(registeredTo(S1), released(S1)))).toBeNull();
    const shredded = foldDevice(history(`device-${HASH}`, [{ type: 'DeviceRegistered', data: { subjectId: S1, deviceHash: HASH, secretHash: '[shredded]' } }]));
    expect(usableSecretHash(shredded)).toBeNull();
    expect(usableSecretHash(device())).toBeNull();
  });
});

describe('a bound device (registration interrupted, duplicate, replay)', () => {
  const opened = subject(
    { type: 'SubjectRegistered', data: { subjectId: S1, deviceId: 'device-1', ageBasis: 'adult', policyVersion: '2025-06-24' } },
    { type: 'AdultConfirmed', data: { subjectId: S1 } },
  );
  const notOpened = subject();

  it('given the subject was never opened (crash between the appends), the same secret finishes the registration', () => {
    expect(resolveBoundRegistration({ kind: 'bound', subjectId: S1 }, notOpened, true)).toBe('complete');
  });

  it('given the subject was never opened, another secret gets 409 DEVICE_ALREADY_REGISTERED', () => {
    expect(errorOf(() => resolveBoundRegistration({ kind: 'bound', subjectId: S1 }, notOpened, false))).toMatchObject({ code: 'DEVICE_ALREADY_REGISTERED', status: 409 });
  });

  it('given an opened subject, then 409 DEVICE_ALREADY_REGISTERED, whatever the secret', () => {
    for (const matches of [true, false]) {
      expect(errorOf(() => resolveBoundRegistration({ kind: 'bound', subjectId: S1 }, opened, matches))).toMatchObject({ code: 'DEVICE_ALREADY_REGISTERED', status: 409 });
    }
  });

  it('a replay with the right secret answers (or finishes an interrupted registration); with another secret it is a different request', () => {
    expect(resolveBoundRegistration({ kind: 'replay', subjectId: S1 }, opened, true)).toBe('answer');
    expect(resolveBoundRegistration({ kind: 'replay', subjectId: S1 }, notOpened, true)).toBe('complete');
    expect(errorOf(() => resolveBoundRegistration({ kind: 'replay', subjectId: S1 }, opened, false))).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });
});

describe('subject opening (step b)', () => {
  it('given no subject stream, then SubjectRegistered and AdultConfirmed', () => {
    expect(decideSubjectOpening(subject(), { subjectId: S1, deviceId: 'device-1', ageBasis: 'adult', policyVersion: '2025-06-24' })).toEqual([
      { type: 'SubjectRegistered', data: { subjectId: S1, deviceId: 'device-1', ageBasis: 'adult', policyVersion: '2025-06-24' } },
      { type: 'AdultConfirmed', data: { subjectId: S1 } },
    ]);
  });

  it('for a minor, GuardianConsentRecorded', () => {
    expect(decideSubjectOpening(subject(), { subjectId: S1, deviceId: 'device-1', ageBasis: 'guardian', policyVersion: '2025-06-24' })).toEqual([
      { type: 'SubjectRegistered', data: { subjectId: S1, deviceId: 'device-1', ageBasis: 'guardian', policyVersion: '2025-06-24' } },
      { type: 'GuardianConsentRecorded', data: { subjectId: S1 } },
    ]);
  });

  it('given an opened subject, then nothing', () => {
    const opened = subject({ type: 'SubjectRegistered', data: { subjectId: S1, deviceId: 'device-1', ageBasis: 'adult', policyVersion: '2025-06-24' } });
    expect(decideSubjectOpening(opened, { subjectId: S1, deviceId: 'device-1', ageBasis: 'adult', policyVersion: '2025-06-24' })).toEqual([]);
  });
});
