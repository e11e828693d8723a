import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { nextTurn } from '../../../common/async/next-turn';
import { statements } from '../../../projections/projection';
import { ReadModels } from '../../../projections/read-models';
import { Clock } from '../../clock/clock.port';
import { AppConfig } from '../../config/app-config';
import { StreamDeletedError } from '../../event-store/event-store.errors';
import { EventStore } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { oplogMaxAgeSeconds } from '../retention-rules';

/**
 * `$maxAge` on every operation-log stream, so an entry is unreadable from stream reads the moment
 * it expires (RETENTION_OPLOG_MAX, whole seconds). Which streams already carry it is kept in
 * `retention_oplog_metadata`, this instance's own table next to the read models (not a
 * projection: stream metadata is not an event of the log). New streams are seen by the retention
 * saga as their first entry is projected; a pass over the ledger's stream list (at start-up, and
 * continued by each sweep until done) catches anything missed, e.g. while the service was down or
 * after RETENTION_OPLOG_MAX changed.
 */
const sql = statements({
  applied: `SELECT max_age_seconds FROM retention_oplog_metadata WHERE stream = ?`,
  record: `INSERT INTO retention_oplog_metadata (stream, max_age_seconds, applied_at) VALUES (?, ?, ?)
           ON CONFLICT(stream) DO UPDATE SET max_age_seconds = excluded.max_age_seconds, applied_at = excluded.applied_at`,
  lacking: `SELECT s.stream AS stream FROM retention_oplog_streams s
            LEFT JOIN retention_oplog_metadata m ON m.stream = s.stream
            WHERE s.stream > ? AND (m.stream IS NULL OR m.max_age_seconds <> ?)
            ORDER BY s.stream LIMIT ?`,
});

/** Streams looked at per call of the catch-up pass. */
const PASS_BATCH = 500;

export interface OplogMetadataPassResult {
  /** Streams given `$maxAge` now. */
  readonly applied: number;
  readonly failed: number;
  /** Whether the catch-up pass over every oplog stream has completed. */
  readonly passComplete: boolean;
}

@Injectable()
export class OplogMetadata {
  private readonly maxAgeSeconds: number;
  private readonly logger: Logger;
  private readonly dirty = new Set<string>();
  /** Where the catch-up pass stands (null: complete). */
  private passCursor: string | null = '';

  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppConfig) config: AppConfig,
    @Inject(AppLogger) appLogger: AppLogger,
  ) {
    this.maxAgeSeconds = oplogMaxAgeSeconds(config);
    this.logger = appLogger.root.child({ component: 'retention', rule: 'operation-logs' });
    this.readModels.db.exec(`CREATE TABLE IF NOT EXISTS retention_oplog_metadata (
      stream TEXT PRIMARY KEY,
      max_age_seconds INTEGER NOT NULL,
      applied_at TEXT NOT NULL
    ) WITHOUT ROWID`);
  }

  get streamMaxAgeSeconds(): number {
    return this.maxAgeSeconds;
  }

  /** Whether `stream` already carries this instance's `$maxAge`. */
  hasMaxAge(stream: string): boolean {
    const row = sql(this.readModels.db).applied.get(stream) as { max_age_seconds: number } | undefined;
    return row !== undefined && row.max_age_seconds === this.maxAgeSeconds;
  }

  /** Notes streams that received entries; returns true when some of them still need `$maxAge`. */
  noteEntries(streams: Iterable<string>): boolean {
    for (const stream of streams) if (!this.dirty.has(stream) && !this.hasMaxAge(stream)) this.dirty.add(stream);
    return this.dirty.size > 0;
  }

  /** Sets `$maxAge` on every noted stream (failures stay noted for the next call). */
  async applyNoted(): Promise<{ applied: number; failed: number }> {
    let applied = 0;
    let failed = 0;
    for (const stream of [...this.dirty]) {
      try {
        if (await this.apply(stream)) applied++;
        this.dirty.delete(stream);
      } catch (error) {
        failed++;
        this.logger.warn({ err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'could not set $maxAge on an operation-log stream; retried by the next sweep');
      }
    }
    return { applied, failed };
  }

  /**
   * The sweep's part: the noted streams, then the next stretch of the catch-up pass over every
   * oplog stream the ledger knows (until it has gone through all of them once).
   */
  async pass(budget = PASS_BATCH * 4): Promise<OplogMetadataPassResult> {
    const noted = await this.applyNoted();
    let applied = noted.applied;
    let failed = noted.failed;
    let looked = 0;
    while (this.passCursor !== null && looked < budget) {
      const rows = sql(this.readModels.db).lacking.all(this.passCursor, this.maxAgeSeconds, PASS_BATCH) as { stream: string }[];
      if (rows.length === 0) {
        this.passCursor = null;
        break;
      }
      for (const { stream } of rows) {
        try {
          if (await this.apply(stream)) applied++;
        } catch (error) {
          failed++;
          this.dirty.add(stream);
          this.logger.warn({ err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'could not set $maxAge on an operation-log stream; retried by the next sweep');
        }
      }
      looked += rows.length;
      this.passCursor = rows[rows.length - 1].stream;
      await nextTurn();
    }
    return { applied, failed, passComplete: this.passCursor === null };
  }

  /** Starts the catch-up pass again (e.g. after the read models were rebuilt). */
  restartPass(): void {
    this.passCursor = '';
  }

  /**
   * Merges `$maxAge` into the stream's metadata (other settings kept). A tombstoned stream (an
   * erased subject's) needs none: it is recorded as done. Returns whether metadata was written.
   */
  private async apply(stream: string): Promise<boolean> {
    let written = false;
    try {
      const existing = await this.store.getStreamMetadata(stream);
      if (existing?.maxAge !== this.maxAgeSeconds) {
        await this.store.setStreamMetadata(stream, { ...(existing ?? {}), maxAge: this.maxAgeSeconds });
        written = true;
      }
    } catch (error) {
      if (!(error instanceof StreamDeletedError)) throw error;
    }
    sql(this.readModels.db).record.run(stream, this.maxAgeSeconds, this.clock.now().toISOString());
    return written;
  }
}
