import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { ApiProblems, SUBJECT_ROUTE_ERRORS } from '../../identity/api-problems.decorator';
import { RequestListDto } from '../requests/request-records.dto';
import { RequestsReadModel } from '../requests/requests.read-model';

@ApiTags('subject rights')
@ApiBearerAuth()
@Controller('v1/me/requests')
@SubjectOnly()
export class ListRequestsController {
  constructor(@Inject(RequestsReadModel) private readonly requests: RequestsReadModel) {}

  @Get()
  @ApiOperation({ summary: 'My rights requests, oldest first, with their deadlines and answers (a rejection with its reason)' })
  @ApiOkResponse({ type: RequestListDto })
  @ApiProblems(...SUBJECT_ROUTE_ERRORS)
  async list(@CurrentSubject() subject: SubjectPrincipal): Promise<RequestListDto> {
    return { requests: await this.requests.listForSubject(subject.subjectId) };
  }
}
