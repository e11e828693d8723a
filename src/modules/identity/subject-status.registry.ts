import { Inject, Injectable } from '@nestjs/common';
import type { Statement } from 'better-sqlite3';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';

/**
 * Answers "may this subject's token still be used?" on every request: no once erasure has
 * started. Reads the subjects read model, plus the erasures this instance performed itself and
 * that its projections may not show yet.
 */
@Injectable()
export class SubjectStatusRegistry {
  private readonly statusOf: Statement;
  private readonly locallyClosed = new Set<string>();

  constructor(
    @Inject(ReadModels) readModels: ReadModels,
    // The runner creates the read-model tables: depend on it so they exist first.
    @Inject(ProjectionRunner) _runner: ProjectionRunner,
  ) {
    this.statusOf = readModels.db.prepare('SELECT status FROM subjects WHERE subject_id = ?').pluck();
  }

  isActive(subjectId: string): boolean {
    if (this.locallyClosed.has(subjectId)) return false;
    const status = this.statusOf.get(subjectId) as string | undefined;
    return status === undefined || status === 'active';
  }

  /** Called by the erasure handler the moment erasure starts. */
  close(subjectId: string): void {
    this.locallyClosed.add(subjectId);
  }
}
