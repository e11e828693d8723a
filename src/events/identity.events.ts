import { defineEvent } from './define-event';
import { s } from './schema';

/** `subject-<subjectId>` and `device-<deviceHash>` streams. */
export const SubjectRegistered = defineEvent(
  'SubjectRegistered',
  'subject',
  {
    subjectId: s.uuid(),
    /** The device the account was opened on. Personal: encrypted. */
    deviceId: s.personal(s.string({ min: 1, max: 256 })),
    ageBasis: s.enum(['adult', 'guardian'] as const),
    policyVersion: s.string({ max: 64 }),
  },
  { resourceOf: (d) => `subject:${d.subjectId}` },
);

export const AdultConfirmed = defineEvent('AdultConfirmed', 'subject', { subjectId: s.uuid() }, { resourceOf: (d) => `subject:${d.subjectId}` });

export const GuardianConsentRecorded = defineEvent(
  'GuardianConsentRecorded',
  'subject',
  { subjectId: s.uuid() },
  { resourceOf: (d) => `subject:${d.subjectId}` },
);

/**
 * `device-<deviceHash>`: binds a device to a subject. deviceHash is a keyed hash (HMAC) of the
 * device id, so the stream name holds no personal data and registration is unique across instances
 * (optimistic concurrency on this stream).
 */
export const DeviceRegistered = defineEvent(
  'DeviceRegistered',
  'device',
  {
    subjectId: s.uuid(),
    deviceHash: s.string({ min: 16, max: 128 }),
    /** scrypt hash of the device secret. Encrypted, so erasure shreds it too. */
    secretHash: s.personal(s.string({ min: 1, max: 512 })),
  },
  { resourceOf: (d) => `subject:${d.subjectId}` },
);

/** Ends the binding (account erased): the same device may register again as a new subject. */
export const DeviceReleased = defineEvent(
  'DeviceReleased',
  'device',
  { subjectId: s.uuid(), deviceHash: s.string({ min: 16, max: 128 }), reason: s.enum(['erasure'] as const) },
  { resourceOf: (d) => `subject:${d.subjectId}` },
);

export const SubjectErasureStarted = defineEvent(
  'SubjectErasureStarted',
  'subject',
  { subjectId: s.uuid(), receiptId: s.uuid() },
  { resourceOf: (d) => `subject:${d.subjectId}` },
);

/** Proof of erasure. Holds no personal data: counts, times, the receipt id. */
export const SubjectErased = defineEvent(
  'SubjectErased',
  'subject',
  {
    subjectId: s.uuid(),
    receiptId: s.uuid(),
    erasedAt: s.isoDate(),
    objectsDeleted: s.int({ min: 0 }),
    imagesDeleted: s.int({ min: 0 }),
    artworksDeleted: s.int({ min: 0 }),
    tempFilesDeleted: s.int({ min: 0 }),
    exportsDeleted: s.int({ min: 0 }),
    jobsCancelled: s.int({ min: 0 }),
    keyDestroyed: s.literal(true),
    operationLogTombstoned: s.boolean(),
  },
  { resourceOf: (d) => `subject:${d.subjectId}` },
);

export const identityEvents = {
  SubjectRegistered,
  AdultConfirmed,
  GuardianConsentRecorded,
  DeviceRegistered,
  DeviceReleased,
  SubjectErasureStarted,
  SubjectErased,
} as const;
