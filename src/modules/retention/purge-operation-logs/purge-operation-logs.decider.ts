import type { EventOfType } from '../../../events';
import type { RecordedEvent } from '../../event-store/event-log';
import type { PurgeResult } from '../../event-store/event-store.port';

/** What the ledger says about the expired entries a purge covers. */
export interface ExpiredEntries {
  readonly count: number;
  /** Entries that had been due for longer than the on-time tolerance when purged. */
  readonly late: number;
  /** Clock start of the oldest entry covered, epoch ms. */
  readonly oldestMs: number | null;
}

export interface OperationLogsPurgeFacts {
  /** When the physical purge finished (or the scavenge was started). */
  readonly purgedAt: Date;
  /** The streams' `$maxAge`, seconds. */
  readonly maxAgeSeconds: number;
  readonly mode: PurgeResult['mode'];
  /** Entries that occurred in [previousCutoffMs, cutoffMs) — see `purgeWindow`. */
  readonly expired: ExpiredEntries;
}

/** Entries older than this (epoch ms) are expired at `purgedAt`: `purgedAt` − `$maxAge`. */
export function purgeCutoffMs(purgedAt: Date, maxAgeSeconds: number): number {
  return purgedAt.getTime() - maxAgeSeconds * 1000;
}

/**
 * The cutoff the newest OperationLogsPurged of a (day) stream recorded, or null. A purge only
 * accounts for entries after the previous cutoff, so two instances purging at the same time
 * (racing on the stream's revision) never count an entry twice.
 */
export function lastRecordedCutoffMs(events: readonly RecordedEvent[]): number | null {
  let last: number | null = null;
  for (const event of events) {
    if (event.type !== 'OperationLogsPurged' || event.data.maxAgeSeconds === undefined) continue;
    const cutoff = purgeCutoffMs(new Date(event.data.purgedAt), event.data.maxAgeSeconds);
    if (Number.isFinite(cutoff) && (last === null || cutoff > last)) last = cutoff;
  }
  return last;
}

/** The window of clock starts a purge at `purgedAt` accounts for: [after the previous cutoff, the new cutoff). */
export function purgeWindow(previousCutoffMs: number | null, purgedAt: Date, maxAgeSeconds: number): { readonly fromMs: number; readonly toMs: number } {
  return { fromMs: previousCutoffMs ?? Number.MIN_SAFE_INTEGER, toMs: purgeCutoffMs(purgedAt, maxAgeSeconds) };
}

/**
 * Rule `operation-logs`: after a purge, one OperationLogsPurged with the entries it removed (those
 * that expired since the previous recorded purge), how many were late and by how much at most;
 * nothing when no entry was newly covered (another instance recorded them, or none had expired).
 */
export function decideOperationLogsPurge(facts: OperationLogsPurgeFacts): EventOfType<'OperationLogsPurged'> | null {
  if (facts.expired.count <= 0) return null;
  const maxAgeMs = facts.maxAgeSeconds * 1000;
  const oldestDue = facts.expired.oldestMs === null ? null : facts.expired.oldestMs + maxAgeMs;
  const maxLatenessSeconds = oldestDue === null ? 0 : Math.max(0, Math.ceil((facts.purgedAt.getTime() - oldestDue) / 1000));
  return {
    type: 'OperationLogsPurged',
    data: {
      purgedAt: facts.purgedAt.toISOString(),
      entriesRemoved: facts.expired.count,
      entriesLate: Math.min(facts.expired.late, facts.expired.count),
      maxLatenessSeconds,
      mode: facts.mode,
      maxAgeSeconds: facts.maxAgeSeconds,
    },
  };
}
