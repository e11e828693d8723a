import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DpoOnly } from '../../../common/auth/auth.decorators';
import { ApiProblems } from '../../identity/api-problems.decorator';
import { DpoRequestListDto } from '../requests/request-records.dto';
import { RequestsReadModel } from '../requests/requests.read-model';
import { DEFAULT_REQUEST_PAGE, RequestListQuery } from './dpo-list.dto';

export const DPO_ROUTE_ERRORS = [
  { status: 401, code: 'UNAUTHORIZED', when: 'no token or an unknown token' },
  { status: 403, code: 'FORBIDDEN', when: 'a subject token or a staff token without the dpo role' },
  { status: 429, code: 'RATE_LIMITED', when: 'too many requests (see Retry-After)' },
  { status: 503, code: 'KEY_STORE_UNAVAILABLE', when: 'the key store is down, personal fields cannot be decrypted (see Retry-After)' },
] as const;

@ApiTags('dpo')
@ApiBearerAuth()
@Controller('v1/dpo/requests')
@DpoOnly()
export class DpoListController {
  constructor(@Inject(RequestsReadModel) private readonly requests: RequestsReadModel) {}

  @Get()
  @ApiOperation({
    summary: 'The rights requests, with the subject’s details, deadlines and the overdue flag',
    description: 'Filter with `status=received` for the requests waiting for a decision, `status=overdue` for those past their deadline.',
  })
  @ApiOkResponse({ type: DpoRequestListDto })
  @ApiProblems(
    { status: 400, code: 'VALIDATION_FAILED', when: 'status is not received, in-progress, fulfilled, rejected or overdue, or limit is out of range' },
    { status: 400, code: 'UNKNOWN_FIELD', when: 'an unknown query parameter' },
    ...DPO_ROUTE_ERRORS,
  )
  async list(@Query() query: RequestListQuery): Promise<DpoRequestListDto> {
    return { requests: await this.requests.listForDpo(query.status, query.limit ?? DEFAULT_REQUEST_PAGE) };
  }
}
