import type { DomainEvent, EventOfType } from '../../../events/event-registry';
import type { SubjectState } from '../../consent/subject.state';
import type { DeviceState } from '../devices/device.state';
import { deviceAlreadyRegistered, guardianConsentRequired, idempotencyKeyReused } from '../identity.errors';

export type AgeBasis = 'adult' | 'guardian';

/** Registration needs an adult's confirmation, or a guardian's consent for a minor (PIPL art. 31). */
export function ageBasisOf(isAdult: boolean, guardianConsent: boolean | undefined): AgeBasis {
  if (isAdult === true) return 'adult';
  if (guardianConsent === true) return 'guardian';
  throw guardianConsentRequired();
}

export interface BindDevice {
  readonly deviceHash: string;
  /** scrypt hash of the device secret (never the secret). */
  readonly secretHash: string;
  /**
   * The subject id registration number `generation` (0 = the device's first) gets: derived from the
   * Idempotency-Key when there is one, so a replay finds the same subject; fresh otherwise.
   */
  readonly subjectIdFor: (generation: number) => string;
  /** With an Idempotency-Key: the hash of the request (without the secret). */
  readonly requestHash: string | null;
}

export type DeviceDecision =
  /** The device is free (never registered, or released by an erasure): bind it to a new subject. */
  | { readonly kind: 'bind'; readonly subjectId: string; readonly events: readonly [EventOfType<'DeviceRegistered'>] }
  /** The same Idempotency-Key and body as the binding in place: a replay (the secret still has to match). */
  | { readonly kind: 'replay'; readonly subjectId: string }
  /** Bound by an earlier registration: refused, unless that one never opened its subject (see resolveBound). */
  | { readonly kind: 'bound'; readonly subjectId: string };

/** Step (a): the device stream decides uniqueness across instances. */
export function decideDeviceBinding(device: DeviceState, command: BindDevice): DeviceDecision {
  if (device.status === 'registered' && device.subjectId !== null) {
    if (command.requestHash !== null && command.subjectIdFor(device.registrations - 1) === device.subjectId) {
      if (device.requestHash !== command.requestHash) throw idempotencyKeyReused();
      return { kind: 'replay', subjectId: device.subjectId };
    }
    return { kind: 'bound', subjectId: device.subjectId };
  }
  const subjectId = command.subjectIdFor(device.registrations);
  return {
    kind: 'bind',
    subjectId,
    events: [{ type: 'DeviceRegistered', data: { subjectId, deviceHash: command.deviceHash, secretHash: command.secretHash } }],
  };
}

/**
 * A device bound to a subject whose stream was never opened (the registration stopped between
 * its two appends): the same device with the same secret may finish it; anyone else is refused.
 * A replay whose secret differs used the key for a different request.
 */
export function resolveBoundRegistration(
  decision: Exclude<DeviceDecision, { kind: 'bind' }>,
  subject: SubjectState,
  secretMatches: boolean,
): 'complete' | 'answer' {
  if (decision.kind === 'replay') {
    if (!secretMatches) throw idempotencyKeyReused();
    return subject.status === 'none' ? 'complete' : 'answer';
  }
  if (subject.status !== 'none' || !secretMatches) throw deviceAlreadyRegistered();
  return 'complete';
}

export interface OpenSubject {
  readonly subjectId: string;
  /** Personal: encrypted with the subject's key in the log. */
  readonly deviceId: string;
  readonly ageBasis: AgeBasis;
  readonly policyVersion: string;
}

/** Step (b): opens `subject-<id>` with the registration and the age basis; nothing when already open. */
export function decideSubjectOpening(subject: SubjectState, command: OpenSubject): DomainEvent[] {
  if (subject.status !== 'none') return [];
  const { subjectId } = command;
  return [
    { type: 'SubjectRegistered', data: { subjectId, deviceId: command.deviceId, ageBasis: command.ageBasis, policyVersion: command.policyVersion } },
    command.ageBasis === 'adult' ? { type: 'AdultConfirmed', data: { subjectId } } : { type: 'GuardianConsentRecorded', data: { subjectId } },
  ];
}
