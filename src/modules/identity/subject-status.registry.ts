import { Inject, Injectable } from '@nestjs/common';
import type { Statement } from 'better-sqlite3';
import { Clock } from '../clock/clock.port';
import { LruCache } from '../crypto/lru-cache';
import type { StoredEvent } from '../event-store/event-store.port';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';

/** Subjects whose "active" answer is remembered. */
export const ACTIVE_SUBJECT_CACHE_ENTRIES = 50_000;
/**
 * How long a remembered "active" answer may be used without reading the read model again. The
 * events that end a subject's activity clear it at once (see below); this bound only covers the
 * case where another process applied them to the shared read-model file (a CLI rebuild moving the
 * checkpoints), which this instance's listeners never hear of.
 */
export const ACTIVE_SUBJECT_TTL_MS = 1_000;
const ENDING_EVENTS = new Set(['SubjectErasureStarted', 'SubjectErased']);

/**
 * Answers "may this subject's token still be used?" on every request: no once erasure has
 * started. Reads the subjects read model, plus the erasures this instance performed itself and
 * that its projections may not show yet.
 *
 * An "active" answer is remembered for up to ACTIVE_SUBJECT_TTL_MS, so a busy subject does not
 * cost a read-model lookup per request; it is forgotten the moment this instance's projections
 * apply SubjectErasureStarted or SubjectErased for the subject (listeners run right after the
 * read model commits them), so the answer is never staler than the read model itself, and an
 * erasure this instance starts closes the subject before anything else.
 */
@Injectable()
export class SubjectStatusRegistry {
  private readonly statusOf: Statement;
  private readonly locallyClosed = new Set<string>();
  private readonly active = new LruCache<string, number>(ACTIVE_SUBJECT_CACHE_ENTRIES);

  constructor(
    @Inject(ReadModels) readModels: ReadModels,
    // The runner creates the read-model tables: depend on it so they exist first.
    @Inject(ProjectionRunner) runner: ProjectionRunner,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    this.statusOf = readModels.db.prepare('SELECT status FROM subjects WHERE subject_id = ?').pluck();
    runner.onEvents((events) => this.forgetEnded(events));
  }

  isActive(subjectId: string): boolean {
    if (this.locallyClosed.has(subjectId)) return false;
    const now = this.clock.now().getTime();
    const since = this.active.get(subjectId);
    if (since !== undefined && now >= since && now - since < ACTIVE_SUBJECT_TTL_MS) return true;
    const status = this.statusOf.get(subjectId) as string | undefined;
    const active = status === undefined || status === 'active';
    if (active) this.active.set(subjectId, now);
    else this.active.delete(subjectId);
    return active;
  }

  /** Called by the erasure handler the moment erasure starts. */
  close(subjectId: string): void {
    this.locallyClosed.add(subjectId);
    this.active.delete(subjectId);
  }

  private forgetEnded(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (!ENDING_EVENTS.has(event.type)) continue;
      const subjectId = event.data.subjectId;
      if (typeof subjectId === 'string') this.active.delete(subjectId);
    }
  }
}
