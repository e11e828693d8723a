import { Controller, Delete, HttpCode, Inject } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiNoContentResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId, UuidParam } from '../../../common/http/request-context';
import { ApiErrors, COMMON_SUBJECT_ERRORS, INVALID_ID_ERROR } from '../api-errors.decorator';
import { DeleteImageCommand } from './delete-image.command';

@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/images')
@SubjectOnly()
export class DeleteImageController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Delete(':imageId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete an original now',
    description:
      'Removes the object, then records ImageDeleted (reason "user") and cancels the image’s unfinished jobs. Idempotent: deleting an ' +
      'already deleted image answers 204 and records nothing.',
  })
  @ApiParam({ name: 'imageId', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Deleted (or already deleted)' })
  @ApiErrors(
    INVALID_ID_ERROR('imageId'),
    { status: 404, code: 'IMAGE_NOT_FOUND', when: 'no such image, or another subject’s' },
    { status: 409, code: 'CONCURRENCY_CONFLICT', when: 'the image kept changing concurrently; retry' },
    ...COMMON_SUBJECT_ERRORS,
  )
  async delete(@CurrentSubject() subject: SubjectPrincipal, @UuidParam('imageId') imageId: string, @RequestId() requestId: string): Promise<void> {
    await this.commandBus.execute(new DeleteImageCommand(subject.subjectId, imageId, 'user', commandContext(subject, requestId)));
  }
}
