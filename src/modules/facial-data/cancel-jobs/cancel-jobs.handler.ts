import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { EventLog } from '../../event-store/event-log';
import type { Position } from '../../event-store/event-store.port';
import { foldJob } from '../jobs/job.state';
import { JobsView } from '../jobs/jobs.view';
import { decideCancelJob } from './cancel-jobs.decider';
import { CancelJobsCommand } from './cancel-jobs.command';

/**
 * Cancels the subject's unfinished jobs matching the filter (candidates from the jobs projection,
 * each decided again from its own stream and appended with that stream's expected revision, so a
 * job that finished meanwhile is left alone). A worker running a cancelled job notices at its next
 * append and throws its result away. Answers once the jobs projection shows the cancellations.
 */
@CommandHandler(CancelJobsCommand)
export class CancelJobsHandler implements ICommandHandler<CancelJobsCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(JobsView) private readonly jobs: JobsView,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
  ) {}

  async execute(command: CancelJobsCommand): Promise<{ cancelled: number }> {
    const candidates = this.jobs.unfinishedForSubject(command.subjectId, command.filter);
    // Idempotent by state (a finished job gets nothing), so event ids need not derive from the
    // caller's Idempotency-Key, which was chosen for another stream and could collide in this one.
    const context = { ...command.context, idempotency: undefined };
    let cancelled = 0;
    let last: Position | null = null;
    for (const candidate of candidates) {
      const result = await this.log.decideAndAppend(streams.job(candidate.jobId), context, ({ events }) => {
        const job = foldJob(events);
        const event = job.subjectId === command.subjectId ? decideCancelJob(job, command.reason) : null;
        return { events: event ? [event] : [], result: { wasRunning: job.status === 'running' } };
      });
      if (!result.appended) continue;
      cancelled++;
      last = result.appended.position;
      if (result.wasRunning && candidate.purpose) {
        const logged = await this.log.append(
          streams.oplog(command.subjectId),
          [{ type: 'ProcessingLogged', data: { subjectId: command.subjectId, jobId: candidate.jobId, imageId: candidate.imageId, purpose: candidate.purpose, step: 'cancelled' } }],
          'any',
          context,
        );
        last = logged.position;
      }
    }
    if (last) await this.runner.waitFor(last);
    return { cancelled };
  }
}
