import { Inject, Injectable } from '@nestjs/common';
import type { Purpose } from '../../../events/purposes';
import { statements } from '../../../projections/projection';
import { ReadModels } from '../../../projections/read-models';

/**
 * Read-only questions over the other contexts' read models (images, artworks, jobs, subjects) that erasure and the withdrawal cascade ask: which of a subject's resources are
 * still held, and what the log says was deleted on erasure. Candidates only: every writer decides
 * again from the resource's own stream. Their SQL is exported for the query-plan spec
 * (test/projections/read-model-query-plans.spec.ts): each is answered by a search, not by reading a
 * whole table.
 */
export const SUBJECT_DATA_SQL = {
  storedImages: `SELECT image_id FROM images WHERE subject_id = ? AND status = 'stored' ORDER BY uploaded_at, image_id`,
  storedImagesOfPurpose: `SELECT image_id FROM images WHERE subject_id = ? AND purpose = ? AND status = 'stored' ORDER BY uploaded_at, image_id`,
  storedArtworks: `SELECT artwork_id FROM artworks WHERE subject_id = ? AND status = 'stored' ORDER BY created_at, artwork_id`,
  jobsWithLiveTemp: `SELECT DISTINCT job_id FROM job_temp_files WHERE subject_id = ? AND deleted_at IS NULL ORDER BY job_id`,
  imagesErased: `SELECT COUNT(*) FROM images WHERE subject_id = ? AND delete_reason = 'erasure'`,
  artworksErased: `SELECT COUNT(*) FROM artworks WHERE subject_id = ? AND delete_reason = 'erasure'`,
  tempErased: `SELECT COUNT(*) FROM job_temp_files WHERE subject_id = ? AND deleted_reason = 'erasure'`,
  jobsCancelled: `SELECT COUNT(*) FROM jobs WHERE subject_id = ? AND cancel_reason = 'erasure'`,
  erasing: `SELECT subject_id FROM subjects WHERE status = 'erasing' ORDER BY subject_id LIMIT ?`,
} as const;
const sql = statements(SUBJECT_DATA_SQL);

@Injectable()
export class SubjectDataReadModel {
  constructor(@Inject(ReadModels) private readonly readModels: ReadModels) {}

  private get q() {
    return sql(this.readModels.db);
  }

  storedImages(subjectId: string): string[] {
    return this.q.storedImages.pluck().all(subjectId) as string[];
  }

  storedImagesOfPurpose(subjectId: string, purpose: Purpose): string[] {
    return this.q.storedImagesOfPurpose.pluck().all(subjectId, purpose) as string[];
  }

  storedArtworks(subjectId: string): string[] {
    return this.q.storedArtworks.pluck().all(subjectId) as string[];
  }

  jobsWithLiveTempFiles(subjectId: string): string[] {
    return this.q.jobsWithLiveTemp.pluck().all(subjectId) as string[];
  }

  /** What the log records as removed by the subject's erasure (ImageDeleted / ArtworkDeleted / TempFileDeleted reason erasure, JobCancelled reason erasure). */
  erasedCounts(subjectId: string): { images: number; artworks: number; tempFiles: number; jobsCancelled: number } {
    const count = (statement: 'imagesErased' | 'artworksErased' | 'tempErased' | 'jobsCancelled') => Number(this.q[statement].pluck().get(subjectId));
    return { images: count('imagesErased'), artworks: count('artworksErased'), tempFiles: count('tempErased'), jobsCancelled: count('jobsCancelled') };
  }

  /** Subjects whose erasure started and has not finished (the recovery sweep's work list). */
  erasingSubjects(limit = 1000): string[] {
    return this.q.erasing.pluck().all(limit) as string[];
  }
}
