import { Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditorOnly, CurrentStaff } from '../../../common/auth/auth.decorators';
import type { StaffPrincipal } from '../../../common/auth/principal';
import { RequestId } from '../../../common/http/request-context';
import { ApiProblems, AUDITOR_ERRORS } from '../audit-api-errors';
import { VerifyProjections } from './verify-projections.command';
import { VerificationDto } from './verify-projections.dto';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit/verifications')
@AuditorOnly()
export class VerifyProjectionsController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Replay the whole log into fresh projections and compare them with the live ones, row by row',
    description:
      'The replay runs into a scratch database, each projection up to its live checkpoint, while the service keeps running; the live rows are read ' +
      'from a snapshot at those checkpoints. Registered checks (retention deadlines) run on the same replay. The result is recorded as VerificationCompleted.',
  })
  @ApiCreatedResponse({ type: VerificationDto })
  @ApiProblems(
    { status: 409, code: 'VERIFICATION_IN_PROGRESS', when: 'a verification is already running on this instance' },
    ...AUDITOR_ERRORS,
  )
  async verify(@CurrentStaff() auditor: StaffPrincipal, @RequestId() requestId: string): Promise<VerificationDto> {
    const outcome = await this.commands.execute(new VerifyProjections(auditor, requestId));
    return outcome as unknown as VerificationDto;
  }
}
