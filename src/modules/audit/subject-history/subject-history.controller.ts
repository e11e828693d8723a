import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { ApiProblems, SUBJECT_ERRORS } from '../audit-api-errors';
import { SubjectHistoryReader } from '../read-models/subject-history.reader';
import { AccessLogDto, HistoryDto } from './subject-history.dto';

/** The subject's right to know: what was done with their facial data, and who read it. */
@ApiTags('subject rights')
@ApiBearerAuth()
@Controller('v1/me')
@SubjectOnly()
export class SubjectHistoryController {
  constructor(@Inject(SubjectHistoryReader) private readonly reader: SubjectHistoryReader) {}

  @Get('history')
  @ApiOperation({ summary: 'Every action on my facial data, oldest first (from the history projection)' })
  @ApiOkResponse({ type: HistoryDto })
  @ApiProblems(...SUBJECT_ERRORS)
  async history(@CurrentSubject() subject: SubjectPrincipal): Promise<HistoryDto> {
    return { events: await this.reader.history(subject.subjectId) };
  }

  @Get('access-log')
  @ApiOperation({ summary: 'Every read of my facial content: who, what, when, why' })
  @ApiOkResponse({ type: AccessLogDto })
  @ApiProblems(...SUBJECT_ERRORS.filter((e) => e.status !== 503))
  accessLog(@CurrentSubject() subject: SubjectPrincipal): AccessLogDto {
    return { accesses: this.reader.accessLog(subject.subjectId) };
  }
}
