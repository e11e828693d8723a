import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppLogger } from '../../logging/logger';
import { ObjectStorage } from '../../object-storage/object-storage.port';
import { LIFECYCLE_BACKSTOP_DAYS, LIFECYCLE_BACKSTOP_RULES } from '../retention-rules';

/**
 * OSS mode: bucket lifecycle rules expiring `originals/` and `tmp/` after LIFECYCLE_BACKSTOP_DAYS
 * days, ensured at boot. A backstop only: OSS lifecycle works in whole days, runs once a day and
 * may lag by ~48 h, so the 24-hour promise is kept by the retention sweep, never by these rules.
 * On the filesystem storage there is no such mechanism and nothing is done. If OSS cannot be
 * reached at boot, each sweep tries again until the rules are in place.
 */
@Injectable()
export class LifecycleBackstop {
  private readonly logger: Logger;
  private done = false;
  private inFlight: Promise<boolean> | null = null;

  constructor(
    @Inject(ObjectStorage) private readonly storage: ObjectStorage,
    @Inject(AppLogger) appLogger: AppLogger,
  ) {
    this.logger = appLogger.root.child({ component: 'retention', task: 'lifecycle-backstop' });
  }

  get ensured(): boolean {
    return this.done;
  }

  /** Returns whether the rules are (now) in place or not applicable; never throws. One attempt at a time. */
  ensure(): Promise<boolean> {
    if (this.done) return Promise.resolve(true);
    this.inFlight ??= this.attempt().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async attempt(): Promise<boolean> {
    try {
      const applied = await this.storage.ensureLifecycleRules(LIFECYCLE_BACKSTOP_RULES);
      this.done = true;
      if (applied) {
        this.logger.info(
          { storage: this.storage.kind, prefixes: LIFECYCLE_BACKSTOP_RULES.map((r) => r.prefix), days: LIFECYCLE_BACKSTOP_DAYS },
          'bucket lifecycle rules in place as a BACKSTOP ONLY (whole days, run once a day, may lag ~48 h): the retention sweep deletes originals within RETENTION_ORIGINAL_MAX and temporary files at once',
        );
      }
      return true;
    } catch (error) {
      this.logger.warn({ storage: this.storage.kind, err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'could not ensure the bucket lifecycle backstop; the next sweep retries');
      return false;
    }
  }
}
