import { unauthorized } from '../../../common/errors/domain-error';
import type { EventDataOf, EventOfType } from '../../../events/event-registry';
import type { DeviceState } from '../../identity/devices/device.state';
import type { JobState } from '../../facial-data/jobs/job.state';
import type { ErasureState } from './erasure.state';

/** What DELETE /v1/me answers: proof of erasure with no personal data. */
export interface ErasureReceipt {
  readonly subjectId: string;
  readonly erasedAt: string;
  readonly objectsDeleted: number;
  readonly keyDestroyed: true;
  readonly receiptId: string;
}

export type ErasureStart =
  /** Record SubjectErasureStarted, then carry out every step. */
  | { readonly kind: 'start'; readonly receiptId: string; readonly event: EventOfType<'SubjectErasureStarted'> }
  /** Started earlier (a crash, a concurrent call, another instance): carry out the steps again (each is idempotent). */
  | { readonly kind: 'resume'; readonly receiptId: string }
  /** Already erased: answer the receipt on record. */
  | { readonly kind: 'done'; readonly receipt: ErasureReceipt };

/** Step (a): erasure starts once; a second call resumes it or answers the existing receipt. 401 for an unknown account. */
export function decideErasureStart(state: ErasureState, newReceiptId: string): ErasureStart {
  switch (state.status) {
    case 'none':
      throw unauthorized('The token is invalid or expired');
    case 'active': {
      const subjectId = state.subjectId as string;
      return { kind: 'start', receiptId: newReceiptId, event: { type: 'SubjectErasureStarted', data: { subjectId, receiptId: newReceiptId } } };
    }
    case 'erasing':
      return { kind: 'resume', receiptId: state.receiptId as string };
    case 'erased':
      return { kind: 'done', receipt: receiptOf(state.erased as EventDataOf<'SubjectErased'>) };
  }
}

export function receiptOf(erased: EventDataOf<'SubjectErased'>): ErasureReceipt {
  return { subjectId: erased.subjectId, erasedAt: erased.erasedAt, objectsDeleted: erased.objectsDeleted, keyDestroyed: true, receiptId: erased.receiptId };
}

export interface ErasureCounts {
  readonly imagesDeleted: number;
  readonly artworksDeleted: number;
  readonly tempFilesDeleted: number;
  readonly exportsDeleted: number;
  /** Objects under the subject's prefixes with no record of their own (leftovers, exports), removed by the prefix sweep. */
  readonly otherObjectsDeleted: number;
  readonly jobsCancelled: number;
  readonly operationLogTombstoned: boolean;
}

/**
 * Step (g): the proof, appended once at the subject stream's revision (two concurrent erasures:
 * one appends, the other finds it and answers the same receipt). Counts and times only.
 */
export function decideErasureFinish(
  state: ErasureState,
  counts: ErasureCounts,
  erasedAt: Date,
): { readonly events: EventOfType<'SubjectErased'>[]; readonly receipt: ErasureReceipt } {
  if (state.status === 'erased' && state.erased) return { events: [], receipt: receiptOf(state.erased) };
  if (state.status !== 'erasing' || state.subjectId === null || state.receiptId === null) {
    throw new Error(`decideErasureFinish: the erasure of this subject has not started (status ${state.status})`);
  }
  const data: EventDataOf<'SubjectErased'> = {
    subjectId: state.subjectId,
    receiptId: state.receiptId,
    erasedAt: erasedAt.toISOString(),
    objectsDeleted: counts.imagesDeleted + counts.artworksDeleted + counts.tempFilesDeleted + counts.otherObjectsDeleted,
    imagesDeleted: counts.imagesDeleted,
    artworksDeleted: counts.artworksDeleted,
    tempFilesDeleted: counts.tempFilesDeleted,
    exportsDeleted: counts.exportsDeleted,
    jobsCancelled: counts.jobsCancelled,
    keyDestroyed: true,
    operationLogTombstoned: counts.operationLogTombstoned,
  };
  return { events: [{ type: 'SubjectErased', data }], receipt: receiptOf(data) };
}

/** Step (e): the device bound to this account is released, so it may register again as a new subject. */
export function decideDeviceRelease(device: DeviceState, subjectId: string, deviceHash: string): EventOfType<'DeviceReleased'>[] {
  if (device.status !== 'registered' || device.subjectId !== subjectId) return [];
  return [{ type: 'DeviceReleased', data: { subjectId, deviceHash, reason: 'erasure' } }];
}

/** Step (c), temporary files: one TempFileDeleted (reason erasure) per temporary object the job still has on record. */
export function decideTempFilesErasure(job: JobState, subjectId: string): EventOfType<'TempFileDeleted'>[] {
  if (job.jobId === null || job.subjectId !== subjectId) return [];
  const jobId = job.jobId;
  return job.liveTempFiles.map((objectKey) => ({ type: 'TempFileDeleted', data: { jobId, subjectId, objectKey, reason: 'erasure', rule: 'temp-files' } }));
}
