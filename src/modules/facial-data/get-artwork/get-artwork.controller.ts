import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { UuidParam } from '../../../common/http/request-context';
import { ApiErrors, COMMON_SUBJECT_ERRORS, INVALID_ID_ERROR } from '../api-errors.decorator';
import { ArtworksReadModel } from '../artworks/artworks.read-model';
import { ArtworkRecordDto } from '../list-artworks/list-artworks.dto';
import { artworkNotFound } from '../read-artwork-content/read-artwork-content.decider';

@ApiTags('artworks')
@ApiBearerAuth()
@Controller('v1/artworks')
@SubjectOnly()
export class GetArtworkController {
  constructor(@Inject(ArtworksReadModel) private readonly artworks: ArtworksReadModel) {}

  @Get(':artworkId')
  @ApiOperation({ summary: 'One of the caller’s artworks (metadata only)' })
  @ApiParam({ name: 'artworkId', format: 'uuid' })
  @ApiOkResponse({ type: ArtworkRecordDto })
  @ApiErrors(
    INVALID_ID_ERROR('artworkId'),
    { status: 404, code: 'ARTWORK_NOT_FOUND', when: 'no such artwork, or another subject’s' },
    ...COMMON_SUBJECT_ERRORS.filter((e) => e.status !== 503),
  )
  get(@CurrentSubject() subject: SubjectPrincipal, @UuidParam('artworkId') artworkId: string): ArtworkRecordDto {
    const record = this.artworks.get(subject.subjectId, artworkId);
    if (!record) throw artworkNotFound();
    return record;
  }
}
