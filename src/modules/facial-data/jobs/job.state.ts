import type { JobCancelReason } from '../../../events/facial-data.events';
import type { Purpose } from '../../../events/purposes';
import type { JsonValue } from '../../event-store/event-store.port';
import type { Shredded } from '../../../events/schema';
import type { RecordedEvent } from '../../event-store/event-log';

export type JobStatus = 'none' | 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** The processing job aggregate, folded from `job-<id>`. */
export interface JobState {
  readonly status: JobStatus;
  readonly jobId: string | null;
  readonly imageId: string | null;
  readonly subjectId: string | null;
  readonly purpose: Purpose | null;
  readonly options: JsonValue | Shredded;
  readonly correctionOf: string | null;
  readonly requestId: string | null;
  readonly queuedAt: string | null;
  readonly requestHash: string | null;
  readonly attempts: number;
  readonly leaseUntil: string | null;
  readonly worker: string | null;
  /** When the current (last) attempt started. */
  readonly startedAt: string | null;
  readonly artworkId: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly cancelReason: JobCancelReason | null;
  readonly endedAt: string | null;
  /** Temporary objects written and not yet deleted. */
  readonly liveTempFiles: readonly string[];
  readonly tempFilesCreated: number;
}

export const initialJobState: JobState = {
  status: 'none',
  jobId: null,
  imageId: null,
  subjectId: null,
  purpose: null,
  options: {},
  correctionOf: null,
  requestId: null,
  queuedAt: null,
  requestHash: null,
  attempts: 0,
  leaseUntil: null,
  worker: null,
  startedAt: null,
  artworkId: null,
  error: null,
  cancelReason: null,
  endedAt: null,
  liveTempFiles: [],
  tempFilesCreated: 0,
};

export function evolveJob(state: JobState, event: RecordedEvent): JobState {
  switch (event.type) {
    case 'JobQueued':
      return {
        ...state,
        status: 'queued',
        jobId: event.data.jobId,
        imageId: event.data.imageId,
        subjectId: event.data.subjectId,
        purpose: event.data.purpose,
        options: event.data.options,
        correctionOf: event.data.correctionOf ?? null,
        requestId: event.data.requestId ?? null,
        queuedAt: event.metadata.occurredAt,
        requestHash: typeof event.metadata.requestHash === 'string' ? event.metadata.requestHash : null,
      };
    case 'JobStarted':
      return {
        ...state,
        status: 'running',
        attempts: event.data.attempt,
        leaseUntil: event.data.leaseUntil,
        worker: event.data.worker,
        startedAt: event.metadata.occurredAt,
      };
    case 'TempFileCreated':
      return state.liveTempFiles.includes(event.data.objectKey)
        ? state
        : { ...state, liveTempFiles: [...state.liveTempFiles, event.data.objectKey], tempFilesCreated: state.tempFilesCreated + 1 };
    case 'TempFileDeleted':
      return { ...state, liveTempFiles: state.liveTempFiles.filter((key) => key !== event.data.objectKey) };
    case 'JobCompleted':
      return { ...state, status: 'completed', artworkId: event.data.artworkId, endedAt: event.metadata.occurredAt, leaseUntil: null };
    case 'JobFailed':
      return { ...state, status: 'failed', error: { code: event.data.code, message: event.data.message }, endedAt: event.metadata.occurredAt, leaseUntil: null };
    case 'JobCancelled':
      return { ...state, status: 'cancelled', cancelReason: event.data.reason, endedAt: event.metadata.occurredAt, leaseUntil: null };
    default:
      return state;
  }
}

export function foldJob(events: readonly RecordedEvent[]): JobState {
  return events.reduce(evolveJob, initialJobState);
}

export function isFinished(state: JobState): boolean {
  return state.status === 'completed' || state.status === 'failed' || state.status === 'cancelled';
}

/** Whether the job's lease has run out at `now` (a running job whose worker is presumed lost). */
export function isLeaseExpired(state: JobState, now: Date): boolean {
  return state.status === 'running' && (state.leaseUntil === null || Date.parse(state.leaseUntil) <= now.getTime());
}

/**
 * Whether a worker may take the job at `now`: queued, or running with an expired lease (its
 * worker died or gave the attempt up). Derived from the log only, so a restart loses nothing.
 */
export function isRunnable(state: JobState, now: Date): boolean {
  return state.status === 'queued' || isLeaseExpired(state, now);
}

/** Whether `worker` holds the lease of `attempt` (the state a worker checks before it records a result). */
export function holdsAttempt(state: JobState, worker: string, attempt: number): boolean {
  return state.status === 'running' && state.worker === worker && state.attempts === attempt;
}
