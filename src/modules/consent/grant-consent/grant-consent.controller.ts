import { Body, Controller, HttpCode, Inject, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId } from '../../../common/http/request-context';
import { PURPOSES, type Purpose } from '../../../events/purposes';
import { ApiProblems, BODY_ERRORS, SUBJECT_ROUTE_ERRORS } from '../../identity/api-problems.decorator';
import { ConsentDto, GrantConsentDto } from '../get-consents/consent.dto';
import { PurposeParam } from '../purpose.param';
import { GrantConsentCommand } from './grant-consent.command';

@ApiTags('consent')
@ApiBearerAuth()
@Controller('v1/me/consents')
@SubjectOnly()
export class GrantConsentController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Put(':purpose')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Consent to one purpose under the current policy version',
    description: 'Records ConsentGranted in subject-<id>. Giving a consent that already counts records nothing.',
  })
  @ApiParam({ name: 'purpose', enum: PURPOSES })
  @ApiOkResponse({ type: ConsentDto, description: "The purpose's consent, granted" })
  @ApiProblems(
    ...BODY_ERRORS,
    { status: 422, code: 'PURPOSE_NOT_ALLOWED', when: 'the purpose is not one of the six' },
    { status: 422, code: 'POLICY_VERSION_MISMATCH', when: 'policyVersion is not the current one (named in detail and in currentPolicyVersion)' },
    ...SUBJECT_ROUTE_ERRORS,
  )
  async grant(
    @PurposeParam() purpose: Purpose,
    @CurrentSubject() subject: SubjectPrincipal,
    @Body() body: GrantConsentDto,
    @RequestId() requestId: string,
  ): Promise<ConsentDto> {
    return this.commandBus.execute(new GrantConsentCommand(subject.subjectId, purpose, body.policyVersion, commandContext(subject, requestId)));
  }
}
