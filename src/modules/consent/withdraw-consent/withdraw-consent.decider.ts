import type { EventOfType } from '../../../events/event-registry';
import type { Purpose } from '../../../events/purposes';
import { requireActiveSubject } from '../consent.rules';
import type { SubjectState } from '../subject.state';

/**
 * Withdrawal at any time (PIPL art. 15): records ConsentWithdrawn with the version the consent
 * was given under (also a consent that stopped counting after a policy update). Nothing to
 * withdraw appends nothing.
 */
export function decideWithdrawConsent(state: SubjectState, purpose: Purpose): EventOfType<'ConsentWithdrawn'>[] {
  const subjectId = requireActiveSubject(state);
  const consent = state.consents[purpose];
  if (!consent?.granted) return [];
  return [{ type: 'ConsentWithdrawn', data: { subjectId, purpose, policyVersion: consent.policyVersion } }];
}
