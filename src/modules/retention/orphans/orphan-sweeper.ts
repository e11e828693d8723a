import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { AppConfig } from '../../config/app-config';
import { AppLogger } from '../../logging/logger';
import { ObjectStorage } from '../../object-storage/object-storage.port';
import { RetentionLedgerReader } from '../retention-ledger.reader';
import { ORPHAN_PREFIXES } from '../retention-rules';

/** Objects looked at per sweep (the listing continues where it stopped at the next sweep). */
export const ORPHAN_OBJECTS_PER_SWEEP = 2_000;
const DELETE_BATCH = 200;
const HEX = '0123456789abcdef';

/**
 * Key prefixes walked one after the other, `originals/0` … `artworks/f`: keys hold the subject's
 * UUID right after the prefix, so every object falls in exactly one shard and each sweep lists a
 * bounded part of the bucket.
 */
export const ORPHAN_SHARDS: readonly string[] = ORPHAN_PREFIXES.flatMap((prefix) => [...HEX].map((digit) => `${prefix}${digit}`));

export interface OrphanSweepResult {
  readonly skipped?: 'projections-catching-up';
  /** Objects looked at. */
  readonly scanned: number;
  /** Unreferenced objects older than RETENTION_ORPHAN_GRACE, deleted. */
  readonly deleted: number;
  /** Partial files of writes a crash interrupted (filesystem storage), older than the grace, removed. */
  readonly abandonedWrites?: number;
  /** Whether this call went through the last shard (a full round of the bucket ended). */
  readonly roundCompleted: boolean;
}

/**
 * Orphans: objects under originals/, tmp/ and artworks/ that no event references (or whose
 * deletion is already recorded), e.g. an upload whose append failed after the put and whose
 * clean-up failed too. Each sweep lists the next stretch of the bucket, shard by shard, compares
 * every key with the retention ledger and deletes unreferenced objects older than
 * RETENTION_ORPHAN_GRACE (younger ones may belong to a write in progress). Runs only when the read
 * models are caught up, so the ledger knows every event. No event is recorded (nothing references
 * them); the count is logged.
 */
@Injectable()
export class OrphanSweeper {
  private readonly logger: Logger;
  private shard = 0;
  private resumeAfter: string | null = null;

  constructor(
    @Inject(ObjectStorage) private readonly storage: ObjectStorage,
    @Inject(RetentionLedgerReader) private readonly ledger: RetentionLedgerReader,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(AppLogger) appLogger: AppLogger,
  ) {
    this.logger = appLogger.root.child({ component: 'retention', task: 'orphans' });
  }

  async sweepStep(now: Date, budget = ORPHAN_OBJECTS_PER_SWEEP): Promise<OrphanSweepResult> {
    if (!this.runner.status().caughtUp) return { skipped: 'projections-catching-up', scanned: 0, deleted: 0, roundCompleted: false };
    const olderThan = now.getTime() - this.config.retention.orphanGraceMs;
    let scanned = 0;
    let deleted = 0;
    let abandonedWrites = 0;
    let roundCompleted = false;
    let shardsVisited = 0;
    const orphans: string[] = [];
    const flush = async () => {
      if (orphans.length === 0) return;
      const keys = orphans.splice(0);
      await this.storage.deleteMany(keys);
      deleted += keys.length;
    };
    while (scanned < budget && shardsVisited < ORPHAN_SHARDS.length) {
      const prefix = ORPHAN_SHARDS[this.shard];
      let stoppedAt: string | null = null;
      for await (const object of this.storage.list(prefix)) {
        if (this.resumeAfter !== null && object.key <= this.resumeAfter) continue;
        scanned++;
        if (object.lastModified.getTime() <= olderThan && this.isOrphan(object.key)) {
          orphans.push(object.key);
          if (orphans.length >= DELETE_BATCH) await flush();
        }
        if (scanned >= budget) {
          stoppedAt = object.key;
          break;
        }
      }
      if (stoppedAt !== null) {
        this.resumeAfter = stoppedAt;
        break;
      }
      this.resumeAfter = null;
      // The shard is fully listed: what interrupted writes left in it goes too (never listed as objects).
      abandonedWrites += await this.storage.removeAbandonedWrites(prefix, new Date(olderThan));
      shardsVisited++;
      this.shard = (this.shard + 1) % ORPHAN_SHARDS.length;
      if (this.shard === 0) roundCompleted = true;
    }
    await flush();
    if (deleted > 0) this.logger.info({ deleted, scanned }, 'orphaned objects deleted (unreferenced by any event, older than RETENTION_ORPHAN_GRACE)');
    if (abandonedWrites > 0) this.logger.info({ abandonedWrites }, 'partial files of interrupted writes removed (older than RETENTION_ORPHAN_GRACE)');
    return { scanned, deleted, roundCompleted, ...(abandonedWrites > 0 ? { abandonedWrites } : {}) };
  }

  /** Unreferenced, or referenced only by an item whose deletion is already recorded. */
  private isOrphan(key: string): boolean {
    const reference = this.ledger.objectReference(key);
    return reference === null || reference.state === 'done';
  }
}
