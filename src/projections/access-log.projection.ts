import type { Projection } from './projection';
import { actorOf, appendedRows, occurredAt, str } from './projection';

/**
 * The event types that are a read of someone's facial content (or of their data as a whole):
 * views by the subject (`ImageViewed`, `ArtworkViewed`), hand-overs to a processor
 * (`DataDisclosedToProcessor`), exports (`DataExported`) and auditor reads about the subject
 * (`AuditorAccessed` with a subject id).
 */
export const ACCESS_EVENT_TYPES = ['ImageViewed', 'ArtworkViewed', 'DataDisclosedToProcessor', 'DataExported', 'AuditorAccessed'] as const;

/** One row per read, appended 40 to a statement through the applier's memo (as the history's). */
const rows = appendedRows({
  key: 'access-log',
  table: 'access_log',
  columns: ['commit_position', 'prepare_position', 'subject_id', 'event_id', 'at', 'actor', 'resource', 'purpose', 'type'],
  row: '(?, ?, ?, ?, ?, ?, ?, ?, ?)',
});

/**
 * Who read whose facial content, what, when and why: one row per read, `{ at, actor, resource,
 * purpose }`.
 * - views: the actor who viewed, `image:<id>` / `artwork:<id>`, the access purpose (`subject-view`,
 *   `data-export`, `processing`);
 * - disclosures: `processor:<name>` (the processor that received the original), `image:<id>`,
 *   the processing purpose;
 * - exports: the actor, `request:<id>`, `data-export`;
 * - auditor reads: `auditor:<name>`, `subject:<id>`, `audit`.
 * Nothing personal is stored (ids, actors, purposes, times).
 */
export const accessLogProjection: Projection = {
  name: 'access-log',
  version: 1,
  buildCost: 2.6,
  eventTypes: ACCESS_EVENT_TYPES,
  tables: [{ name: 'access_log', orderBy: 'commit_position, prepare_position' }],
  queryIndexes: [
    'CREATE INDEX IF NOT EXISTS access_log_by_subject ON access_log (subject_id, commit_position, prepare_position)',
    'CREATE INDEX IF NOT EXISTS access_log_by_actor ON access_log (actor, commit_position, prepare_position)',
  ],
  setup(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS access_log (
      commit_position INTEGER NOT NULL,
      prepare_position INTEGER NOT NULL,
      subject_id TEXT NOT NULL,
      event_id TEXT NOT NULL,
      at TEXT NOT NULL,
      actor TEXT NOT NULL,
      resource TEXT NOT NULL,
      purpose TEXT NOT NULL,
      type TEXT NOT NULL,
      UNIQUE (commit_position, prepare_position)
    )`);
  },
  apply(db, event, memo) {
    const data = event.data;
    const subjectId = str(data.subjectId);
    if (subjectId === null) return;
    let actor = actorOf(event);
    let resource: string | null;
    let purpose: string | null;
    switch (event.type) {
      case 'ImageViewed':
        resource = prefixed('image', data.imageId);
        purpose = str(data.purpose);
        break;
      case 'ArtworkViewed':
        resource = prefixed('artwork', data.artworkId);
        purpose = str(data.purpose);
        break;
      case 'DataDisclosedToProcessor': {
        const processor = str(data.processor);
        if (processor !== null) actor = `processor:${processor}`;
        resource = prefixed('image', data.imageId);
        purpose = str(data.purpose);
        break;
      }
      case 'DataExported':
        resource = prefixed('request', data.requestId);
        purpose = 'data-export';
        break;
      case 'AuditorAccessed':
        resource = `subject:${subjectId}`;
        purpose = 'audit';
        break;
      default:
        return;
    }
    if (resource === null || purpose === null) return;
    rows.add(db, memo, event.position.commit, event.position.prepare, subjectId, event.id, occurredAt(event), actor, resource, purpose, event.type);
  },
  flush(db, memo) {
    rows.write(db, memo);
  },
};

function prefixed(kind: string, id: unknown): string | null {
  return typeof id === 'string' ? `${kind}:${id}` : null;
}
