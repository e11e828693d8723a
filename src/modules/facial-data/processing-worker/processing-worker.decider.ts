import type { EventOfType, JobCancelReason } from '../../../events';
import { deterministicUuid } from '../../event-store/event-log';
import type { ConsentVerdict } from '../../consent/subject.state';
import type { ImageState } from '../images/image.state';
import { holdsAttempt, isLeaseExpired, isRunnable, type JobState } from '../jobs/job.state';

/** Code of a job whose worker vanished (crash, lost lease) on its last allowed attempt. */
export const WORKER_LOST = 'WORKER_LOST';

export interface ClaimContext {
  readonly now: Date;
  /** This worker's name (AppConfig.instanceId). */
  readonly worker: string;
  readonly leaseMs: number;
  readonly maxAttempts: number;
  /** The consent verdict for the job's purpose at this moment. */
  readonly consent: ConsentVerdict;
  readonly image: ImageState;
}

export type ClaimDecision =
  | { readonly kind: 'skip'; readonly why: 'not-runnable' }
  | { readonly kind: 'cancel'; readonly event: EventOfType<'JobCancelled'> }
  | { readonly kind: 'fail'; readonly event: EventOfType<'JobFailed'> }
  | { readonly kind: 'start'; readonly attempt: number; readonly event: EventOfType<'JobStarted'> };

/** Why a job is cancelled when consent is refused at the moment it would start. */
export function cancelReasonFor(verdict: Extract<ConsentVerdict, { allowed: false }>): JobCancelReason {
  switch (verdict.code) {
    case 'CONSENT_REQUIRED':
      return 'consent-withdrawn';
    case 'PURPOSE_RESTRICTED':
      return 'restricted';
    case 'SUBJECT_NOT_ACTIVE':
      return 'erasure';
  }
}

function base(job: JobState): { jobId: string; subjectId: string; imageId: string; purpose: NonNullable<JobState['purpose']> } {
  if (!job.jobId || !job.subjectId || !job.imageId || !job.purpose) throw new Error('job state without identity');
  return { jobId: job.jobId, subjectId: job.subjectId, imageId: job.imageId, purpose: job.purpose };
}

/**
 * What a worker does with a job it found runnable, decided from the job's stream at this moment:
 * - not runnable any more (finished, or running under a live lease): skip;
 * - consent withdrawn / purpose restricted / account erased now: JobCancelled;
 * - the original deleted: JobCancelled 'original-deleted';
 * - a lost worker's lease expired on the last allowed attempt: JobFailed WORKER_LOST;
 * - else JobStarted for the next attempt with a lease until now + leaseMs. Appended with the
 *   stream's expected revision, this is the claim: of two workers, only one succeeds.
 */
export function decideClaim(job: JobState, ctx: ClaimContext): ClaimDecision {
  if (!isRunnable(job, ctx.now)) return { kind: 'skip', why: 'not-runnable' };
  const ids = base(job);
  if (!ctx.consent.allowed) {
    return { kind: 'cancel', event: { type: 'JobCancelled', data: { ...ids, reason: cancelReasonFor(ctx.consent) } } };
  }
  if (!ctx.image.exists || ctx.image.deleted) {
    return { kind: 'cancel', event: { type: 'JobCancelled', data: { ...ids, reason: 'original-deleted' } } };
  }
  if (isLeaseExpired(job, ctx.now) && job.attempts >= ctx.maxAttempts) {
    return {
      kind: 'fail',
      event: {
        type: 'JobFailed',
        data: { ...ids, code: WORKER_LOST, message: `the worker of attempt ${job.attempts} stopped before finishing and no attempts are left (${ctx.maxAttempts} allowed)` },
      },
    };
  }
  const attempt = job.attempts + 1;
  return {
    kind: 'start',
    attempt,
    event: {
      type: 'JobStarted',
      data: { ...ids, attempt, worker: ctx.worker, leaseUntil: new Date(ctx.now.getTime() + ctx.leaseMs).toISOString() },
    },
  };
}

export interface AttemptError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

export type FailureDecision =
  | { readonly kind: 'retry-later' }
  | { readonly kind: 'discard' }
  | { readonly kind: 'fail'; readonly event: EventOfType<'JobFailed'> };

/**
 * An attempt failed. Retryable and attempts left: record nothing; the lease runs out and a worker
 * starts the next attempt (so the lease is also the back-off). Otherwise JobFailed with the code.
 * A worker that no longer holds the attempt (cancelled, taken over) records nothing.
 */
export function decideAttemptFailure(job: JobState, worker: string, attempt: number, error: AttemptError, maxAttempts: number): FailureDecision {
  if (!holdsAttempt(job, worker, attempt)) return { kind: 'discard' };
  if (error.retryable && attempt < maxAttempts) return { kind: 'retry-later' };
  return { kind: 'fail', event: { type: 'JobFailed', data: { ...base(job), code: error.code, message: error.message.slice(0, 512) } } };
}

export type CompletionDecision = { readonly kind: 'discard' } | { readonly kind: 'complete'; readonly event: EventOfType<'JobCompleted'> };

/** The attempt produced its result: JobCompleted, unless this worker no longer holds the attempt. */
export function decideCompletion(
  job: JobState,
  worker: string,
  attempt: number,
  result: { readonly artworkId: string | null; readonly summary: Readonly<Record<string, string | number | boolean>> },
): CompletionDecision {
  if (!holdsAttempt(job, worker, attempt)) return { kind: 'discard' };
  return { kind: 'complete', event: { type: 'JobCompleted', data: { ...base(job), artworkId: result.artworkId, summary: { ...result.summary } } } };
}

/**
 * The artwork id of an attempt: derived from the job and attempt, so a worker that restarts after
 * a crash between ArtworkGenerated and JobCompleted finds the artwork and completes with it.
 */
export function artworkIdFor(jobId: string, attempt: number): string {
  return deterministicUuid('artwork', jobId, String(attempt));
}

/** Names of intermediate temp objects: safe object-key characters, unique within the attempt, never `input`. */
export function tempNamesFor(names: readonly string[]): string[] {
  const used = new Set<string>(['input']);
  return names.map((name, index) => {
    let safe = name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z0-9]+/, '').replace(/\.{2,}/g, '.').slice(0, 80);
    if (!safe) safe = `intermediate-${index + 1}`;
    let candidate = safe;
    for (let n = 2; used.has(candidate); n++) candidate = `${safe}-${n}`;
    used.add(candidate);
    return candidate;
  });
}
