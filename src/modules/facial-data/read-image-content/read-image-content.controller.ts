import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId, UuidParam } from '../../../common/http/request-context';
import { ApiErrors, COMMON_SUBJECT_ERRORS, INVALID_ID_ERROR } from '../api-errors.decorator';
import { ReadImageContentCommand } from './read-image-content.command';

@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/images')
@SubjectOnly()
export class ReadImageContentController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Get(':imageId/content')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'The original bytes (decrypted), with their content type',
    description: 'Every read appends ImageViewed (actor, time, purpose of access "subject-view") before the bytes are sent.',
  })
  @ApiParam({ name: 'imageId', format: 'uuid' })
  @ApiProduces('image/jpeg', 'image/png', 'image/heic')
  @ApiOkResponse({ description: 'The image bytes', schema: { type: 'string', format: 'binary' } })
  @ApiErrors(
    INVALID_ID_ERROR('imageId'),
    { status: 404, code: 'IMAGE_NOT_FOUND', when: 'no such image, or another subject’s' },
    { status: 410, code: 'IMAGE_DELETED', when: 'the original has been deleted' },
    { status: 410, code: 'SUBJECT_ERASED', when: 'the account’s data key has been destroyed' },
    ...COMMON_SUBJECT_ERRORS,
  )
  async content(
    @CurrentSubject() subject: SubjectPrincipal,
    @UuidParam('imageId') imageId: string,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const content = await this.commandBus.execute(new ReadImageContentCommand(subject.subjectId, imageId, commandContext(subject, requestId)));
    void reply.header('Content-Type', content.contentType);
    return content.bytes;
  }
}
