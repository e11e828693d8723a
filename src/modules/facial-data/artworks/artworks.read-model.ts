import { Inject, Injectable } from '@nestjs/common';
import type { Purpose } from '../../../events/purposes';
import { statements } from '../../../projections/projection';
import { ReadModels } from '../../../projections/read-models';

/** An artwork as the subject sees it in `GET /v1/artworks`. */
export interface ArtworkRecord {
  readonly artworkId: string;
  readonly jobId: string;
  readonly imageId: string;
  readonly purpose: Purpose;
  readonly status: 'stored' | 'deleted';
  readonly contentType: 'image/jpeg' | 'image/png';
  readonly width: number;
  readonly height: number;
  readonly createdAt: string;
}

interface ArtworkRow {
  readonly artwork_id: string;
  readonly job_id: string;
  readonly image_id: string;
  readonly purpose: Purpose;
  readonly status: 'stored' | 'deleted';
  readonly content_type: 'image/jpeg' | 'image/png';
  readonly width: number;
  readonly height: number;
  readonly created_at: string;
}

const COLUMNS = 'artwork_id, job_id, image_id, purpose, status, content_type, width, height, created_at';
const sql = statements({
  list: `SELECT ${COLUMNS} FROM artworks WHERE subject_id = ? ORDER BY created_at, artwork_id`,
  get: `SELECT ${COLUMNS} FROM artworks WHERE artwork_id = ? AND subject_id = ?`,
  status: 'SELECT status FROM artworks WHERE artwork_id = ? AND subject_id = ?',
});

function toRecord(row: ArtworkRow): ArtworkRecord {
  return {
    artworkId: row.artwork_id,
    jobId: row.job_id,
    imageId: row.image_id,
    purpose: row.purpose,
    status: row.status,
    contentType: row.content_type,
    width: row.width,
    height: row.height,
    createdAt: row.created_at,
  };
}

/** Queries over the artworks projection; only ever one subject's rows. */
@Injectable()
export class ArtworksReadModel {
  constructor(@Inject(ReadModels) private readonly readModels: ReadModels) {}

  list(subjectId: string): ArtworkRecord[] {
    const rows = sql(this.readModels.db).list.all(subjectId) as ArtworkRow[];
    return rows.map(toRecord);
  }

  /** Null for an unknown id and for another subject's artwork alike. */
  get(subjectId: string, artworkId: string): ArtworkRecord | null {
    const row = sql(this.readModels.db).get.get(artworkId, subjectId) as ArtworkRow | undefined;
    return row ? toRecord(row) : null;
  }

  /** Just the status (the content-read hot path); null for an unknown id and another subject's artwork alike. */
  status(subjectId: string, artworkId: string): ArtworkRecord['status'] | null {
    const row = sql(this.readModels.db).status.get(artworkId, subjectId) as { status: ArtworkRecord['status'] } | undefined;
    return row ? row.status : null;
  }
}
