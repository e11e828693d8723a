import { SHREDDED } from '../../../events/schema';
import type { RecordedEvent } from '../../event-store/event-log';

/**
 * The binding of one device to a subject, folded from `device-<deviceHash>`. A device is bound by
 * `DeviceRegistered` and freed by `DeviceReleased` (its account was erased); it may then register
 * again, as a new subject.
 */
export interface DeviceState {
  readonly status: 'none' | 'registered' | 'released';
  /** The subject of the current (or last) binding. */
  readonly subjectId: string | null;
  /** scrypt hash of the secret of the current binding; null when released, SHREDDED after erasure. */
  readonly secretHash: string | null;
  /** How many times the device has been registered (bindings so far). */
  readonly registrations: number;
  /** The request hash an Idempotency-Key registration recorded with the current binding. */
  readonly requestHash: string | null;
}

export const initialDeviceState: DeviceState = { status: 'none', subjectId: null, secretHash: null, registrations: 0, requestHash: null };

export function evolveDevice(state: DeviceState, event: RecordedEvent): DeviceState {
  switch (event.type) {
    case 'DeviceRegistered':
      return {
        status: 'registered',
        subjectId: event.data.subjectId,
        secretHash: event.data.secretHash,
        registrations: state.registrations + 1,
        requestHash: typeof event.metadata.requestHash === 'string' ? event.metadata.requestHash : null,
      };
    case 'DeviceReleased':
      return { ...state, status: 'released', secretHash: null, requestHash: null };
    default:
      return state;
  }
}

export function foldDevice(events: readonly RecordedEvent[]): DeviceState {
  return events.reduce(evolveDevice, initialDeviceState);
}

/** The secret hash of a live binding, or null (none, released, or shredded by erasure). */
export function usableSecretHash(state: DeviceState): string | null {
  if (state.status !== 'registered' || state.secretHash === null || state.secretHash === SHREDDED) return null;
  return state.secretHash;
}
