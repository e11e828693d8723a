import { defineEvent } from './define-event';
import { s } from './schema';

/** `audit-<YYYY-MM-DD>`: who watched what, and what verifications found. */
export const AuditorAccessed = defineEvent(
  'AuditorAccessed',
  'audit',
  {
    auditor: s.string({ min: 1, max: 128 }),
    endpoint: s.string({ max: 256 }),
    /** The query parameters of the read (ids and filters, never personal values). */
    query: s.scalarRecord(),
    subjectId: s.nullable(s.uuid()),
    resultCount: s.int({ min: 0 }),
  },
  { resourceOf: (d) => (d.subjectId ? `subject:${d.subjectId}` : 'audit') },
);

export const VerificationCompleted = defineEvent(
  'VerificationCompleted',
  'audit',
  {
    verificationId: s.uuid(),
    requestedBy: s.string({ max: 128 }),
    eventsReplayed: s.int({ min: 0 }),
    projectionsMatch: s.boolean(),
    mismatchCount: s.int({ min: 0 }),
    retentionViolationCount: s.int({ min: 0 }),
  },
  { resourceOf: () => 'audit' },
);

/** `retention-<YYYY-MM-DD>`: physical purges of expired operation logs (rule `operation-logs`). */
export const OperationLogsPurged = defineEvent(
  'OperationLogsPurged',
  'retention',
  {
    purgedAt: s.isoDate(),
    /** Expired log entries physically removed by this purge. */
    entriesRemoved: s.int({ min: 0 }),
    /** Of those, how many had been due for longer than the sweep interval allows. */
    entriesLate: s.int({ min: 0 }),
    maxLatenessSeconds: s.int({ min: 0 }),
    mode: s.enum(['removed', 'scavenge-started'] as const),
    /**
     * The `$maxAge` (seconds) the purge enforced: entries that occurred before `purgedAt` minus
     * this were purged. Lets the retention ledger drop exactly those rows, so a replay after the
     * purge (the entries are physically gone) gives the same read model.
     */
    maxAgeSeconds: s.optional(s.int({ min: 1 })),
  },
  { resourceOf: () => 'retention' },
);

export const auditEvents = { AuditorAccessed, VerificationCompleted, OperationLogsPurged } as const;
