import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { statements } from '../../../projections/projection';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { ReadModels } from '../../../projections/read-models';
import type { StoredEvent } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { RequestFulfilment } from '../fulfilment/request-fulfilment.service';

const JOB_ENDINGS: ReadonlySet<string> = new Set(['JobCompleted', 'JobFailed', 'JobCancelled']);
const sql = statements({ requestOf: `SELECT request_id FROM jobs WHERE job_id = ? AND request_id IS NOT NULL` });

/**
 * Correction requests (item 4): when a job re-run for a correction ends (on any instance), the
 * request is answered at once: completed, the superseded artwork is deleted (reason superseded)
 * and the request fulfilled; failed or cancelled, it is rejected with the reason. Answering twice
 * (two instances, a replay) appends nothing more: the request stream's revision decides. A crash
 * before the answer is repaired by the rights sweep (requests stuck in progress).
 */
@Injectable()
export class CorrectionSaga implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private unsubscribe: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(RequestFulfilment) private readonly fulfilment: RequestFulfilment,
    @Inject(AppLogger) appLogger: AppLogger,
  ) {
    this.logger = appLogger.root.child({ component: 'correction-saga' });
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.runner.onEvents((events) => this.onEvents(events));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.whenIdle();
  }

  /** Resolves when every answer triggered so far has been given. */
  async whenIdle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.chain;
      await current;
    } while (current !== this.chain);
  }

  private onEvents(events: readonly StoredEvent[]): void {
    if (this.stopped) return;
    for (const event of events) {
      if (!JOB_ENDINGS.has(event.type) || typeof event.data.jobId !== 'string') continue;
      const requestId = sql(this.readModels.db).requestOf.pluck().get(event.data.jobId) as string | undefined;
      if (!requestId) continue;
      const causationId = event.id;
      this.chain = this.chain.then(async () => {
        try {
          await this.fulfilment.completeCorrection(requestId, { actor: 'system:rights', correlationId: randomUUID(), causationId });
        } catch (error) {
          this.logger.warn({ requestId, err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'answering a correction failed; the rights sweep retries');
        }
      });
    }
  }
}
