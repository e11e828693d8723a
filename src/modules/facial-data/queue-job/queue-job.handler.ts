import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { isPurpose } from '../../../events/purposes';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { ConsentGate } from '../../consent/consent-gate.service';
import { deterministicUuid, EventLog } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import type { Position } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { foldImage } from '../images/image.state';
import { foldJob } from '../jobs/job.state';
import { QueueJobCommand, type QueueJobResult } from './queue-job.command';
import { decideQueueJob } from './queue-job.decider';
import { newId } from '../../../common/ids/uuid-v7';

const ATTEMPTS = 3;

/**
 * Queue a job: load the image, the job stream (for Idempotency-Key replays) and the consent
 * verdict, decide, append JobQueued with 'no_stream', then wait until the jobs projection shows it
 * (GET /v1/jobs/{id} right after the 202 finds it). A refusal appends nothing. Two requests with
 * the same key racing: one appends, the other conflicts, reloads and answers as a replay.
 */
@CommandHandler(QueueJobCommand)
export class QueueJobHandler implements ICommandHandler<QueueJobCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(ConsentGate) private readonly consent: ConsentGate,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  async execute(command: QueueJobCommand): Promise<QueueJobResult> {
    const idempotency = command.context.idempotency;
    const jobId = idempotency ? deterministicUuid('job', command.subjectId, idempotency.key) : newId();
    const jobStream = streams.job(jobId);
    let lastError: unknown;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const [image, job, consent] = await Promise.all([
        this.log.load(streams.image(command.imageId)).then((loaded) => foldImage(loaded.events)),
        idempotency ? this.log.load(jobStream) : Promise.resolve({ events: [], revision: 'no_stream' as const }),
        isPurpose(command.purpose) ? this.consent.verdict(command.subjectId, command.purpose) : Promise.resolve(null),
      ]);
      const decision = decideQueueJob(
        { image, job: foldJob(job.events), consent, currentPolicyVersion: this.consent.currentPolicyVersion },
        { subjectId: command.subjectId, imageId: command.imageId, jobId, purpose: command.purpose, options: command.options, requestHash: idempotency?.requestHash ?? null },
      );
      if (decision.kind === 'replay') {
        await this.settle(job.events[0]?.position);
        return { jobId, status: 'queued', replayed: true };
      }
      try {
        const appended = await this.log.append(jobStream, [decision.event], 'no_stream', command.context);
        await this.settle(appended.position);
        this.logger.get().info({ jobId, imageId: command.imageId, purpose: decision.event.data.purpose }, 'job queued');
        return { jobId, status: 'queued', replayed: false };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || !idempotency) throw error;
        lastError = error; // the same key raced in: decide again (a replay, or a refusal)
      }
    }
    throw lastError;
  }

  private async settle(position: Position | undefined): Promise<void> {
    if (!position) return;
    try {
      await this.runner.waitFor(position);
    } catch {
      this.logger.get().warn({ component: 'projections' }, 'read model did not catch up before the job answer');
    }
  }
}
