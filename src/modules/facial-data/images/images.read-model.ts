import { Inject, Injectable } from '@nestjs/common';
import type { Purpose } from '../../../events/purposes';
import { statements } from '../../../projections/projection';
import { ReadModels } from '../../../projections/read-models';
import { AppConfig } from '../../config/app-config';

/** An original as the subject sees it in `GET /v1/images`. */
export interface ImageRecord {
  readonly imageId: string;
  readonly status: 'stored' | 'deleted';
  readonly purpose: Purpose;
  readonly uploadedAt: string;
  /** Retention deadline of a stored original: its clock start plus RETENTION_ORIGINAL_MAX. */
  readonly deleteBy?: string;
}

interface ImageRow {
  readonly image_id: string;
  readonly status: 'stored' | 'deleted';
  readonly purpose: Purpose;
  readonly uploaded_at: string;
  readonly clock_start: string;
}

const COLUMNS = 'image_id, status, purpose, uploaded_at, clock_start';
const sql = statements({
  list: `SELECT ${COLUMNS} FROM images WHERE subject_id = ? ORDER BY uploaded_at, image_id`,
  get: `SELECT ${COLUMNS} FROM images WHERE image_id = ? AND subject_id = ?`,
  status: 'SELECT status FROM images WHERE image_id = ? AND subject_id = ?',
});

/** Queries over the images projection; only ever one subject's rows. */
@Injectable()
export class ImagesReadModel {
  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  list(subjectId: string): ImageRecord[] {
    const rows = sql(this.readModels.db).list.all(subjectId) as ImageRow[];
    return rows.map((row) => this.toRecord(row));
  }

  /** Null for an unknown id and for another subject's image alike. */
  get(subjectId: string, imageId: string): ImageRecord | null {
    const row = sql(this.readModels.db).get.get(imageId, subjectId) as ImageRow | undefined;
    return row ? this.toRecord(row) : null;
  }

  /** Just the status (the content-read hot path); null for an unknown id and another subject's image alike. */
  status(subjectId: string, imageId: string): ImageRecord['status'] | null {
    const row = sql(this.readModels.db).status.get(imageId, subjectId) as { status: ImageRecord['status'] } | undefined;
    return row ? row.status : null;
  }

  private toRecord(row: ImageRow): ImageRecord {
    const record: ImageRecord = { imageId: row.image_id, status: row.status, purpose: row.purpose, uploadedAt: row.uploaded_at };
    if (row.status !== 'stored') return record;
    const deleteBy = new Date(Date.parse(row.clock_start) + this.config.retention.originalMaxMs).toISOString();
    return { ...record, deleteBy };
  }
}
