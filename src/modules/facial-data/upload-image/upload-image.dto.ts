import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsNumber, IsString, MaxLength, ValidateNested } from 'class-validator';
import { Base64Text } from '../../../common/http/base64-text';
import { IsBase64Text } from '../../../common/http/is-base64-text.decorator';
import { PURPOSES } from '../../../events/purposes';
import { MAX_FACE_BOXES } from '../image-inspection/face-boxes';
import { SUPPORTED_IMAGE_TYPES } from '../image-inspection/image-inspector';

/** A face box in displayed-image pixels (after EXIF / irot orientation). Geometry only. */
export class FaceBoxDto {
  @ApiProperty({ description: 'Left edge, pixels from the left (≥ 0)', example: 120 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  x!: number;

  @ApiProperty({ description: 'Top edge, pixels from the top (≥ 0)', example: 80 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  y!: number;

  @ApiProperty({ description: 'Width in pixels (≥ 1); x + width ≤ image width', example: 200 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  width!: number;

  @ApiProperty({ description: 'Height in pixels (≥ 1); y + height ≤ image height', example: 240 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  height!: number;
}

export class UploadImageDto {
  @ApiProperty({
    description:
      'The image bytes in canonical standard Base64 (RFC 4648 §4): no data: prefix, no line breaks, padded. ' +
      'At most UPLOAD_MAX_BYTES (default 10 MiB) once decoded.',
    format: 'byte',
    type: String,
  })
  @IsBase64Text()
  imageBase64!: string | Base64Text;

  @ApiProperty({ description: 'The declared type; the bytes must really be of this type', enum: SUPPORTED_IMAGE_TYPES })
  @IsString()
  @MaxLength(100)
  contentType!: string;

  @ApiProperty({ description: 'What the image is uploaded for; any other value is 422 PURPOSE_NOT_ALLOWED', enum: PURPOSES })
  @IsString()
  @MaxLength(100)
  purpose!: string;

  @ApiProperty({
    description:
      `Face boxes found on the device (geometry only; no template, embedding, descriptor or landmarks), at most ${MAX_FACE_BOXES}. ` +
      'At least one is required for every purpose except erase-pen.',
    type: [FaceBoxDto],
  })
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => FaceBoxDto)
  faces!: FaceBoxDto[];
}

export class UploadImageResponseDto {
  @ApiProperty({ format: 'uuid' })
  imageId!: string;

  @ApiProperty({ enum: ['stored'] })
  status!: 'stored';

  @ApiProperty({ format: 'date-time' })
  uploadedAt!: string;
}
