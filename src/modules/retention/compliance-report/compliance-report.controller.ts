import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditorOnly, CurrentStaff } from '../../../common/auth/auth.decorators';
import type { StaffPrincipal } from '../../../common/auth/principal';
import { RequestId } from '../../../common/http/request-context';
import { ApiProblems, AUDITOR_ERRORS } from '../../audit/audit-api-errors';
import { AuditTrail } from '../../audit/audit-trail.service';
import { RetentionReportDto } from './compliance-report.dto';
import { ComplianceReportService } from './compliance-report.service';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit/retention')
@AuditorOnly()
export class ComplianceReportController {
  constructor(
    @Inject(ComplianceReportService) private readonly reports: ComplianceReportService,
    @Inject(AuditTrail) private readonly trail: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Retention compliance report',
    description:
      'Per retention rule: items tracked, deleted on time, deleted late, overdue now and the largest lateness, computed from the log (through the retention ledger). ' +
      'The read is recorded as AuditorAccessed before the answer goes out. POST /v1/audit/verifications re-derives every deadline from the raw log independently.',
  })
  @ApiOkResponse({ type: RetentionReportDto })
  @ApiProblems(...AUDITOR_ERRORS)
  async report(@CurrentStaff() auditor: StaffPrincipal, @RequestId() requestId: string): Promise<RetentionReportDto> {
    const report = await this.reports.report();
    await this.trail.recordRead(auditor, requestId, { endpoint: 'GET /v1/audit/retention', query: {}, subjectId: null, resultCount: report.rules.length });
    return report;
  }
}
