import type { EventOfType } from '../../../events/event-registry';
import type { Purpose } from '../../../events/purposes';
import { requireActiveSubject } from '../consent.rules';
import type { SubjectState } from '../subject.state';

export interface SetRestriction {
  readonly purpose: Purpose;
  readonly restricted: boolean;
  /** The rights request this restriction answers, if any. */
  readonly requestId?: string | null;
}

/** Restrict or lift processing for a purpose; idempotent (the state asked for already holds: nothing appended). */
export function decideRestriction(
  state: SubjectState,
  command: SetRestriction,
): (EventOfType<'ProcessingRestricted'> | EventOfType<'RestrictionLifted'>)[] {
  const subjectId = requireActiveSubject(state);
  const restricted = state.restrictions.has(command.purpose);
  if (restricted === command.restricted) return [];
  return command.restricted
    ? [{ type: 'ProcessingRestricted', data: { subjectId, purpose: command.purpose, requestId: command.requestId ?? null } }]
    : [{ type: 'RestrictionLifted', data: { subjectId, purpose: command.purpose } }];
}
