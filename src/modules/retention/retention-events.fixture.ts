/**
 * Stored-event builders for the retention specs (projection, verification check): valid payloads
 * of the catalogue, metadata as EventLog writes it, positions in call order.
 */
import type { JsonObject, StoredEvent } from '../event-store/event-store.port';

export const SUBJECT_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
export const SUBJECT_B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

export class RetentionEvents {
  private seq = 0;

  event(stream: string, type: string, data: JsonObject, at: string, id?: string): StoredEvent {
    const seq = ++this.seq;
    const subjectId = typeof data.subjectId === 'string' ? data.subjectId : null;
    return {
      id: id ?? `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
      stream,
      revision: 0n,
      position: { commit: BigInt(seq), prepare: BigInt(seq) },
      type,
      data,
      metadata: { occurredAt: at, actor: 'system:retention', correlationId: 'c', causationId: null, schemaVersion: 1, subjectId },
      created: new Date(at),
    };
  }

  uploaded(imageId: string, at: string, subjectId = SUBJECT_A, purpose = 'photo-enlarge'): StoredEvent {
    return this.event(
      `image-${imageId}`,
      'ImageUploaded',
      {
        imageId,
        subjectId,
        purpose,
        contentType: 'image/png',
        objectKey: `originals/${subjectId}/${imageId}`,
        size: 10,
        sha256: 'a'.repeat(64),
        width: 8,
        height: 8,
        faceCount: 1,
        faces: { $pii: 'ciphertext' },
      },
      at,
    );
  }

  imageDeleted(imageId: string, at: string, reason = 'user', extra: JsonObject = {}, subjectId = SUBJECT_A, purpose = 'photo-enlarge'): StoredEvent {
    return this.event(`image-${imageId}`, 'ImageDeleted', { imageId, subjectId, purpose, objectKey: `originals/${subjectId}/${imageId}`, reason, ...extra }, at);
  }

  jobEnded(type: 'JobCompleted' | 'JobFailed' | 'JobCancelled', jobId: string, imageId: string, at: string, subjectId = SUBJECT_A): StoredEvent {
    const base = { jobId, subjectId, imageId, purpose: 'photo-enlarge' };
    const data: JsonObject =
      type === 'JobCompleted'
        ? { ...base, artworkId: null, summary: {} }
        : type === 'JobFailed'
          ? { ...base, code: 'PROCESSING_FAILED', message: 'failed' }
          : { ...base, reason: 'original-deleted' };
    return this.event(`job-${jobId}`, type, data, at);
  }

  tempCreated(jobId: string, name: string, at: string, subjectId = SUBJECT_A): StoredEvent {
    return this.event(`job-${jobId}`, 'TempFileCreated', { jobId, subjectId, objectKey: `tmp/${subjectId}/${jobId}/${name}`, kind: 'input', size: 5 }, at);
  }

  tempDeleted(jobId: string, name: string, at: string, subjectId = SUBJECT_A): StoredEvent {
    return this.event(`job-${jobId}`, 'TempFileDeleted', { jobId, subjectId, objectKey: `tmp/${subjectId}/${jobId}/${name}`, reason: 'retention', rule: 'temp-files' }, at);
  }

  artworkGenerated(artworkId: string, jobId: string, imageId: string, at: string, subjectId = SUBJECT_A): StoredEvent {
    return this.event(
      `artwork-${artworkId}`,
      'ArtworkGenerated',
      {
        artworkId,
        subjectId,
        jobId,
        imageId,
        purpose: 'photo-enlarge',
        objectKey: `artworks/${subjectId}/${artworkId}`,
        contentType: 'image/png',
        size: 10,
        sha256: 'b'.repeat(64),
        width: 16,
        height: 16,
      },
      at,
    );
  }

  artworkDeleted(artworkId: string, at: string, subjectId = SUBJECT_A): StoredEvent {
    return this.event(`artwork-${artworkId}`, 'ArtworkDeleted', { artworkId, subjectId, purpose: 'photo-enlarge', objectKey: `artworks/${subjectId}/${artworkId}`, reason: 'user' }, at);
  }

  consentWithdrawn(at: string, subjectId = SUBJECT_A, purpose = 'photo-enlarge'): StoredEvent {
    return this.event(`subject-${subjectId}`, 'ConsentWithdrawn', { subjectId, purpose, policyVersion: '2025-06-24' }, at);
  }

  faceDetectionLogged(imageId: string, at: string, subjectId = SUBJECT_A, id?: string): StoredEvent {
    return this.event(`oplog-${subjectId}`, 'FaceDetectionLogged', { subjectId, imageId, purpose: 'photo-enlarge', faceCount: 1 }, at, id);
  }

  processingLogged(jobId: string, imageId: string, at: string, subjectId = SUBJECT_A): StoredEvent {
    return this.event(`oplog-${subjectId}`, 'ProcessingLogged', { subjectId, jobId, imageId, purpose: 'photo-enlarge', step: 'completed', durationMs: 5 }, at);
  }

  operationLogsPurged(purgedAt: string, maxAgeSeconds: number, removed: number, late = 0, maxLatenessSeconds = 0): StoredEvent {
    return this.event(
      `retention-${purgedAt.slice(0, 10)}`,
      'OperationLogsPurged',
      { purgedAt, entriesRemoved: removed, entriesLate: late, maxLatenessSeconds, mode: 'removed', maxAgeSeconds },
      purgedAt,
    );
  }

  subjectErased(at: string, subjectId = SUBJECT_A, operationLogTombstoned = true): StoredEvent {
    return this.event(
      `subject-${subjectId}`,
      'SubjectErased',
      {
        subjectId,
        receiptId: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc',
        erasedAt: at,
        objectsDeleted: 0,
        imagesDeleted: 0,
        artworksDeleted: 0,
        tempFilesDeleted: 0,
        exportsDeleted: 0,
        jobsCancelled: 0,
        keyDestroyed: true,
        operationLogTombstoned,
      },
      at,
    );
  }
}
