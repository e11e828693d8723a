import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentStaff, DpoOnly } from '../../../common/auth/auth.decorators';
import type { StaffPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId, UuidParam } from '../../../common/http/request-context';
import { ApiProblems, BODY_ERRORS } from '../../identity/api-problems.decorator';
import { DPO_ROUTE_ERRORS } from '../dpo-list/dpo-list.controller';
import { DpoRequestRecordDto } from '../requests/request-records.dto';
import { DpoDecideCommand } from './dpo-decide.command';
import { DpoDecisionDto } from './dpo-decide.dto';

@ApiTags('dpo')
@ApiBearerAuth()
@Controller('v1/dpo/requests')
@DpoOnly()
export class DpoDecideController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Post(':requestId/decisions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Decide a rights request',
    description:
      'Rejected: RightsRequestRejected with the reason (required, shown to the subject). Fulfilled: what the request names is carried out ' +
      '(a deletion of an image or artwork, a restriction of a purpose, an access snapshot, an export link) and RightsRequestFulfilled is ' +
      'recorded with `decidedBy: dpo:<name>` and the reason, if any, as a note to the subject.',
  })
  @ApiParam({ name: 'requestId', format: 'uuid' })
  @ApiOkResponse({ type: DpoRequestRecordDto, description: 'The request, decided' })
  @ApiProblems(
    ...BODY_ERRORS,
    { status: 400, code: 'INVALID_ID', when: 'requestId is not a UUID' },
    { status: 404, code: 'REQUEST_NOT_FOUND', when: 'no such request' },
    { status: 409, code: 'REQUEST_ALREADY_DECIDED', when: 'the request was already fulfilled or rejected' },
    { status: 422, code: 'REASON_REQUIRED', when: 'a rejection without a reason' },
    ...DPO_ROUTE_ERRORS,
    { status: 503, code: 'EVENT_STORE_UNAVAILABLE', when: 'the event store is down; nothing was recorded (see Retry-After)' },
  )
  async decide(
    @UuidParam('requestId') requestId: string,
    @Body() body: DpoDecisionDto,
    @CurrentStaff() dpo: StaffPrincipal,
    @RequestId() httpRequestId: string,
  ): Promise<DpoRequestRecordDto> {
    return this.commandBus.execute(new DpoDecideCommand(requestId, body.outcome, body.reason ?? null, dpo.actor, commandContext(dpo, httpRequestId)));
  }
}
