import type { JsonObject } from '../../event-store/event-store.port';
import type { RetentionDurations, RetentionRuleName } from '../retention-rules';

/**
 * An independent re-derivation of every retention deadline from the raw log, for the
 * verification replay (POST /v1/audit/verifications): a pure fold over the events, sharing no
 * code or table with the retention ledger or the sweep. It recomputes when each item fell due and
 * reports what was deleted late and what is overdue now.
 */

/** The part of a stored event the replay reads. */
export interface ReplayedEvent {
  readonly id: string;
  readonly stream: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
  readonly created: Date;
}

export interface RetentionViolation {
  readonly [key: string]: string | number;
  readonly rule: RetentionRuleName | '*';
  readonly kind: 'deleted-late' | 'overdue' | 'truncated';
  readonly resource: string;
}

/** Violations listed at most (the rest are counted in a final `truncated` entry). */
export const MAX_LISTED_VIOLATIONS = 1_000;

interface ImageTrack {
  readonly subjectPurpose: string;
  readonly uploadSeq: number;
  clockMs: number;
  moved: boolean;
  deletedMs: number | null;
  deletedSeq: number | null;
}

interface TempTrack {
  readonly jobId: string;
  deletedMs: number | null;
}

interface LatePurge {
  readonly purgedAt: string;
  readonly entriesLate: number;
  readonly maxLatenessSeconds: number;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function timeOf(event: ReplayedEvent): number {
  const at = event.metadata.occurredAt;
  const ms = typeof at === 'string' ? Date.parse(at) : NaN;
  return Number.isFinite(ms) ? ms : event.created.getTime();
}

const iso = (ms: number) => new Date(ms).toISOString();
const lateSeconds = (ms: number) => Math.ceil(ms / 1000);

export class RetentionDeadlineReplay {
  private seq = 0;
  private readonly images = new Map<string, ImageTrack>();
  /** Interned `subjectId\0purpose` → its consent withdrawals (ms) and grants (null), in log order. */
  private readonly consentChanges = new Map<string, { seq: number; withdrawnMs: number | null }[]>();
  private readonly subjectPurposes = new Map<string, string>();
  private readonly temps = new Map<string, TempTrack>();
  private readonly jobEnds = new Map<string, number>();
  /** Operation-log entries still in the log: stream → their times. */
  private readonly oplog = new Map<string, number[]>();
  private maxPurgeCutoff = Number.NEGATIVE_INFINITY;
  private readonly latePurges: LatePurge[] = [];

  add(event: ReplayedEvent): void {
    const seq = ++this.seq;
    const data = event.data;
    switch (event.type) {
      case 'ImageUploaded': {
        const imageId = text(data.imageId);
        const subjectId = text(data.subjectId);
        const purpose = text(data.purpose);
        if (!imageId || !subjectId || !purpose || this.images.has(imageId)) return;
        this.images.set(imageId, { subjectPurpose: this.intern(subjectId, purpose), uploadSeq: seq, clockMs: timeOf(event), moved: false, deletedMs: null, deletedSeq: null });
        return;
      }
      case 'ImageDeleted': {
        const image = this.images.get(text(data.imageId) ?? '');
        if (image && image.deletedMs === null) {
          image.deletedMs = timeOf(event);
          image.deletedSeq = seq;
        }
        return;
      }
      case 'ConsentWithdrawn':
      case 'ConsentGranted': {
        const subjectId = text(data.subjectId);
        const purpose = text(data.purpose);
        if (!subjectId || !purpose) return;
        const key = this.intern(subjectId, purpose);
        const list = this.consentChanges.get(key) ?? [];
        list.push({ seq, withdrawnMs: event.type === 'ConsentWithdrawn' ? timeOf(event) : null });
        this.consentChanges.set(key, list);
        return;
      }
      case 'JobCompleted':
      case 'JobFailed':
      case 'JobCancelled': {
        const jobId = text(data.jobId);
        if (jobId && !this.jobEnds.has(jobId)) this.jobEnds.set(jobId, timeOf(event));
        if (event.type === 'JobCompleted') {
          const image = this.images.get(text(data.imageId) ?? '');
          if (image && image.deletedMs === null && !image.moved) {
            image.clockMs = timeOf(event);
            image.moved = true;
          }
        }
        return;
      }
      case 'TempFileCreated': {
        const key = text(data.objectKey);
        const jobId = text(data.jobId);
        if (key && jobId) this.temps.set(key, { jobId, deletedMs: null });
        return;
      }
      case 'TempFileDeleted': {
        const temp = this.temps.get(text(data.objectKey) ?? '');
        if (temp && temp.deletedMs === null) temp.deletedMs = timeOf(event);
        return;
      }
      case 'FaceDetectionLogged':
      case 'ProcessingLogged': {
        if (!event.stream.startsWith('oplog-')) return;
        const list = this.oplog.get(event.stream) ?? [];
        list.push(timeOf(event));
        this.oplog.set(event.stream, list);
        return;
      }
      case 'OperationLogsPurged': {
        const purgedAt = text(data.purgedAt);
        const purgedMs = purgedAt ? Date.parse(purgedAt) : NaN;
        if (!purgedAt || !Number.isFinite(purgedMs)) return;
        if (typeof data.maxAgeSeconds === 'number') this.maxPurgeCutoff = Math.max(this.maxPurgeCutoff, purgedMs - data.maxAgeSeconds * 1000);
        const late = typeof data.entriesLate === 'number' ? data.entriesLate : 0;
        if (late > 0) this.latePurges.push({ purgedAt, entriesLate: late, maxLatenessSeconds: typeof data.maxLatenessSeconds === 'number' ? data.maxLatenessSeconds : 0 });
        return;
      }
      case 'SubjectErased': {
        const subjectId = text(data.subjectId);
        if (subjectId && data.operationLogTombstoned === true) this.oplog.delete(`oplog-${subjectId}`);
        return;
      }
    }
  }

  /** Everything deleted late, and everything still held past its due time at `now`. */
  violations(now: Date, durations: RetentionDurations): RetentionViolation[] {
    const out: RetentionViolation[] = [];
    let omitted = 0;
    const report = (violation: RetentionViolation) => {
      if (out.length < MAX_LISTED_VIOLATIONS) out.push(violation);
      else omitted++;
    };
    const nowMs = now.getTime();
    const tolerance = durations.toleranceMs;
    const judge = (rule: RetentionRuleName, resource: string, dueMs: number, deletedMs: number | null) => {
      if (deletedMs !== null) {
        if (deletedMs - dueMs > tolerance) report({ rule, kind: 'deleted-late', resource, dueAt: iso(dueMs), deletedAt: iso(deletedMs), latenessSeconds: lateSeconds(deletedMs - dueMs) });
      } else if (nowMs - dueMs > tolerance) {
        report({ rule, kind: 'overdue', resource, dueAt: iso(dueMs), latenessSeconds: lateSeconds(nowMs - dueMs) });
      }
    };

    for (const [imageId, image] of this.images) {
      let dueMs = image.clockMs + durations.originalMs;
      const withdrawnMs = this.withdrawnWhileHeld(image);
      if (withdrawnMs !== null && withdrawnMs < dueMs) dueMs = withdrawnMs;
      judge('original-after-processing', `image:${imageId}`, dueMs, image.deletedMs);
    }

    for (const [objectKey, temp] of this.temps) {
      const endedMs = this.jobEnds.get(temp.jobId);
      if (endedMs === undefined) continue;
      judge('temp-files', `job:${temp.jobId}:${objectKey}`, endedMs + durations.tempFilesMs, temp.deletedMs);
    }

    for (const [stream, times] of this.oplog) {
      let count = 0;
      let oldest = Number.POSITIVE_INFINITY;
      for (const ms of times) {
        if (ms < this.maxPurgeCutoff) continue; // accounted for by a recorded purge
        if (nowMs - (ms + durations.oplogMs) > tolerance) {
          count++;
          oldest = Math.min(oldest, ms);
        }
      }
      if (count > 0) {
        const dueMs = oldest + durations.oplogMs;
        report({ rule: 'operation-logs', kind: 'overdue', resource: stream, entries: count, dueAt: iso(dueMs), latenessSeconds: lateSeconds(nowMs - dueMs) });
      }
    }
    for (const purge of this.latePurges) {
      report({ rule: 'operation-logs', kind: 'deleted-late', resource: 'retention', entries: purge.entriesLate, deletedAt: purge.purgedAt, latenessSeconds: purge.maxLatenessSeconds });
    }

    if (omitted > 0) out.push({ rule: '*', kind: 'truncated', resource: 'retention', omitted });
    return out;
  }

  /**
   * When the image's purpose lost its consent while the image was held (the first withdrawal after
   * the upload, unless consent was given again before the deletion), or null.
   */
  private withdrawnWhileHeld(image: ImageTrack): number | null {
    let withdrawnMs: number | null = null;
    for (const change of this.consentChanges.get(image.subjectPurpose) ?? []) {
      if (change.seq < image.uploadSeq) continue;
      if (image.deletedSeq !== null && change.seq > image.deletedSeq) break;
      if (change.withdrawnMs === null) withdrawnMs = null;
      else if (withdrawnMs === null) withdrawnMs = change.withdrawnMs;
    }
    return withdrawnMs;
  }

  private intern(subjectId: string, purpose: string): string {
    const key = `${subjectId}\u0000${purpose}`;
    const existing = this.subjectPurposes.get(key);
    if (existing !== undefined) return existing;
    this.subjectPurposes.set(key, key);
    return key;
  }
}

/** The whole derivation as one pure function (for tests and tools). */
export function deriveRetentionViolations(events: Iterable<ReplayedEvent>, durations: RetentionDurations, now: Date): RetentionViolation[] {
  const replay = new RetentionDeadlineReplay();
  for (const event of events) replay.add(event);
  return replay.violations(now, durations);
}
