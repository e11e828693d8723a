import { ApiProperty } from '@nestjs/swagger';
import { PURPOSES, type Purpose } from '../../../events/purposes';

export class ArtworkRecordDto {
  @ApiProperty({ format: 'uuid' })
  artworkId!: string;

  @ApiProperty({ format: 'uuid', description: 'The job that produced it' })
  jobId!: string;

  @ApiProperty({ format: 'uuid', description: 'The original it was made from (which may since have been deleted)' })
  imageId!: string;

  @ApiProperty({ enum: PURPOSES })
  purpose!: Purpose;

  @ApiProperty({ enum: ['stored', 'deleted'], description: 'Artworks are kept until the user (or account deletion) deletes them' })
  status!: 'stored' | 'deleted';

  @ApiProperty({ enum: ['image/jpeg', 'image/png'] })
  contentType!: 'image/jpeg' | 'image/png';

  @ApiProperty({ minimum: 1 })
  width!: number;

  @ApiProperty({ minimum: 1 })
  height!: number;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

export class ArtworkListDto {
  @ApiProperty({ type: [ArtworkRecordDto], description: "The caller's artworks, oldest first" })
  artworks!: ArtworkRecordDto[];
}
