import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { notFound } from '../../../common/errors/domain-error';
import { UuidParam } from '../../../common/http/request-context';
import { ApiErrors, COMMON_SUBJECT_ERRORS, INVALID_ID_ERROR } from '../api-errors.decorator';
import { JobsView, type JobRecord } from '../jobs/jobs.view';
import { JobRecordDto } from './get-job.dto';

/** The API shape of a job: `artworkId` and `error` only when there is one. */
export function toJobRecordDto(job: JobRecord): JobRecordDto {
  return {
    jobId: job.jobId,
    imageId: job.imageId,
    purpose: job.purpose,
    status: job.status,
    ...(job.artworkId ? { artworkId: job.artworkId } : {}),
    ...(job.status === 'failed' && job.error ? { error: { code: job.error.code, message: job.error.message } } : {}),
  };
}

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
@SubjectOnly()
export class GetJobController {
  constructor(@Inject(JobsView) private readonly jobs: JobsView) {}

  @Get(':jobId')
  @ApiOperation({ summary: 'The status of one of the caller’s processing jobs (from the jobs projection)' })
  @ApiParam({ name: 'jobId', format: 'uuid' })
  @ApiOkResponse({ type: JobRecordDto })
  @ApiErrors(
    INVALID_ID_ERROR('jobId'),
    { status: 404, code: 'JOB_NOT_FOUND', when: 'no such job, or another subject’s' },
    ...COMMON_SUBJECT_ERRORS.filter((e) => e.status !== 503),
  )
  get(@CurrentSubject() subject: SubjectPrincipal, @UuidParam('jobId') jobId: string): JobRecordDto {
    const job = this.jobs.findForSubject(jobId, subject.subjectId);
    if (!job) throw notFound('JOB_NOT_FOUND', 'No such job');
    return toJobRecordDto(job);
  }
}
