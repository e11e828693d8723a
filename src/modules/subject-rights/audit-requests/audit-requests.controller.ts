import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditorOnly, CurrentStaff } from '../../../common/auth/auth.decorators';
import type { StaffPrincipal } from '../../../common/auth/principal';
import { RequestId } from '../../../common/http/request-context';
import { AUDITOR_ERRORS, ApiProblems } from '../../audit/audit-api-errors';
import { AuditTrail } from '../../audit/audit-trail.service';
import { DEFAULT_REQUEST_PAGE, RequestListQuery } from '../dpo-list/dpo-list.dto';
import { AuditRequestListDto } from '../requests/request-records.dto';
import { RequestsReadModel } from '../requests/requests.read-model';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit/requests')
@AuditorOnly()
export class AuditRequestsController {
  constructor(
    @Inject(RequestsReadModel) private readonly requests: RequestsReadModel,
    @Inject(AuditTrail) private readonly trail: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Rights requests with their deadline (`dueAt`) and `overdue` flag, for auditors',
    description: 'The non-personal skeleton only: no details, reasons or notes. The read is recorded (AuditorAccessed) before it is answered.',
  })
  @ApiOkResponse({ type: AuditRequestListDto })
  @ApiProblems(
    { status: 400, code: 'VALIDATION_FAILED', when: 'status is not received, in-progress, fulfilled, rejected or overdue, or limit is out of range' },
    { status: 400, code: 'UNKNOWN_FIELD', when: 'an unknown query parameter' },
    ...AUDITOR_ERRORS,
  )
  async list(@Query() query: RequestListQuery, @CurrentStaff() auditor: StaffPrincipal, @RequestId() requestId: string): Promise<AuditRequestListDto> {
    const requests = this.requests.listForAudit(query.status, query.limit ?? DEFAULT_REQUEST_PAGE);
    await this.trail.recordRead(auditor, requestId, {
      endpoint: 'GET /v1/audit/requests',
      query: { status: query.status, limit: query.limit },
      subjectId: null,
      resultCount: requests.length,
    });
    return { requests };
  }
}
