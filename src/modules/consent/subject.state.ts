import type { Purpose } from '../../events/purposes';
import type { RecordedEvent } from '../event-store/event-log';

export interface ConsentRecord {
  readonly granted: boolean;
  /** The policy version consented to (null when never granted). */
  readonly policyVersion: string | null;
  /** When it last changed. */
  readonly at: string;
}

/** The subject aggregate: account status, consent ledger and restrictions, folded from `subject-<id>`. */
export interface SubjectState {
  readonly subjectId: string | null;
  readonly status: 'none' | 'active' | 'erasing' | 'erased';
  readonly ageBasis: 'adult' | 'guardian' | null;
  readonly registeredAt: string | null;
  readonly consents: Readonly<Partial<Record<Purpose, ConsentRecord>>>;
  readonly restrictions: ReadonlySet<Purpose>;
  readonly erasureReceiptId: string | null;
}

export const initialSubjectState: SubjectState = {
  subjectId: null,
  status: 'none',
  ageBasis: null,
  registeredAt: null,
  consents: {},
  restrictions: new Set(),
  erasureReceiptId: null,
};

export function evolveSubject(state: SubjectState, event: RecordedEvent): SubjectState {
  const at = event.metadata.occurredAt;
  switch (event.type) {
    case 'SubjectRegistered':
      return { ...state, subjectId: event.data.subjectId, status: 'active', ageBasis: event.data.ageBasis, registeredAt: at };
    case 'ConsentGranted':
      return { ...state, consents: { ...state.consents, [event.data.purpose]: { granted: true, policyVersion: event.data.policyVersion, at } } };
    case 'ConsentWithdrawn':
      return {
        ...state,
        consents: { ...state.consents, [event.data.purpose]: { granted: false, policyVersion: state.consents[event.data.purpose]?.policyVersion ?? null, at } },
      };
    case 'ProcessingRestricted': {
      const restrictions = new Set(state.restrictions);
      restrictions.add(event.data.purpose);
      return { ...state, restrictions };
    }
    case 'RestrictionLifted': {
      const restrictions = new Set(state.restrictions);
      restrictions.delete(event.data.purpose);
      return { ...state, restrictions };
    }
    case 'SubjectErasureStarted':
      return { ...state, status: state.status === 'erased' ? 'erased' : 'erasing', erasureReceiptId: event.data.receiptId };
    case 'SubjectErased':
      return { ...state, status: 'erased', erasureReceiptId: event.data.receiptId };
    default:
      return state;
  }
}

export function foldSubject(events: readonly RecordedEvent[]): SubjectState {
  return events.reduce(evolveSubject, initialSubjectState);
}

export type ConsentVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly code: 'CONSENT_REQUIRED' | 'PURPOSE_RESTRICTED' | 'SUBJECT_NOT_ACTIVE'; readonly reason: string };

/**
 * May the subject's facial data be processed for `purpose` right now? Needs an active account,
 * a consent given under the current policy version (an older one stops counting when the policy
 * changes), and no restriction of that purpose. Checked at upload and again when a job starts.
 */
export function processingVerdict(state: SubjectState, purpose: Purpose, currentPolicyVersion: string): ConsentVerdict {
  if (state.status !== 'active') return { allowed: false, code: 'SUBJECT_NOT_ACTIVE', reason: 'The account is being erased or does not exist' };
  const consent = state.consents[purpose];
  if (!consent || !consent.granted) {
    return { allowed: false, code: 'CONSENT_REQUIRED', reason: `Separate consent to ${purpose} under policy version ${currentPolicyVersion} is required` };
  }
  if (consent.policyVersion !== currentPolicyVersion) {
    return {
      allowed: false,
      code: 'CONSENT_REQUIRED',
      reason: `The privacy policy changed: consent to ${purpose} was given under ${consent.policyVersion}; consent again under ${currentPolicyVersion}`,
    };
  }
  if (state.restrictions.has(purpose)) return { allowed: false, code: 'PURPOSE_RESTRICTED', reason: `Processing for ${purpose} is restricted by the subject` };
  return { allowed: true };
}
