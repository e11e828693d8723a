import { unauthorized, unprocessable } from '../../common/errors/domain-error';
import type { SubjectState } from './subject.state';

/** Consent commands need an open account; an erased one (or one being erased) has a dead token. */
export function requireActiveSubject(state: SubjectState): string {
  if (state.status !== 'active' || state.subjectId === null) throw unauthorized('The token is invalid or expired');
  return state.subjectId;
}

/** Consent is given to the privacy policy in force, never to another version. */
export function policyVersionMismatch(given: string, current: string) {
  return unprocessable(
    'POLICY_VERSION_MISMATCH',
    `Consent can only be given under the current privacy policy version ${current} (got ${given.slice(0, 64)})`,
    { currentPolicyVersion: current },
  );
}
