import type { Database } from 'better-sqlite3';
import type { Projection } from './projection';
import { insertFlatRows, memoRows, occurredAt, statements, str, valuesList } from './projection';

const REGISTER_COLUMNS = 3;
const REGISTER_ROW = `(?, 'active', ?, ?)`;
/** Registrations are written ROWS_PER_STATEMENT to a statement through the applier's memo. */
const ROWS_PER_STATEMENT = 40;
const MEMO_KEY = 'subjects';

/** Every subject's account state: the token guard reads it on every request. */
const sql = statements({
  register: `INSERT INTO subjects (subject_id, status, age_basis, registered_at) VALUES ${REGISTER_ROW}
             ON CONFLICT(subject_id) DO NOTHING`,
  registerMany: `INSERT INTO subjects (subject_id, status, age_basis, registered_at) VALUES ${valuesList(REGISTER_ROW, ROWS_PER_STATEMENT)}
                 ON CONFLICT(subject_id) DO NOTHING`,
  erasing: `UPDATE subjects SET status = 'erasing', receipt_id = ? WHERE subject_id = ? AND status = 'active'`,
  erased: `UPDATE subjects SET status = 'erased', erased_at = ?, receipt_id = ? WHERE subject_id = ?`,
});

export const subjectsProjection: Projection = {
  name: 'subjects',
  version: 1,
  buildCost: 3.6,
  eventTypes: ['SubjectRegistered', 'SubjectErasureStarted', 'SubjectErased'],
  tables: [{ name: 'subjects', orderBy: 'subject_id' }],
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
      // Without the applier's memo (a spec calling apply alone) the row is written at once.
      if (memo === undefined) {
        q.register.run(subjectId, str(event.data.ageBasis), occurredAt(event));
        return;
      }
      // Registrations not written yet: subject, age basis, time.
      const rows = memoRows(memo, MEMO_KEY);
      rows.push(subjectId, str(event.data.ageBasis), occurredAt(event));
      if (rows.length >= ROWS_PER_STATEMENT * REGISTER_COLUMNS) writeRegistrations(db, rows);
      return;
    }
    // An update of a subject whose registration is still in the memo writes the memo first.
    if (memo !== undefined) {
      const rows = memo.get(MEMO_KEY) as unknown[] | undefined;
      if (rows !== undefined && holdsSubject(rows, subjectId)) writeRegistrations(db, rows);
    }
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
    const rows = memo.get(MEMO_KEY) as unknown[] | undefined;
    if (rows) writeRegistrations(db, rows);
  },
};

function holdsSubject(rows: readonly unknown[], subjectId: string): boolean {
  for (let at = 0; at < rows.length; at += REGISTER_COLUMNS) if (rows[at] === subjectId) return true;
  return false;
}

function writeRegistrations(db: Database, rows: unknown[]): void {
  const q = sql(db);
  insertFlatRows(rows, REGISTER_COLUMNS, ROWS_PER_STATEMENT, q.registerMany, q.register);
}
