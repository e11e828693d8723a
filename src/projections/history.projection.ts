import { PURPOSES, resourceOf } from '../events';
import { isEncryptedField } from '../modules/crypto/field-cipher';
import type { Database } from 'better-sqlite3';
import type { JsonObject } from '../modules/event-store/event-store.port';
import type { Projection } from './projection';
import { actorOf, insertFlatRows, occurredAt, statements, valuesList } from './projection';

/**
 * The event types a subject's history shows: every action on their facial data and on the
 * account that holds it (registration, consent and restriction changes, uploads, views, every
 * job step, temporary files, disclosures to processors, deletions, rights requests and exports,
 * erasure) and every auditor read about them (the subject has a right to know who looked).
 *
 * Left out on purpose:
 * - `DeviceRegistered` / `DeviceReleased`: credentials (a secret hash) and a device hash, not actions
 *   on facial data.
 * - `FaceDetectionLogged` / `ProcessingLogged`: operation logs have their own 7-day retention and
 *   are physically purged; copying them here would keep them for ever (and a rebuild after a purge
 *   would no longer match). The same facts are in the job and image events, which are shown.
 * - `VerificationCompleted`, `OperationLogsPurged`: about no subject.
 */
export const HISTORY_EVENT_TYPES = [
  'SubjectRegistered',
  'AdultConfirmed',
  'GuardianConsentRecorded',
  'ConsentGranted',
  'ConsentWithdrawn',
  'ProcessingRestricted',
  'RestrictionLifted',
  'SubjectErasureStarted',
  'SubjectErased',
  'ImageUploaded',
  'ImageViewed',
  'ImageDeleted',
  'JobQueued',
  'JobStarted',
  'TempFileCreated',
  'TempFileDeleted',
  'DataDisclosedToProcessor',
  'JobCompleted',
  'JobFailed',
  'JobCancelled',
  'ArtworkGenerated',
  'ArtworkViewed',
  'ArtworkDeleted',
  'RightsRequestReceived',
  'RightsRequestProcessingStarted',
  'RightsRequestFulfilled',
  'RightsRequestRejected',
  'RightsRequestOverdue',
  'DataExported',
  'AuditorAccessed',
] as const;

/**
 * Never copied into `detail`: the owner (implied), storage internals (object keys and content
 * hashes: in the log for auditors), and identifiers that are not about facial data. A comparison
 * of names rather than a Set: the keys of a parsed event are interned strings, so each test is a
 * pointer comparison, where a Set hashes and probes for every key of every event.
 */
function alwaysOmitted(key: string): boolean {
  return key === 'subjectId' || key === 'objectKey' || key === 'sha256' || key === 'objectSha256';
}
const OMITTED: Readonly<Record<string, readonly string[]>> = {
  SubjectRegistered: ['deviceId'],
};

const PURPOSE_SET: ReadonlySet<string> = new Set(PURPOSES);

const COLUMNS = 'seq, prev_seq, subject_id, commit_position, prepare_position, event_id, at, type, resource, purpose, actor, detail';
const COLUMN_COUNT = 12;
const ROW = `(${valuesList('?', COLUMN_COUNT)})`;
const ROWS_PER_STATEMENT = 40;
/**
 * Rows kept before they are written (one statement's worth: rows kept longer only cost the young
 * generation's collections, which copy them), and subjects remembered before their latest rows
 * are written back.
 */
const MEMO_ROWS = ROWS_PER_STATEMENT;
const MEMO_SUBJECTS = 100_000;
const MEMO_KEY = 'history';

const sql = statements({
  last: `SELECT last_seq FROM history_subjects WHERE subject_id = ?`,
  setLast: `INSERT INTO history_subjects (subject_id, last_seq) VALUES (?, ?) ON CONFLICT(subject_id) DO UPDATE SET last_seq = excluded.last_seq`,
  maxSeq: `SELECT COALESCE(MAX(seq), 0) AS max FROM history`,
  insertOne: `INSERT INTO history (${COLUMNS}) VALUES ${ROW}`,
  insertMany: `INSERT INTO history (${COLUMNS}) VALUES ${valuesList(ROW, ROWS_PER_STATEMENT)}`,
});

/**
 * What `apply` keeps in the transaction's memo: the next `seq` (SQLite's own choice for an
 * INTEGER PRIMARY KEY, max + 1: rows are never deleted), each subject's latest row, and rows not
 * written yet (written ROWS_PER_STATEMENT to a statement: half the cost of one insert per row).
 */
interface HistoryMemo {
  next: number;
  /** Subject → its latest row: an object moved on in place, so an event costs one lookup. */
  readonly last: Map<string, { seq: number }>;
  readonly rows: unknown[];
}

/** The processing purpose an event is about: `purpose` when it is one, else `dataPurpose` (views). */
export function processingPurposeOf(data: JsonObject): string | null {
  const purpose = data.purpose;
  if (typeof purpose === 'string' && PURPOSE_SET.has(purpose)) return purpose;
  const dataPurpose = data.dataPurpose;
  if (typeof dataPurpose === 'string' && PURPOSE_SET.has(dataPurpose)) return dataPurpose;
  return null;
}

/**
 * Every subject's timeline, oldest first: `{ at, type, resource, purpose, actor, detail }` per
 * event. `detail` is the event's data without the subject id, the id `resource` already names,
 * object keys and content hashes; personal fields stay as the log holds them (encrypted with the
 * subject's key, the event id as associated data, kept in `event_id` for those rows only) and are
 * decrypted when read, so they read "[shredded]" once the key is destroyed while the record of
 * what was done stays. Only the owner's events: the owner is `data.subjectId` (else
 * `metadata.subjectId`).
 *
 * Layout for a log of millions of events: rows are appended in log order (`seq`), and each row
 * links to the same subject's previous row (`prev_seq`); `history_subjects` holds each subject's
 * latest row. A subject's history is read by walking that chain back. So an event costs an append
 * (through the applier's memo: rows are written ROWS_PER_STATEMENT at a time, and each subject's
 * latest row is written back once per transaction), and no index grows with the log: a random
 * index over every row is what made large rebuilds slow (every transaction rewrote its pages).
 */
export const historyProjection: Projection = {
  name: 'history',
  version: 2,
  buildCost: 5.0,
  eventTypes: HISTORY_EVENT_TYPES,
  tables: [
    { name: 'history_subjects', orderBy: 'subject_id' },
    { name: 'history', orderBy: 'seq' },
  ],
  setup(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS history_subjects (
      subject_id TEXT PRIMARY KEY,
      last_seq INTEGER NOT NULL
    ) WITHOUT ROWID`);
    db.exec(`CREATE TABLE IF NOT EXISTS history (
      seq INTEGER PRIMARY KEY,
      prev_seq INTEGER,
      subject_id TEXT NOT NULL,
      commit_position INTEGER NOT NULL,
      prepare_position INTEGER NOT NULL,
      event_id TEXT,
      at TEXT NOT NULL,
      type TEXT NOT NULL,
      resource TEXT NOT NULL,
      purpose TEXT,
      actor TEXT NOT NULL,
      detail TEXT NOT NULL
    )`);
  },
  apply(db, event, memo) {
    const data = event.data;
    const owner = typeof data.subjectId === 'string' ? data.subjectId : typeof event.metadata.subjectId === 'string' ? event.metadata.subjectId : null;
    if (owner === null) return;
    const q = sql(db);
    const omitted = OMITTED[event.type];
    const resource = resourceOf(event.type, data);
    // The id already named by `resource` (image:<imageId> …) is not repeated.
    const resourceId = resource.slice(resource.indexOf(':') + 1);
    const detail: JsonObject = {};
    let hasPersonal = false;
    for (const key in data) {
      if (alwaysOmitted(key) || (omitted !== undefined && omitted.includes(key))) continue;
      const value = data[key];
      if (value === resourceId && key.endsWith('Id')) continue;
      if (!hasPersonal && isEncryptedField(value)) hasPersonal = true;
      detail[key] = value;
    }
    const purpose = processingPurposeOf(data);
    const detailText = JSON.stringify(detail);
    const eventId = hasPersonal ? event.id : null;
    // Without the applier's memo (a spec calling apply alone) a memo of this event only, written at once.
    const m = memoOf(db, memo ?? new Map<string, unknown>());
    const seq = m.next++;
    const latest = m.last.get(owner);
    let previous: number | null;
    if (latest !== undefined) {
      previous = latest.seq;
      latest.seq = seq;
    } else {
      previous = (q.last.get(owner) as { last_seq: number } | undefined)?.last_seq ?? null;
      m.last.set(owner, { seq });
    }
    m.rows.push(seq, previous, owner, event.position.commit, event.position.prepare, eventId, occurredAt(event), event.type, resource, purpose, actorOf(event), detailText);
    if (memo === undefined) return writeLast(db, m);
    if (m.rows.length >= MEMO_ROWS * COLUMN_COUNT) writeRows(db, m);
    if (m.last.size >= MEMO_SUBJECTS) writeLast(db, m);
  },
  flush(db, memo) {
    const m = memo.get(MEMO_KEY) as HistoryMemo | undefined;
    if (m) writeLast(db, m);
  },
};

function memoOf(db: Database, memo: Map<string, unknown>): HistoryMemo {
  let m = memo.get(MEMO_KEY) as HistoryMemo | undefined;
  if (!m) {
    m = { next: (sql(db).maxSeq.get() as { max: number }).max + 1, last: new Map(), rows: [] };
    memo.set(MEMO_KEY, m);
  }
  return m;
}

function writeRows(db: Database, m: HistoryMemo): void {
  const q = sql(db);
  insertFlatRows(m.rows, COLUMN_COUNT, ROWS_PER_STATEMENT, q.insertMany, q.insertOne);
}

/** Writes back the latest row of every subject remembered (their rows are written first). */
function writeLast(db: Database, m: HistoryMemo): void {
  writeRows(db, m);
  const q = sql(db);
  for (const [owner, latest] of m.last) q.setLast.run(owner, latest.seq);
  m.last.clear();
}
