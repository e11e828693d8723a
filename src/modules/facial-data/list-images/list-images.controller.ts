import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { ApiErrors, COMMON_SUBJECT_ERRORS } from '../api-errors.decorator';
import { ImagesReadModel } from '../images/images.read-model';
import { ImageListDto } from './list-images.dto';

@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/images')
@SubjectOnly()
export class ListImagesController {
  constructor(@Inject(ImagesReadModel) private readonly images: ImagesReadModel) {}

  @Get()
  @ApiOperation({ summary: "The caller's originals, stored and deleted, with each stored one's retention deadline" })
  @ApiOkResponse({ type: ImageListDto })
  @ApiErrors(...COMMON_SUBJECT_ERRORS.filter((e) => e.status !== 503))
  list(@CurrentSubject() subject: SubjectPrincipal): ImageListDto {
    return { images: this.images.list(subject.subjectId) };
  }
}
