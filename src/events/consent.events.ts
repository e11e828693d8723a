import { defineEvent } from './define-event';
import { PURPOSES } from './purposes';
import { s } from './schema';

/** Consent and restriction live in `subject-<subjectId>`, one ledger per subject and purpose. */
export const ConsentGranted = defineEvent(
  'ConsentGranted',
  'subject',
  { subjectId: s.uuid(), purpose: s.enum(PURPOSES), policyVersion: s.string({ min: 1, max: 64 }) },
  { resourceOf: (d) => `consent:${d.purpose}` },
);

export const ConsentWithdrawn = defineEvent(
  'ConsentWithdrawn',
  'subject',
  { subjectId: s.uuid(), purpose: s.enum(PURPOSES), policyVersion: s.nullable(s.string({ max: 64 })) },
  { resourceOf: (d) => `consent:${d.purpose}` },
);

export const ProcessingRestricted = defineEvent(
  'ProcessingRestricted',
  'subject',
  { subjectId: s.uuid(), purpose: s.enum(PURPOSES), requestId: s.nullable(s.uuid()) },
  { resourceOf: (d) => `restriction:${d.purpose}` },
);

export const RestrictionLifted = defineEvent(
  'RestrictionLifted',
  'subject',
  { subjectId: s.uuid(), purpose: s.enum(PURPOSES) },
  { resourceOf: (d) => `restriction:${d.purpose}` },
);

export const consentEvents = { ConsentGranted, ConsentWithdrawn, ProcessingRestricted, RestrictionLifted } as const;
