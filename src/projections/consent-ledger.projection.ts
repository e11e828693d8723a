import type { Projection } from './projection';
import { occurredAt, statements, str } from './projection';

/**
 * The consent ledger: per subject and purpose, whether consent was given, under which policy
 * version, and when it last changed; and the processing restrictions. Whether a consent counts
 * *now* depends on the policy version in force, which is configuration: readers decide that, the
 * projection stays a pure function of the log. An erased account's rows are removed.
 */
const sql = statements({
  grant: `INSERT INTO consent_ledger (subject_id, purpose, granted, policy_version, at) VALUES (?, ?, 1, ?, ?)
          ON CONFLICT(subject_id, purpose) DO UPDATE SET granted = 1, policy_version = excluded.policy_version, at = excluded.at`,
  withdraw: `INSERT INTO consent_ledger (subject_id, purpose, granted, policy_version, at) VALUES (?, ?, 0, ?, ?)
             ON CONFLICT(subject_id, purpose) DO UPDATE SET granted = 0, policy_version = COALESCE(excluded.policy_version, consent_ledger.policy_version), at = excluded.at`,
  restrict: `INSERT INTO consent_restrictions (subject_id, purpose, restricted, at) VALUES (?, ?, ?, ?)
             ON CONFLICT(subject_id, purpose) DO UPDATE SET restricted = excluded.restricted, at = excluded.at`,
  eraseConsents: `DELETE FROM consent_ledger WHERE subject_id = ?`,
  eraseRestrictions: `DELETE FROM consent_restrictions WHERE subject_id = ?`,
});

export const consentLedgerProjection: Projection = {
  name: 'consent-ledger',
  version: 1,
  buildCost: 4.5,
  eventTypes: ['ConsentGranted', 'ConsentWithdrawn', 'ProcessingRestricted', 'RestrictionLifted', 'SubjectErased'],
  tables: [
    { name: 'consent_ledger', orderBy: 'subject_id, purpose' },
    { name: 'consent_restrictions', orderBy: 'subject_id, purpose' },
  ],
  setup(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS consent_ledger (
      subject_id TEXT NOT NULL,
      purpose TEXT NOT NULL,
      granted INTEGER NOT NULL,
      policy_version TEXT,
      at TEXT NOT NULL,
      PRIMARY KEY (subject_id, purpose)
    ) WITHOUT ROWID`);
    db.exec(`CREATE TABLE IF NOT EXISTS consent_restrictions (
      subject_id TEXT NOT NULL,
      purpose TEXT NOT NULL,
      restricted INTEGER NOT NULL,
      at TEXT NOT NULL,
      PRIMARY KEY (subject_id, purpose)
    ) WITHOUT ROWID`);
  },
  apply(db, event) {
    const q = sql(db);
    const subjectId = str(event.data.subjectId);
    if (!subjectId) return;
    if (event.type === 'SubjectErased') {
      q.eraseConsents.run(subjectId);
      q.eraseRestrictions.run(subjectId);
      return;
    }
    const purpose = str(event.data.purpose);
    if (!purpose) return;
    const at = occurredAt(event);
    switch (event.type) {
      case 'ConsentGranted': {
        const version = str(event.data.policyVersion);
        if (version) q.grant.run(subjectId, purpose, version, at);
        break;
      }
      case 'ConsentWithdrawn':
        q.withdraw.run(subjectId, purpose, str(event.data.policyVersion), at);
        break;
      case 'ProcessingRestricted':
        q.restrict.run(subjectId, purpose, 1, at);
        break;
      case 'RestrictionLifted':
        q.restrict.run(subjectId, purpose, 0, at);
        break;
    }
  },
};
