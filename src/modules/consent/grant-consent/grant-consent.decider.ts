import type { EventOfType } from '../../../events/event-registry';
import type { Purpose } from '../../../events/purposes';
import { policyVersionMismatch, requireActiveSubject } from '../consent.rules';
import type { SubjectState } from '../subject.state';

export interface GrantConsent {
  readonly purpose: Purpose;
  readonly policyVersion: string;
}

/**
 * Separate consent per purpose, under the current policy version only (422
 * POLICY_VERSION_MISMATCH otherwise). Granting what already counts appends nothing; granting
 * again after a policy update (the old consent no longer counts) records the new version.
 */
export function decideGrantConsent(state: SubjectState, command: GrantConsent, currentPolicyVersion: string): EventOfType<'ConsentGranted'>[] {
  const subjectId = requireActiveSubject(state);
  if (command.policyVersion !== currentPolicyVersion) throw policyVersionMismatch(command.policyVersion, currentPolicyVersion);
  const consent = state.consents[command.purpose];
  if (consent?.granted && consent.policyVersion === command.policyVersion) return [];
  return [{ type: 'ConsentGranted', data: { subjectId, purpose: command.purpose, policyVersion: command.policyVersion } }];
}
