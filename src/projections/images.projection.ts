import type { Projection } from './projection';
import { occurredAt, statements, str } from './projection';

/**
 * Every original's non-personal facts, for `GET /v1/images`: owner, purpose, status, upload time
 * and the start of its retention clock (`clock_start`: the upload, moved to the first completed
 * job of the image). The deadline itself (`clock_start` + RETENTION_ORIGINAL_MAX) is added by the
 * query, so this projection stays a pure function of the log. No face geometry, no bytes.
 */
const sql = statements({
  upload: `INSERT INTO images (image_id, subject_id, purpose, content_type, status, uploaded_at, clock_start)
           VALUES (?, ?, ?, ?, 'stored', ?, ?)
           ON CONFLICT(image_id) DO NOTHING`,
  firstJobCompleted: `UPDATE images SET clock_start = ?, first_job_completed_at = ?
                      WHERE image_id = ? AND first_job_completed_at IS NULL`,
  deleted: `UPDATE images SET status = 'deleted', deleted_at = ?, delete_reason = ?
            WHERE image_id = ? AND status = 'stored'`,
});

export const imagesProjection: Projection = {
  name: 'images',
  version: 1,
  buildCost: 5.0,
  eventTypes: ['ImageUploaded', 'JobCompleted', 'ImageDeleted'],
  tables: [{ name: 'images', orderBy: 'image_id' }],
  queryIndexes: [
    'CREATE INDEX IF NOT EXISTS images_by_subject ON images (subject_id, uploaded_at, image_id)',
  ],
  setup(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS images (
      image_id TEXT PRIMARY KEY,
      subject_id TEXT NOT NULL,
      purpose TEXT NOT NULL,
      content_type TEXT NOT NULL,
      status TEXT NOT NULL,
      uploaded_at TEXT NOT NULL,
      clock_start TEXT NOT NULL,
      first_job_completed_at TEXT,
      deleted_at TEXT,
      delete_reason TEXT
    )`);
  },
  apply(db, event) {
    const q = sql(db);
    const imageId = str(event.data.imageId);
    if (!imageId) return;
    const at = occurredAt(event);
    switch (event.type) {
      case 'ImageUploaded': {
        const subjectId = str(event.data.subjectId);
        const purpose = str(event.data.purpose);
        const contentType = str(event.data.contentType);
        if (!subjectId || !purpose || !contentType) return;
        q.upload.run(imageId, subjectId, purpose, contentType, at, at);
        break;
      }
      case 'JobCompleted':
        q.firstJobCompleted.run(at, at, imageId);
        break;
      case 'ImageDeleted':
        q.deleted.run(at, str(event.data.reason), imageId);
        break;
    }
  },
};
