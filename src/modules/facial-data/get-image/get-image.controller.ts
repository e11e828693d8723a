import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { UuidParam } from '../../../common/http/request-context';
import { ApiErrors, COMMON_SUBJECT_ERRORS, INVALID_ID_ERROR } from '../api-errors.decorator';
import { ImagesReadModel } from '../images/images.read-model';
import { ImageRecordDto } from '../list-images/list-images.dto';
import { imageNotFound } from '../read-image-content/read-image-content.decider';

@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/images')
@SubjectOnly()
export class GetImageController {
  constructor(@Inject(ImagesReadModel) private readonly images: ImagesReadModel) {}

  @Get(':imageId')
  @ApiOperation({ summary: 'One of the caller’s originals (metadata only)' })
  @ApiParam({ name: 'imageId', format: 'uuid' })
  @ApiOkResponse({ type: ImageRecordDto })
  @ApiErrors(
    INVALID_ID_ERROR('imageId'),
    { status: 404, code: 'IMAGE_NOT_FOUND', when: 'no such image, or another subject’s' },
    ...COMMON_SUBJECT_ERRORS.filter((e) => e.status !== 503),
  )
  get(@CurrentSubject() subject: SubjectPrincipal, @UuidParam('imageId') imageId: string): ImageRecordDto {
    const record = this.images.get(subject.subjectId, imageId);
    if (!record) throw imageNotFound();
    return record;
  }
}
