import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { AuditorOnly, CurrentStaff } from '../../../common/auth/auth.decorators';
import type { StaffPrincipal } from '../../../common/auth/principal';
import { notFound } from '../../../common/errors/domain-error';
import { RequestId, UuidParam } from '../../../common/http/request-context';
import { ApiProblems, AUDITOR_ERRORS } from '../audit-api-errors';
import { AuditTrail } from '../audit-trail.service';
import { SubjectHistoryReader } from '../read-models/subject-history.reader';
import { HistoryEntryDto } from '../subject-history/subject-history.dto';

export class AuditSubjectHistoryDto {
  @ApiProperty({ format: 'uuid' })
  subjectId!: string;

  @ApiProperty({ type: [HistoryEntryDto], description: 'The subject’s full timeline, oldest first; personal fields decrypted, "[shredded]" once erased' })
  events!: HistoryEntryDto[];
}

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit/subjects')
@AuditorOnly()
export class AuditSubjectHistoryController {
  constructor(
    @Inject(SubjectHistoryReader) private readonly reader: SubjectHistoryReader,
    @Inject(AuditTrail) private readonly trail: AuditTrail,
  ) {}

  @Get(':subjectId/history')
  @ApiOperation({
    summary: 'One subject’s full timeline',
    description: 'Personal fields are decrypted with the subject’s key (read "[shredded]" after erasure). Recorded as AuditorAccessed about the subject, which the subject sees in their own history and access log.',
  })
  @ApiOkResponse({ type: AuditSubjectHistoryDto })
  @ApiProblems(
    { status: 400, code: 'INVALID_ID', when: 'subjectId is not a UUID' },
    { status: 404, code: 'SUBJECT_NOT_FOUND', when: 'the log knows nothing about this subject' },
    ...AUDITOR_ERRORS,
    { status: 503, code: 'KEY_STORE_UNAVAILABLE', when: 'the key store is down (see Retry-After)' },
  )
  async history(@UuidParam('subjectId') subjectId: string, @CurrentStaff() auditor: StaffPrincipal, @RequestId() requestId: string): Promise<AuditSubjectHistoryDto> {
    if (!this.reader.subjectKnown(subjectId)) throw notFound('SUBJECT_NOT_FOUND', 'No subject with this id is known to the log');
    const events = await this.reader.history(subjectId);
    await this.trail.recordRead(auditor, requestId, { endpoint: 'GET /v1/audit/subjects/{subjectId}/history', query: { subjectId }, subjectId, resultCount: events.length });
    return { subjectId, events };
  }
}
