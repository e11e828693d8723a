import { Body, Controller, HttpCode, Inject, Post, UseInterceptors } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, IdempotencyKey, RequestId } from '../../../common/http/request-context';
import { ApiErrors, COMMON_SUBJECT_ERRORS } from '../api-errors.decorator';
import { UploadImageCommand } from './upload-image.command';
import { requireAllowedPurpose } from './upload-image.decider';
import { UploadImageDto, UploadImageResponseDto } from './upload-image.dto';
import { RejectBiometricTemplatesInterceptor } from './reject-biometric-templates.interceptor';

@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/images')
@SubjectOnly()
export class UploadImageController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Post()
  @HttpCode(201)
  @UseInterceptors(RejectBiometricTemplatesInterceptor)
  @ApiOperation({
    summary: 'Upload an original (Base64 JSON)',
    description:
      'Stores the image encrypted under originals/ and records ImageUploaded (key, size, SHA-256, purpose, face boxes encrypted; never the bytes) ' +
      'and FaceDetectionLogged in the operation log. Checks, in order: biometric fields anywhere in the body, the body shape, the purpose, ' +
      'consent and restriction, Base64 and size, the real image type and dimensions, the face boxes. The same Idempotency-Key and body ' +
      'replays the first answer without writing anything.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–128 visible ASCII characters' })
  @ApiCreatedResponse({ type: UploadImageResponseDto })
  @ApiErrors(
    { status: 400, code: 'VALIDATION_FAILED', when: 'a field is missing or of the wrong type' },
    { status: 400, code: 'UNKNOWN_FIELD', when: 'the body (or a face box) has a field not described here' },
    { status: 400, code: 'MALFORMED_JSON', when: 'the body is not JSON' },
    { status: 400, code: 'INVALID_BASE64', when: 'imageBase64 is not canonical standard Base64' },
    { status: 400, code: 'INVALID_IDEMPOTENCY_KEY', when: 'the Idempotency-Key header is not 1–128 visible ASCII characters' },
    { status: 413, code: 'PAYLOAD_TOO_LARGE', when: 'the decoded image exceeds UPLOAD_MAX_BYTES (default 10 MiB), or the body the request limit' },
    { status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', when: 'any template / embedding / descriptor / landmark vector field, at any depth' },
    { status: 422, code: 'PURPOSE_NOT_ALLOWED', when: 'purpose is not one of the six' },
    { status: 422, code: 'CONSENT_REQUIRED', when: 'no consent to the purpose under the current policy version' },
    { status: 422, code: 'PURPOSE_RESTRICTED', when: 'the subject restricted processing for the purpose' },
    { status: 422, code: 'UNSUPPORTED_CONTENT_TYPE', when: 'contentType is not image/jpeg, image/png or image/heic' },
    { status: 422, code: 'CONTENT_TYPE_MISMATCH', when: 'the bytes are not of the declared type' },
    { status: 422, code: 'IMAGE_UNREADABLE', when: 'the image is damaged or truncated' },
    { status: 422, code: 'IMAGE_DIMENSIONS_REFUSED', when: 'a zero side, a side over 20,000 px, or more than IMAGE_MAX_PIXELS' },
    { status: 422, code: 'NO_FACE_DETECTED', when: 'faces is empty for a purpose that needs a face (all but erase-pen)' },
    { status: 422, code: 'FACE_BOX_OUT_OF_BOUNDS', when: 'a face box is not inside the (oriented) image' },
    { status: 422, code: 'TOO_MANY_FACES', when: 'more than 64 face boxes' },
    { status: 422, code: 'IDEMPOTENCY_KEY_REUSED', when: 'this Idempotency-Key was used with a different body' },
    ...COMMON_SUBJECT_ERRORS,
  )
  async upload(
    @CurrentSubject() subject: SubjectPrincipal,
    @Body() body: UploadImageDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @RequestId() requestId: string,
  ): Promise<UploadImageResponseDto> {
    const purpose = requireAllowedPurpose(body.purpose);
    const context = commandContext(subject, requestId, { key: idempotencyKey, operation: 'upload-image', body });
    const result = await this.commandBus.execute(
      new UploadImageCommand(subject.subjectId, { imageBase64: body.imageBase64, contentType: body.contentType, purpose, faces: body.faces }, context),
    );
    return { imageId: result.imageId, status: result.status, uploadedAt: result.uploadedAt };
  }
}
