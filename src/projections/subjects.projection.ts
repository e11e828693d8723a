import type { Projection } from './projection';
import { occurredAt, statements, str } from './projection';

/** Every subject's account state: the token guard reads it on every request. */
const sql = statements({
  register: `INSERT INTO subjects (subject_id, status, age_basis, registered_at) VALUES (?, 'active', ?, ?)
             ON CONFLICT(subject_id) DO NOTHING`,
  erasing: `UPDATE subjects SET status = 'erasing', receipt_id = ? WHERE subject_id = ? AND status = 'active'`,
  erased: `UPDATE subjects SET status = 'erased', erased_at = ?, receipt_id = ? WHERE subject_id = ?`,
});

export const subjectsProjection: Projection = {
  name: 'subjects',
  version: 1,
  buildCost: 4.7,
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
  apply(db, event) {
    const q = sql(db);
    const subjectId = str(event.data.subjectId);
    if (!subjectId) return;
    switch (event.type) {
      case 'SubjectRegistered':
        q.register.run(subjectId, str(event.data.ageBasis), occurredAt(event));
        break;
      case 'SubjectErasureStarted':
        q.erasing.run(str(event.data.receiptId), subjectId);
        break;
      case 'SubjectErased':
        q.erased.run(str(event.data.erasedAt) ?? occurredAt(event), str(event.data.receiptId), subjectId);
        break;
    }
  },
};
