import { Controller, Delete, HttpCode, Inject } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiNoContentResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId, UuidParam } from '../../../common/http/request-context';
import { ApiErrors, COMMON_SUBJECT_ERRORS, INVALID_ID_ERROR } from '../api-errors.decorator';
import { DeleteArtworkCommand } from './delete-artwork.command';

@ApiTags('artworks')
@ApiBearerAuth()
@Controller('v1/artworks')
@SubjectOnly()
export class DeleteArtworkController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Delete(':artworkId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete an artwork now',
    description: 'Removes the object, then records ArtworkDeleted (reason "user"). Idempotent: an already deleted artwork answers 204 and records nothing.',
  })
  @ApiParam({ name: 'artworkId', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Deleted (or already deleted)' })
  @ApiErrors(
    INVALID_ID_ERROR('artworkId'),
    { status: 404, code: 'ARTWORK_NOT_FOUND', when: 'no such artwork, or another subject’s' },
    { status: 409, code: 'CONCURRENCY_CONFLICT', when: 'the artwork kept changing concurrently; retry' },
    ...COMMON_SUBJECT_ERRORS,
  )
  async delete(@CurrentSubject() subject: SubjectPrincipal, @UuidParam('artworkId') artworkId: string, @RequestId() requestId: string): Promise<void> {
    await this.commandBus.execute(new DeleteArtworkCommand(subject.subjectId, artworkId, 'user', commandContext(subject, requestId)));
  }
}
