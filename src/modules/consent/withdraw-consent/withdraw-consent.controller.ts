import { Controller, Delete, HttpCode, Inject } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId } from '../../../common/http/request-context';
import { PURPOSES, type Purpose } from '../../../events/purposes';
import { ApiProblems, SUBJECT_ROUTE_ERRORS } from '../../identity/api-problems.decorator';
import { ConsentDto } from '../get-consents/consent.dto';
import { PurposeParam } from '../purpose.param';
import { WithdrawConsentCommand } from './withdraw-consent.command';

@ApiTags('consent')
@ApiBearerAuth()
@Controller('v1/me/consents')
@SubjectOnly()
export class WithdrawConsentController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Delete(':purpose')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Withdraw consent to one purpose',
    description:
      "Records ConsentWithdrawn (nothing when no consent is in place), then cancels the purpose's queued and running jobs (JobCancelled, " +
      'reason consent-withdrawn). Uploads and jobs for the purpose are refused with CONSENT_REQUIRED until the subject consents again.',
  })
  @ApiParam({ name: 'purpose', enum: PURPOSES })
  @ApiOkResponse({ type: ConsentDto, description: "The purpose's consent, withdrawn" })
  @ApiProblems({ status: 422, code: 'PURPOSE_NOT_ALLOWED', when: 'the purpose is not one of the six' }, ...SUBJECT_ROUTE_ERRORS)
  async withdraw(@PurposeParam() purpose: Purpose, @CurrentSubject() subject: SubjectPrincipal, @RequestId() requestId: string): Promise<ConsentDto> {
    return this.commandBus.execute(new WithdrawConsentCommand(subject.subjectId, purpose, commandContext(subject, requestId)));
  }
}
