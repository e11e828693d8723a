import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { notFound } from '../../../common/errors/domain-error';
import { UuidParam } from '../../../common/http/request-context';
import { ApiProblems, SUBJECT_ROUTE_ERRORS } from '../../identity/api-problems.decorator';
import { RequestRecordDto } from '../requests/request-records.dto';
import { RequestsReadModel } from '../requests/requests.read-model';

@ApiTags('subject rights')
@ApiBearerAuth()
@Controller('v1/me/requests')
@SubjectOnly()
export class GetRequestController {
  constructor(@Inject(RequestsReadModel) private readonly requests: RequestsReadModel) {}

  @Get(':requestId')
  @ApiOperation({ summary: 'One of my rights requests' })
  @ApiParam({ name: 'requestId', format: 'uuid' })
  @ApiOkResponse({ type: RequestRecordDto })
  @ApiProblems(
    { status: 400, code: 'INVALID_ID', when: 'requestId is not a UUID' },
    { status: 404, code: 'REQUEST_NOT_FOUND', when: 'no such request, or another subject’s' },
    ...SUBJECT_ROUTE_ERRORS,
  )
  async get(@CurrentSubject() subject: SubjectPrincipal, @UuidParam('requestId') requestId: string): Promise<RequestRecordDto> {
    const record = await this.requests.getForSubject(subject.subjectId, requestId);
    if (!record) throw notFound('REQUEST_NOT_FOUND', 'No such rights request');
    return record;
  }
}
