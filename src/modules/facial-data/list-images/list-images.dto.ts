import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PURPOSES, type Purpose } from '../../../events/purposes';

export class ImageRecordDto {
  @ApiProperty({ format: 'uuid' })
  imageId!: string;

  @ApiProperty({ enum: ['stored', 'deleted'] })
  status!: 'stored' | 'deleted';

  @ApiProperty({ enum: PURPOSES })
  purpose!: Purpose;

  @ApiProperty({ format: 'date-time' })
  uploadedAt!: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description:
      'When the original will have been deleted at the latest: the upload, or the completion of its first job, plus RETENTION_ORIGINAL_MAX ' +
      '(24 h by policy). Absent once deleted.',
  })
  deleteBy?: string;
}

export class ImageListDto {
  @ApiProperty({ type: [ImageRecordDto], description: "The caller's originals, oldest first" })
  images!: ImageRecordDto[];
}
