import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiBearerAuth, ApiHeader, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, IdempotencyKey, RequestId, UuidParam } from '../../../common/http/request-context';
import type { JsonObject } from '../../event-store/event-store.port';
import { ApiErrors, COMMON_SUBJECT_ERRORS, INVALID_ID_ERROR } from '../api-errors.decorator';
import { QueueJobCommand } from './queue-job.command';
import { QueueJobDto, QueueJobResponseDto } from './queue-job.dto';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/images')
@SubjectOnly()
export class QueueJobController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Post(':imageId/jobs')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue a processing job on an original',
    description:
      'Records JobQueued (options encrypted) and answers 202 at once; a processing worker runs the job later: it checks consent and ' +
      'restriction again at that moment, stages the decrypted input and intermediates as temporary objects (deleted as soon as the job ' +
      'ends), records every hand-over to a processor as a disclosure, and stores the artwork encrypted. Follow it with GET /v1/jobs/{jobId}. ' +
      'The same Idempotency-Key and body replays the first answer without writing anything.',
  })
  @ApiParam({ name: 'imageId', format: 'uuid' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–128 visible ASCII characters' })
  @ApiAcceptedResponse({ type: QueueJobResponseDto })
  @ApiErrors(
    INVALID_ID_ERROR('imageId'),
    { status: 400, code: 'VALIDATION_FAILED', when: 'purpose is missing or not a string, or options is not a JSON object' },
    { status: 400, code: 'UNKNOWN_FIELD', when: 'the body has a field other than purpose and options' },
    { status: 400, code: 'MALFORMED_JSON', when: 'the body is not JSON' },
    { status: 400, code: 'INVALID_IDEMPOTENCY_KEY', when: 'the Idempotency-Key header is not 1–128 visible ASCII characters' },
    { status: 404, code: 'IMAGE_NOT_FOUND', when: 'no such image, or another subject’s' },
    { status: 410, code: 'IMAGE_DELETED', when: 'the original has been deleted' },
    { status: 422, code: 'PURPOSE_NOT_ALLOWED', when: 'purpose is not one of the six' },
    { status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', when: 'options carry a template / embedding / descriptor / landmark vector field' },
    { status: 422, code: 'CONSENT_REQUIRED', when: 'no consent to the purpose under the current policy version' },
    { status: 422, code: 'PURPOSE_RESTRICTED', when: 'the subject restricted processing for the purpose' },
    { status: 422, code: 'NO_FACE_DETECTED', when: 'the image has no face box and the purpose needs one (all but erase-pen)' },
    { status: 422, code: 'IDEMPOTENCY_KEY_REUSED', when: 'this Idempotency-Key was used with a different request' },
    ...COMMON_SUBJECT_ERRORS,
  )
  async queue(
    @CurrentSubject() subject: SubjectPrincipal,
    @UuidParam('imageId') imageId: string,
    @Body() body: QueueJobDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @RequestId() requestId: string,
  ): Promise<QueueJobResponseDto> {
    const options = (body.options ?? {}) as JsonObject;
    const context = commandContext(subject, requestId, { key: idempotencyKey, operation: `queue-job:${imageId}`, body: { purpose: body.purpose, options } });
    const result = await this.commandBus.execute(new QueueJobCommand(subject.subjectId, imageId, body.purpose, options, context));
    return { jobId: result.jobId, status: result.status };
  }
}
