import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, IdempotencyKey, RequestId } from '../../../common/http/request-context';
import type { JsonObject } from '../../event-store/event-store.port';
import { ApiProblems, BODY_ERRORS, SUBJECT_ROUTE_ERRORS } from '../../identity/api-problems.decorator';
import { RequestRecordDto } from '../requests/request-records.dto';
import { SubmitRequestCommand } from './submit-request.command';
import { SubmitRequestDto } from './submit-request.dto';

export const SUBMIT_REQUEST_OPERATION = 'POST /v1/me/requests';

@ApiTags('subject rights')
@ApiBearerAuth()
@Controller('v1/me/requests')
@SubjectOnly()
export class SubmitRequestController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Make a rights request (access, export, deletion, correction, restriction)',
    description:
      'Records RightsRequestReceived in its own stream `request-<id>` with `dueAt`: the end of the 5th business day after receipt in ' +
      'Asia/Shanghai (weekends and the holiday calendar skipped, adjusted working days counted). What the system can do on its own is done ' +
      'at once and recorded (RightsRequestProcessingStarted, then RightsRequestFulfilled): access → a history snapshot; export → a link to ' +
      'GET /v1/me/export; deletion of an `image:`/`artwork:` → deleted (reason rights-request); restriction of a `purpose:` → ' +
      'ProcessingRestricted; correction of a completed `job:` with `options` → the job re-run with them (the request is fulfilled when it ' +
      'completes and the superseded artwork is deleted). Anything with `details`, or a correction of a disputed result, waits for the DPO ' +
      '(`needsDecision`). A correction that cannot run (original deleted, no consent) is received and rejected with the reason. ' +
      'The same Idempotency-Key and body replays the first answer without writing anything.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–128 visible ASCII characters' })
  @ApiCreatedResponse({ type: RequestRecordDto })
  @ApiProblems(
    ...BODY_ERRORS,
    { status: 400, code: 'INVALID_IDEMPOTENCY_KEY', when: 'the Idempotency-Key header is not 1–128 visible ASCII characters' },
    { status: 404, code: 'IMAGE_NOT_FOUND', when: 'resource names an image that is not the subject’s' },
    { status: 404, code: 'ARTWORK_NOT_FOUND', when: 'resource names an artwork that is not the subject’s' },
    { status: 404, code: 'JOB_NOT_FOUND', when: 'resource names a job that is not the subject’s' },
    { status: 422, code: 'PURPOSE_NOT_ALLOWED', when: 'resource names a purpose that is not one of the six' },
    { status: 422, code: 'RESOURCE_REQUIRED', when: 'a deletion or restriction without resource nor details, or a correction without a job' },
    { status: 422, code: 'RESOURCE_NOT_APPLICABLE', when: 'an export with a resource' },
    { status: 422, code: 'UNSUPPORTED_RESOURCE', when: 'a resource of a kind the type does not take (deletion: image/artwork; restriction: purpose; correction: job)' },
    { status: 422, code: 'OPTIONS_NOT_APPLICABLE', when: 'options on a request other than a correction' },
    { status: 422, code: 'OPTIONS_WITH_DETAILS', when: 'a correction with both options and details' },
    { status: 422, code: 'CORRECTION_DETAILS_REQUIRED', when: 'a correction with neither options nor details' },
    { status: 422, code: 'JOB_NOT_COMPLETED', when: 'a correction with options of a job that has not completed' },
    { status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', when: 'options carry a template / embedding / descriptor / landmark vector field' },
    { status: 422, code: 'IDEMPOTENCY_KEY_REUSED', when: 'this Idempotency-Key was used with a different request' },
    ...SUBJECT_ROUTE_ERRORS,
  )
  async submit(
    @CurrentSubject() subject: SubjectPrincipal,
    @Body() body: SubmitRequestDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @RequestId() requestId: string,
  ): Promise<RequestRecordDto> {
    const details = body.details ?? null;
    const options = body.options !== undefined ? (body.options as JsonObject) : null;
    const resource = body.resource ?? null;
    const context = commandContext(subject, requestId, { key: idempotencyKey, operation: SUBMIT_REQUEST_OPERATION, body: { type: body.type, resource, details, options } });
    return this.commandBus.execute(new SubmitRequestCommand(subject.subjectId, body.type, resource, details, options, context));
  }
}
