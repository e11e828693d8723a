import type { EventOfType } from '../../../events/event-registry';
import type { JobState } from '../../facial-data/jobs/job.state';
import { isOpen, type RequestState } from '../requests/request.state';
import { SYSTEM_RIGHTS } from '../submit-request/submit-request.decider';

export type CorrectionOutcome =
  /** The re-run has not ended yet (or may still be being queued): nothing to do now. */
  | { readonly kind: 'wait' }
  /** Completed: delete the superseded artwork (when there is one), then fulfil. */
  | { readonly kind: 'fulfil'; readonly supersededArtworkId: string | null; readonly event: EventOfType<'RightsRequestFulfilled'> }
  | { readonly kind: 'reject'; readonly event: EventOfType<'RightsRequestRejected'> };

export interface CorrectionClock {
  readonly now: Date;
  /** How long a request may sit in its `reprocess` step without a queued job before it is given up. */
  readonly graceMs: number;
  readonly stepStartedAt: string | null;
}

/**
 * The answer to a correction request whose job was re-run with corrected options, from the
 * request, the re-run job and the artwork of the job it corrects. Pure.
 */
export function decideCorrectionOutcome(request: RequestState, job: JobState, supersededArtworkId: string | null, clock: CorrectionClock): CorrectionOutcome {
  if (!isOpen(request) || request.requestId === null || request.subjectId === null) return { kind: 'wait' };
  const requestId = request.requestId;
  const subjectId = request.subjectId;
  const reject = (reason: string): CorrectionOutcome => ({
    kind: 'reject',
    event: { type: 'RightsRequestRejected', data: { requestId, subjectId, decidedBy: SYSTEM_RIGHTS, reason } },
  });
  switch (job.status) {
    case 'none': {
      const started = clock.stepStartedAt ? Date.parse(clock.stepStartedAt) : Number.NaN;
      if (Number.isNaN(started) || clock.now.getTime() - started < clock.graceMs) return { kind: 'wait' };
      return reject('The corrected processing could not be started. Please submit the correction again; the earlier result is kept.');
    }
    case 'queued':
    case 'running':
      return { kind: 'wait' };
    case 'completed': {
      const superseded = supersededArtworkId !== null && supersededArtworkId !== job.artworkId ? supersededArtworkId : null;
      const outcome: Record<string, string | number | boolean> = { action: 'reprocessed', jobId: job.jobId as string };
      if (job.correctionOf) outcome.correctedJobId = job.correctionOf;
      if (job.artworkId) outcome.artworkId = job.artworkId;
      if (superseded) outcome.supersededArtworkId = superseded;
      return {
        kind: 'fulfil',
        supersededArtworkId: superseded,
        event: { type: 'RightsRequestFulfilled', data: { requestId, subjectId, decidedBy: SYSTEM_RIGHTS, outcome, note: null } },
      };
    }
    case 'failed':
      return reject(`The corrected processing failed (${job.error?.code ?? 'UNKNOWN'}); the earlier result is kept.`);
    case 'cancelled':
      return reject(`The corrected processing was cancelled (${job.cancelReason ?? 'cancelled'}); the earlier result is kept.`);
  }
}
