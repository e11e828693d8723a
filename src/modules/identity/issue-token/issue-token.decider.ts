import type { SubjectState } from '../../consent/subject.state';
import type { DeviceState } from '../devices/device.state';
import { invalidCredentials } from '../identity.errors';

/**
 * Sign-in succeeds only for a device bound to an active account whose secret matched. A wrong
 * secret, an unknown device, a released one (erased account) or an account being erased all get
 * the same 401, so the answer does not tell which.
 */
export function decideTokenIssue(device: DeviceState, subject: SubjectState, secretMatches: boolean, subjectUsable: boolean): string {
  if (!secretMatches || device.status !== 'registered' || device.subjectId === null) throw invalidCredentials();
  if (subject.status !== 'active' || subject.subjectId !== device.subjectId || !subjectUsable) throw invalidCredentials();
  return device.subjectId;
}
