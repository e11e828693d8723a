import type { Purpose } from '../../../events/purposes';
import type { SubjectState } from '../../consent/subject.state';

/**
 * Whether the originals of `purpose` must go now: consent to it was withdrawn and not given again
 * (an account being erased or erased is handled by the erasure). A consent that merely stopped
 * counting after a policy update is not a withdrawal. Pure.
 */
export function shouldDeleteAfterWithdrawal(state: SubjectState, purpose: Purpose): boolean {
  if (state.status !== 'active') return false;
  const consent = state.consents[purpose];
  return consent !== undefined && !consent.granted;
}
