import { Controller, Delete, HttpCode, Inject, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId } from '../../../common/http/request-context';
import { PURPOSES, type Purpose } from '../../../events/purposes';
import { ApiProblems, SUBJECT_ROUTE_ERRORS } from '../../identity/api-problems.decorator';
import { RestrictionDto } from '../get-consents/consent.dto';
import { PurposeParam } from '../purpose.param';
import { SetRestrictionCommand } from './restrict-processing.command';

const PURPOSE_ERROR = { status: 422, code: 'PURPOSE_NOT_ALLOWED', when: 'the purpose is not one of the six' } as const;

@ApiTags('consent')
@ApiBearerAuth()
@Controller('v1/me/restrictions')
@SubjectOnly()
export class RestrictProcessingController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Put(':purpose')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Restrict processing for one purpose',
    description: 'Records ProcessingRestricted (nothing when already restricted). While restricted, uploads and jobs of the purpose are refused with PURPOSE_RESTRICTED.',
  })
  @ApiParam({ name: 'purpose', enum: PURPOSES })
  @ApiOkResponse({ type: RestrictionDto })
  @ApiProblems(PURPOSE_ERROR, ...SUBJECT_ROUTE_ERRORS)
  async restrict(@PurposeParam() purpose: Purpose, @CurrentSubject() subject: SubjectPrincipal, @RequestId() requestId: string): Promise<RestrictionDto> {
    return this.commandBus.execute(new SetRestrictionCommand(subject.subjectId, purpose, true, commandContext(subject, requestId)));
  }

  @Delete(':purpose')
  @HttpCode(200)
  @ApiOperation({ summary: 'Lift the restriction of one purpose', description: 'Records RestrictionLifted (nothing when not restricted).' })
  @ApiParam({ name: 'purpose', enum: PURPOSES })
  @ApiOkResponse({ type: RestrictionDto })
  @ApiProblems(PURPOSE_ERROR, ...SUBJECT_ROUTE_ERRORS)
  async lift(@PurposeParam() purpose: Purpose, @CurrentSubject() subject: SubjectPrincipal, @RequestId() requestId: string): Promise<RestrictionDto> {
    return this.commandBus.execute(new SetRestrictionCommand(subject.subjectId, purpose, false, commandContext(subject, requestId)));
  }
}
