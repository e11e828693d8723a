import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { Clock } from '../../clock/clock.port';
import { AppConfig } from '../../config/app-config';
import { RuntimeOptions } from '../../config/config.module';
import { SubjectCipher } from '../../crypto/subject-cipher';
import { EventLog, type CommandContext } from '../../event-store/event-log';
import type { StoredEvent } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { BusinessCalendar } from '../business-calendar/business-calendar';
import { AccountEraser } from '../erase-account/account-eraser.service';
import { RequestFulfilment, RESUME_GRACE_MS } from '../fulfilment/request-fulfilment.service';
import { foldRequest } from '../requests/request.state';
import { RequestsReadModel } from '../requests/requests.read-model';
import { decideOverdue } from './mark-overdue.decider';

const BATCH = 1000;

export interface RightsSweepResult {
  /** RightsRequestOverdue events appended. */
  readonly overdue: number;
  /** Requests stuck in an automatic step that were resumed. */
  readonly resumed: number;
  /** Interrupted erasures completed. */
  readonly erasuresCompleted: number;
  /** Items that failed this time (left for the next sweep). */
  readonly failed: number;
}

/**
 * The rights sagas' scheduler. Each `sweepOnce()` (on boot once projections caught up, then every
 * RIGHTS_SWEEP_INTERVAL when schedulers are enabled; tests call it by hand with a manual clock):
 * 1. completes every erasure the log shows started and not finished (crash recovery);
 * 2. the overdue saga: every unanswered request strictly past its `dueAt` gets RightsRequestOverdue,
 *    once (decided again from the request's stream);
 * 3. resumes automatic requests stuck in progress for longer than RESUME_GRACE_MS.
 * (Originals left behind by an interrupted withdrawal cascade are the retention sweep's repair.)
 * Everything it does is idempotent, so two instances sweeping at once are harmless. It also makes
 * this instance forget a subject's data key the moment any instance records SubjectErased.
 */
@Injectable()
export class RightsScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private sweeping: Promise<RightsSweepResult> | null = null;
  private stopped = false;

  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(RequestsReadModel) private readonly requests: RequestsReadModel,
    @Inject(BusinessCalendar) private readonly calendar: BusinessCalendar,
    @Inject(AccountEraser) private readonly eraser: AccountEraser,
    @Inject(RequestFulfilment) private readonly fulfilment: RequestFulfilment,
    @Inject(SubjectCipher) private readonly cipher: SubjectCipher,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(RuntimeOptions) private readonly runtime: RuntimeOptions,
    @Inject(AppLogger) appLogger: AppLogger,
  ) {
    this.logger = appLogger.root.child({ component: 'rights-scheduler' });
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.runner.onEvents((events) => this.forgetErasedKeys(events));
    if (!this.runtime.schedulersEnabled) return;
    void this.runner
      .waitUntilCaughtUp()
      .then(() => (this.stopped ? undefined : this.sweepOnce()))
      .catch((error: unknown) => this.logger.warn({ err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'start-up rights sweep failed'));
    this.timer = setInterval(() => {
      if (!this.stopped && this.sweeping === null) {
        this.sweepOnce().catch((error: unknown) => this.logger.warn({ err: { type: (error as Error)?.name } }, 'rights sweep failed'));
      }
    }, this.config.rights.sweepIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.sweeping?.catch(() => undefined);
  }

  /** One sweep (concurrent calls share it). */
  sweepOnce(): Promise<RightsSweepResult> {
    if (this.sweeping) return this.sweeping;
    const run = this.sweep().finally(() => {
      this.sweeping = null;
    });
    this.sweeping = run;
    return run;
  }

  private async sweep(): Promise<RightsSweepResult> {
    let failed = 0;
    const erasuresCompleted = await this.eraser.completeInterrupted();

    const now = this.clock.now();
    let overdue = 0;
    for (const row of this.requests.pastDue(now, BATCH)) {
      try {
        const result = await this.log.decideAndAppend(streams.request(row.requestId), this.context(), (loaded) => ({
          events: decideOverdue(foldRequest(loaded.events), now, this.calendar),
          result: {},
        }));
        if (result.appended) {
          overdue++;
          this.logger.warn({ requestId: row.requestId, dueAt: row.dueAt }, 'rights request overdue');
        }
      } catch (error) {
        failed++;
        this.warn('marking a request overdue failed', error);
      }
    }

    let resumed = 0;
    for (const row of this.requests.stuckInProgress(new Date(now.getTime() - RESUME_GRACE_MS), BATCH)) {
      try {
        if ((await this.fulfilment.resume(row.requestId, this.context())) !== null) resumed++;
      } catch (error) {
        failed++;
        this.warn('resuming a rights request failed', error);
      }
    }

    return { overdue, resumed, erasuresCompleted, failed };
  }

  private forgetErasedKeys(events: readonly StoredEvent[]): void {
    for (const event of events) {
      if (event.type === 'SubjectErased' && typeof event.data.subjectId === 'string') this.cipher.forgetSubjectKey(event.data.subjectId);
    }
  }

  private context(): CommandContext {
    return { actor: 'system:rights', correlationId: randomUUID(), causationId: null };
  }

  private warn(message: string, error: unknown): void {
    this.logger.warn({ err: { type: (error as Error)?.name, message: (error as Error)?.message } }, message);
  }
}
