import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { ApiProblems, SUBJECT_ROUTE_ERRORS } from '../../identity/api-problems.decorator';
import { ConsentsDto } from './consent.dto';
import { ConsentLedgerReader } from './consent-ledger.reader';

@ApiTags('consent')
@ApiBearerAuth()
@Controller('v1/me/consents')
@SubjectOnly()
export class GetConsentsController {
  constructor(@Inject(ConsentLedgerReader) private readonly ledger: ConsentLedgerReader) {}

  @Get()
  @ApiOperation({
    summary: "The subject's consent ledger: every purpose",
    description:
      'granted is true only for a consent given under the current policy version and not withdrawn; a consent given under an older ' +
      'version keeps its policyVersion but no longer counts until the subject consents again.',
  })
  @ApiOkResponse({ type: ConsentsDto })
  @ApiProblems(...SUBJECT_ROUTE_ERRORS)
  list(@CurrentSubject() subject: SubjectPrincipal): ConsentsDto {
    return { currentPolicyVersion: this.ledger.currentPolicyVersion, consents: this.ledger.consentsOf(subject.subjectId) };
  }
}
