import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { ApiErrors, COMMON_SUBJECT_ERRORS } from '../api-errors.decorator';
import { ArtworksReadModel } from '../artworks/artworks.read-model';
import { ArtworkListDto } from './list-artworks.dto';

@ApiTags('artworks')
@ApiBearerAuth()
@Controller('v1/artworks')
@SubjectOnly()
export class ListArtworksController {
  constructor(@Inject(ArtworksReadModel) private readonly artworks: ArtworksReadModel) {}

  @Get()
  @ApiOperation({ summary: "The caller's artworks, stored and deleted" })
  @ApiOkResponse({ type: ArtworkListDto })
  @ApiErrors(...COMMON_SUBJECT_ERRORS.filter((e) => e.status !== 503))
  list(@CurrentSubject() subject: SubjectPrincipal): ArtworkListDto {
    return { artworks: this.artworks.list(subject.subjectId) };
  }
}
