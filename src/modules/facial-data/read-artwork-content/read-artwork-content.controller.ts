import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId, UuidParam } from '../../../common/http/request-context';
import { ApiErrors, COMMON_SUBJECT_ERRORS, INVALID_ID_ERROR } from '../api-errors.decorator';
import { ReadArtworkContentCommand } from './read-artwork-content.command';

@ApiTags('artworks')
@ApiBearerAuth()
@Controller('v1/artworks')
@SubjectOnly()
export class ReadArtworkContentController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Get(':artworkId/content')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'The artwork bytes (decrypted), with their content type',
    description: 'Every read appends ArtworkViewed (actor, time, purpose of access "subject-view") before the bytes are sent.',
  })
  @ApiParam({ name: 'artworkId', format: 'uuid' })
  @ApiProduces('image/jpeg', 'image/png')
  @ApiOkResponse({ description: 'The artwork bytes', schema: { type: 'string', format: 'binary' } })
  @ApiErrors(
    INVALID_ID_ERROR('artworkId'),
    { status: 404, code: 'ARTWORK_NOT_FOUND', when: 'no such artwork, or another subject’s' },
    { status: 410, code: 'ARTWORK_DELETED', when: 'the artwork has been deleted' },
    { status: 410, code: 'SUBJECT_ERASED', when: 'the account’s data key has been destroyed' },
    ...COMMON_SUBJECT_ERRORS,
  )
  async content(
    @CurrentSubject() subject: SubjectPrincipal,
    @UuidParam('artworkId') artworkId: string,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const content = await this.commandBus.execute(new ReadArtworkContentCommand(subject.subjectId, artworkId, commandContext(subject, requestId)));
    void reply.header('Content-Type', content.contentType);
    return content.bytes;
  }
}
