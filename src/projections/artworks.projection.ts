import type { Projection } from './projection';
import { num, occurredAt, statements, str } from './projection';

/** Every artwork's non-personal facts, for `GET /v1/artworks`. */
const sql = statements({
  generated: `INSERT INTO artworks (artwork_id, subject_id, job_id, image_id, purpose, content_type, width, height, status, created_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'stored', ?)
              ON CONFLICT(artwork_id) DO NOTHING`,
  deleted: `UPDATE artworks SET status = 'deleted', deleted_at = ?, delete_reason = ?
            WHERE artwork_id = ? AND status = 'stored'`,
});

export const artworksProjection: Projection = {
  name: 'artworks',
  version: 1,
  buildCost: 5.5,
  eventTypes: ['ArtworkGenerated', 'ArtworkDeleted'],
  tables: [{ name: 'artworks', orderBy: 'artwork_id' }],
  queryIndexes: [
    'CREATE INDEX IF NOT EXISTS artworks_by_subject ON artworks (subject_id, created_at, artwork_id)',
  ],
  setup(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS artworks (
      artwork_id TEXT PRIMARY KEY,
      subject_id TEXT NOT NULL,
      job_id TEXT NOT NULL,
      image_id TEXT NOT NULL,
      purpose TEXT NOT NULL,
      content_type TEXT NOT NULL,
      width INTEGER NOT NULL,
      height INTEGER NOT NULL,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      deleted_at TEXT,
      delete_reason TEXT
    )`);
  },
  apply(db, event) {
    const q = sql(db);
    const artworkId = str(event.data.artworkId);
    if (!artworkId) return;
    const at = occurredAt(event);
    switch (event.type) {
      case 'ArtworkGenerated': {
        const subjectId = str(event.data.subjectId);
        const jobId = str(event.data.jobId);
        const imageId = str(event.data.imageId);
        const purpose = str(event.data.purpose);
        const contentType = str(event.data.contentType);
        const width = num(event.data.width);
        const height = num(event.data.height);
        if (!subjectId || !jobId || !imageId || !purpose || !contentType || width === null || height === null) return;
        q.generated.run(artworkId, subjectId, jobId, imageId, purpose, contentType, width, height, at);
        break;
      }
      case 'ArtworkDeleted':
        q.deleted.run(at, str(event.data.reason), artworkId);
        break;
    }
  },
};
