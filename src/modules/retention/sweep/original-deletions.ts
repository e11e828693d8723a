import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { Logger } from 'pino';
import { nextTurn } from '../../../common/async/next-turn';
import { DomainError } from '../../../common/errors/domain-error';
import type { CommandContext } from '../../event-store/event-log';
import { EventStoreUnavailableError } from '../../event-store/event-store.errors';
import { DeleteImageCommand } from '../../facial-data/delete-image/delete-image.command';
import { AppConfig } from '../../config/app-config';
import { KeyStoreUnavailableError } from '../../crypto/crypto.errors';
import { AppLogger } from '../../logging/logger';
import { ObjectStorage, ObjectStorageUnavailableError } from '../../object-storage/object-storage.port';
import { RetentionLedgerReader, type DueOriginal, type LedgerCursor } from '../retention-ledger.reader';

/** Rows read per ledger query. */
export const SWEEP_BATCH = 500;
/** Deletions in flight at once (their appends share group commits). */
export const SWEEP_CONCURRENCY = 256;
/** At most this many items per pass and run: a larger backlog continues at the next sweep. */
export const SWEEP_MAX_ITEMS_PER_RUN = 25_000;

export interface DeletionPassResult {
  /** Due items the pass looked at. */
  readonly due: number;
  /** ImageDeleted appended by this instance. */
  readonly deleted: number;
  /** Already deleted (by another instance, the user, a crash-interrupted run completed…): nothing appended. */
  readonly alreadyDeleted: number;
  readonly failed: number;
  /** The pass stopped early: a dependency is down, or the run's bound was reached. */
  readonly interrupted: 'dependency-unavailable' | 'run-bound' | null;
}

type Outcome = 'deleted' | 'already-deleted' | 'failed' | 'unavailable';

/**
 * Dispatches DeleteImageCommand for due originals, read from the retention ledger in pages of
 * due rows only, several at a time, with the event loop running between pages. The command is
 * idempotent (object first, then ImageDeleted at the loaded revision; a concurrent or earlier
 * deletion appends nothing), so two instances sweeping together or a repeated run are harmless.
 *
 * The objects of a page are deleted first, many in parallel (a durable delete waits for a
 * directory sync, or an OSS round trip: done one by one inside each command, that wait would
 * dominate the sweep); each command then finds its object gone, which it treats as deleted, and
 * records the deletion. The order stays object first, event second: a crash in between leaves
 * due originals without objects, which the next sweep records, once.
 */
@Injectable()
export class OriginalDeletions {
  private readonly logger: Logger;

  constructor(
    @Inject(RetentionLedgerReader) private readonly ledger: RetentionLedgerReader,
    @Inject(ObjectStorage) private readonly storage: ObjectStorage,
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(AppLogger) appLogger: AppLogger,
  ) {
    this.logger = appLogger.root.child({ component: 'retention', rule: 'original-after-processing' });
  }

  /** Rule `original-after-processing`: every original whose deadline (clock start + RETENTION_ORIGINAL_MAX) has come. */
  dueByDeadline(now: Date, context: CommandContext, maxItems = SWEEP_MAX_ITEMS_PER_RUN): Promise<DeletionPassResult> {
    const durationMs = this.config.retention.originalMaxMs;
    const clockStartedBy = now.getTime() - durationMs;
    return this.pass(
      (cursor, limit) => this.ledger.dueOriginals(clockStartedBy, cursor, limit),
      (row) => ({ reason: 'retention', dueAt: new Date(row.fromMs + durationMs).toISOString() }),
      context,
      maxItems,
    );
  }

  /**
   * PIPL Art. 47: held originals whose purpose's consent was withdrawn are due at the withdrawal.
   * The withdrawal's cascade deletes them at once; this is its crash-repair path.
   */
  dueByWithdrawal(context: CommandContext, maxItems = SWEEP_MAX_ITEMS_PER_RUN): Promise<DeletionPassResult> {
    return this.pass(
      (cursor, limit) => this.ledger.withdrawnOriginals(cursor, limit),
      (row) => ({ reason: 'consent-withdrawn', dueAt: new Date(row.fromMs).toISOString() }),
      context,
      maxItems,
    );
  }

  private async pass(
    read: (cursor: LedgerCursor | null, limit: number) => DueOriginal[],
    deletion: (row: DueOriginal) => { reason: 'retention' | 'consent-withdrawn'; dueAt: string },
    context: CommandContext,
    maxItems: number,
  ): Promise<DeletionPassResult> {
    const total = { due: 0, deleted: 0, alreadyDeleted: 0, failed: 0 };
    let interrupted: DeletionPassResult['interrupted'] = null;
    let taken = 0;
    let cursor: LedgerCursor | null = null;
    const nextPage = (after: LedgerCursor | null): { rows: DueOriginal[]; objectsGone: Promise<boolean> } | null => {
      if (taken >= maxItems) return null;
      const rows = read(after, Math.min(SWEEP_BATCH, maxItems - taken));
      if (rows.length === 0) return null;
      taken += rows.length;
      return { rows, objectsGone: this.deleteObjects(rows) };
    };
    // Pipelined: while a page's deletions are recorded, the next page's objects are deleted, and
    // once they are, that page's deletions start too (at most two pages recording at once), so the
    // event store always has a full batch of appends to group-commit. Objects deleted ahead of a
    // pass that stops early are recorded by the next sweep (their commands find them gone).
    const add = (result: DeletionPassResult) => {
      total.due += result.due;
      total.deleted += result.deleted;
      total.alreadyDeleted += result.alreadyDeleted;
      total.failed += result.failed;
      if (result.interrupted && interrupted === null) interrupted = result.interrupted;
    };
    let recording: Promise<DeletionPassResult> | null = null;
    let page = nextPage(null);
    while (page) {
      const objectsGone = await page.objectsGone;
      if (!objectsGone) {
        add({ due: page.rows.length, deleted: 0, alreadyDeleted: 0, failed: page.rows.length, interrupted: 'dependency-unavailable' });
        break;
      }
      const last = page.rows[page.rows.length - 1];
      cursor = { ms: last.fromMs, item: last.imageId };
      const started = this.run(page.rows, deletion, context);
      const following = nextPage(cursor);
      if (recording) {
        add(await recording);
        if (interrupted) {
          // A dependency went down: let the started page finish (its commands fail fast) and stop.
          add(await started);
          await following?.objectsGone;
          recording = null;
          break;
        }
      }
      recording = started;
      page = following;
      await nextTurn();
    }
    if (recording) add(await recording);
    // The run's bound was reached with more due: the next sweep continues.
    if (interrupted === null && taken >= maxItems && read(cursor, 1).length > 0) interrupted = 'run-bound';
    return { ...total, interrupted };
  }

  /** Records the deletion of `rows` (objects already deleted), SWEEP_CONCURRENCY at a time; stops once a dependency is down. */
  private async run(
    rows: readonly DueOriginal[],
    deletion: (row: DueOriginal) => { reason: 'retention' | 'consent-withdrawn'; dueAt: string },
    context: CommandContext,
  ): Promise<DeletionPassResult> {
    const counts = { deleted: 0, 'already-deleted': 0, failed: 0, unavailable: 0 };
    let next = 0;
    let unavailable = false;
    const worker = async () => {
      while (!unavailable && next < rows.length) {
        const row = rows[next++];
        const outcome = await this.deleteOne(row, deletion(row), context);
        counts[outcome]++;
        if (outcome === 'unavailable') unavailable = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(SWEEP_CONCURRENCY, rows.length) }, worker));
    return {
      due: counts.deleted + counts['already-deleted'] + counts.failed + counts.unavailable,
      deleted: counts.deleted,
      alreadyDeleted: counts['already-deleted'],
      failed: counts.failed + counts.unavailable,
      interrupted: unavailable ? 'dependency-unavailable' : null,
    };
  }

  /** Deletes the objects of `rows` as one batch (parallel unlinks and one sync per directory; OSS: DeleteMultipleObjects); false when the storage is unavailable. */
  private async deleteObjects(rows: readonly DueOriginal[]): Promise<boolean> {
    const keys = rows.map((r) => r.objectKey).filter((k): k is string => k !== null);
    try {
      await this.storage.deleteMany(keys);
      return true;
    } catch (failure) {
      this.logger.warn({ err: { type: (failure as Error)?.name } }, 'the object storage is unavailable: the sweep stops this pass and the next sweep retries');
      return false;
    }
  }

  private async deleteOne(row: DueOriginal, deletion: { reason: 'retention' | 'consent-withdrawn'; dueAt: string }, context: CommandContext): Promise<Outcome> {
    try {
      const result = await this.commandBus.execute(
        // The page's objects were deleted as one batch just before (deleteObjects).
        new DeleteImageCommand(row.subjectId, row.imageId, deletion.reason, context, { rule: 'original-after-processing', dueAt: deletion.dueAt }, undefined, row.objectKey ?? undefined),
      );
      return result.deleted ? 'deleted' : 'already-deleted';
    } catch (error) {
      if (
        error instanceof ObjectStorageUnavailableError ||
        error instanceof EventStoreUnavailableError ||
        error instanceof KeyStoreUnavailableError ||
        (error instanceof DomainError && error.status === 503)
      ) {
        this.logger.warn({ imageId: row.imageId, err: { type: (error as Error).name } }, 'a dependency is unavailable: the sweep stops this pass and the next sweep retries');
        return 'unavailable';
      }
      this.logger.warn({ imageId: row.imageId, err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'retention deletion failed; the next sweep retries');
      return 'failed';
    }
  }
}
