import type { Projection } from './projection';
import { appendedRows, occurredAt, statements, str } from './projection';

/** Registrations, appended 40 to a statement through the applier's memo. */
const registrations = appendedRows({
  key: 'subjects',
  table: 'subjects',
  columns: ['subject_id', 'status', 'age_basis', 'registered_at'],
  row: `(?, 'active', ?, ?)`,
  tail: 'ON CONFLICT(subject_id) DO NOTHING',
});

const sql = statements({
  erasing: `UPDATE subjects SET status = 'erasing', receipt_id = ? WHERE subject_id = ? AND status = 'active'`,
  erased: `UPDATE subjects SET status = 'erased', erased_at = ?, receipt_id = ? WHERE subject_id = ?`,
});

/** Every subject's account state: the token guard reads it on every request. */
export const subjectsProjection: Projection = {
  name: 'subjects',
  version: 1,
  buildCost: 3.6,
  eventTypes: ['SubjectRegistered', 'SubjectErasureStarted', 'SubjectErased'],
  tables: [{ name: 'subjects', orderBy: 'subject_id' }],
  queryIndexes: [
    // The erasure recovery sweep's list (erasures started and not finished): partial, so it holds
    // only the few subjects being erased, and the sweep no longer reads every subject's row.
    `CREATE INDEX IF NOT EXISTS subjects_erasing ON subjects (subject_id) WHERE status = 'erasing'`,
  ],
  setup(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS subjects (
      subject_id TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      age_basis TEXT,
      registered_at TEXT NOT NULL,
      erased_at TEXT,
      receipt_id TEXT
    )`);
  },
  apply(db, event, memo) {
    const q = sql(db);
    const subjectId = str(event.data.subjectId);
    if (!subjectId) return;
    if (event.type === 'SubjectRegistered') {
      registrations.add(db, memo, subjectId, str(event.data.ageBasis), occurredAt(event));
      return;
    }
    // An update of a subject whose registration is still in the memo writes the memo first.
    if (memo !== undefined && holdsSubject(registrations.pending(memo), subjectId)) registrations.write(db, memo);
    switch (event.type) {
      case 'SubjectErasureStarted':
        q.erasing.run(str(event.data.receiptId), subjectId);
        break;
      case 'SubjectErased':
        q.erased.run(str(event.data.erasedAt) ?? occurredAt(event), str(event.data.receiptId), subjectId);
        break;
    }
  },
  flush(db, memo) {
    registrations.write(db, memo);
  },
};

/** Whether the pending registrations (subject, age basis, time) hold this subject. */
function holdsSubject(rows: readonly unknown[], subjectId: string): boolean {
  for (let at = 0; at < rows.length; at += 3) if (rows[at] === subjectId) return true;
  return false;
}
