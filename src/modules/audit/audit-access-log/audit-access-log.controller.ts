import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditorOnly, CurrentStaff } from '../../../common/auth/auth.decorators';
import type { StaffPrincipal } from '../../../common/auth/principal';
import { badRequest } from '../../../common/errors/domain-error';
import { RequestId } from '../../../common/http/request-context';
import { ApiProblems, AUDITOR_ERRORS } from '../audit-api-errors';
import { parsePosition } from '../audit-events/audit-position';
import { AuditTrail } from '../audit-trail.service';
import { SubjectHistoryReader } from '../read-models/subject-history.reader';
import { AuditAccessLogDto, AuditAccessLogQuery, DEFAULT_ACCESS_PAGE } from './audit-access-log.dto';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit/access-log')
@AuditorOnly()
export class AuditAccessLogController {
  constructor(
    @Inject(SubjectHistoryReader) private readonly reader: SubjectHistoryReader,
    @Inject(AuditTrail) private readonly trail: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every read of facial content (views, disclosures to processors, exports, auditor reads), filtered, in log order' })
  @ApiOkResponse({ type: AuditAccessLogDto })
  @ApiProblems(
    { status: 400, code: 'INVALID_POSITION', when: 'fromPosition is not "<commit>:<prepare>"' },
    { status: 400, code: 'INVALID_TIME_RANGE', when: 'from is after to' },
    { status: 400, code: 'VALIDATION_FAILED', when: 'a filter is malformed' },
    { status: 400, code: 'UNKNOWN_FIELD', when: 'an unknown query parameter' },
    ...AUDITOR_ERRORS,
  )
  async search(@Query() query: AuditAccessLogQuery, @CurrentStaff() auditor: StaffPrincipal, @RequestId() requestId: string): Promise<AuditAccessLogDto> {
    const from = query.from !== undefined ? new Date(query.from).toISOString() : undefined;
    const to = query.to !== undefined ? new Date(query.to).toISOString() : undefined;
    if (from !== undefined && to !== undefined && from > to) throw badRequest('INVALID_TIME_RANGE', 'from must not be after to');
    const after = query.fromPosition !== undefined ? parsePosition(query.fromPosition) : undefined;
    const page = this.reader.searchAccesses({ subjectId: query.subjectId, actor: query.actor, from, to, after, limit: query.limit ?? DEFAULT_ACCESS_PAGE });
    await this.trail.recordRead(auditor, requestId, {
      endpoint: 'GET /v1/audit/access-log',
      query: { subjectId: query.subjectId, actor: query.actor, from, to, fromPosition: query.fromPosition, limit: query.limit },
      subjectId: query.subjectId ?? null,
      resultCount: page.accesses.length,
    });
    return page;
  }
}
