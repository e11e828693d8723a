import type { Projection } from './projection';
import { jsonText, occurredAt, statements, str } from './projection';

/**
 * Every rights request: its type, status, deadline, overdue flag and answer, for the subject's
 * GET /v1/me/requests, the DPO's queue and GET /v1/audit/requests. Deadlines are the `dueAt` the
 * request was received with; "overdue" is set only by the RightsRequestOverdue event (the saga
 * compares with the clock, never this projection). Personal fields (the subject's `details`, a
 * rejection `reason`, the DPO's `note`) are kept as the log holds them, encrypted, with the id of
 * the event they belong to (their associated data); readers decrypt them, and they read
 * "[shredded]" once the subject's key is destroyed.
 */
const sql = statements({
  received: `INSERT INTO rights_requests (request_id, subject_id, type, resource, status, needs_decision, received_at, due_at, overdue,
               details, details_event_id, commit_position, prepare_position)
             VALUES (?, ?, ?, ?, 'received', ?, ?, ?, 0, ?, ?, ?, ?)
             ON CONFLICT(request_id) DO NOTHING`,
  started: `UPDATE rights_requests SET status = 'in-progress', step = ?, step_at = ? WHERE request_id = ? AND status IN ('received', 'in-progress')`,
  fulfilled: `UPDATE rights_requests SET status = 'fulfilled', decided_by = ?, decided_at = ?, outcome = ?, note = ?, note_event_id = ?
              WHERE request_id = ? AND status IN ('received', 'in-progress')`,
  rejected: `UPDATE rights_requests SET status = 'rejected', decided_by = ?, decided_at = ?, reason = ?, reason_event_id = ?
             WHERE request_id = ? AND status IN ('received', 'in-progress')`,
  overdue: `UPDATE rights_requests SET overdue = 1, overdue_at = ? WHERE request_id = ? AND overdue = 0`,
  exported: `UPDATE rights_requests SET exported_files = ? WHERE request_id = ?`,
});

export const requestsProjection: Projection = {
  name: 'requests',
  version: 1,
  buildCost: 8.6,
  eventTypes: ['RightsRequestReceived', 'RightsRequestProcessingStarted', 'RightsRequestFulfilled', 'RightsRequestRejected', 'RightsRequestOverdue', 'DataExported'],
  tables: [{ name: 'rights_requests', orderBy: 'request_id' }],
  queryIndexes: [
    'CREATE INDEX IF NOT EXISTS rights_requests_by_subject ON rights_requests (subject_id, commit_position, prepare_position)',
    'CREATE INDEX IF NOT EXISTS rights_requests_open ON rights_requests (status, due_at)',
    // The DPO's and the auditors' lists, in log order, all or of one status: read in that order
    // up to the page's end instead of sorting every request (of the status) at each call.
    'CREATE INDEX IF NOT EXISTS rights_requests_by_position ON rights_requests (commit_position, prepare_position)',
    'CREATE INDEX IF NOT EXISTS rights_requests_by_status ON rights_requests (status, commit_position, prepare_position)',
  ],
  setup(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS rights_requests (
      request_id TEXT PRIMARY KEY,
      subject_id TEXT NOT NULL,
      type TEXT NOT NULL,
      resource TEXT,
      status TEXT NOT NULL,
      needs_decision INTEGER NOT NULL,
      received_at TEXT NOT NULL,
      due_at TEXT NOT NULL,
      overdue INTEGER NOT NULL,
      overdue_at TEXT,
      step TEXT,
      step_at TEXT,
      decided_by TEXT,
      decided_at TEXT,
      outcome TEXT,
      details TEXT,
      details_event_id TEXT,
      reason TEXT,
      reason_event_id TEXT,
      note TEXT,
      note_event_id TEXT,
      exported_files INTEGER,
      commit_position INTEGER NOT NULL,
      prepare_position INTEGER NOT NULL
    )`);
  },
  apply(db, event) {
    const q = sql(db);
    const data = event.data;
    const requestId = str(data.requestId);
    if (!requestId) return;
    const at = occurredAt(event);
    switch (event.type) {
      case 'RightsRequestReceived': {
        const subjectId = str(data.subjectId);
        const type = str(data.type);
        const receivedAt = str(data.receivedAt);
        const dueAt = str(data.dueAt);
        if (!subjectId || !type || !receivedAt || !dueAt) return;
        const details = data.details === null || data.details === undefined ? null : jsonText(data.details);
        q.received.run(
          requestId,
          subjectId,
          type,
          str(data.resource),
          data.needsDecision === true ? 1 : 0,
          receivedAt,
          dueAt,
          details,
          details === null ? null : event.id,
          event.position.commit,
          event.position.prepare,
        );
        break;
      }
      case 'RightsRequestProcessingStarted':
        q.started.run(str(data.step), at, requestId);
        break;
      case 'RightsRequestFulfilled': {
        const note = data.note === null || data.note === undefined ? null : jsonText(data.note);
        const outcome = data.outcome !== null && typeof data.outcome === 'object' && !Array.isArray(data.outcome) ? JSON.stringify(data.outcome) : null;
        q.fulfilled.run(str(data.decidedBy), at, outcome, note, note === null ? null : event.id, requestId);
        break;
      }
      case 'RightsRequestRejected':
        q.rejected.run(str(data.decidedBy), at, jsonText(data.reason), event.id, requestId);
        break;
      case 'RightsRequestOverdue':
        q.overdue.run(str(data.detectedAt) ?? at, requestId);
        break;
      case 'DataExported':
        q.exported.run(Array.isArray(data.files) ? data.files.length : 0, requestId);
        break;
    }
  },
};
