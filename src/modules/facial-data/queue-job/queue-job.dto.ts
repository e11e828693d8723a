import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { PURPOSES } from '../../../events/purposes';

export class QueueJobDto {
  @ApiProperty({ description: 'What the job does with the image; any other value is 422 PURPOSE_NOT_ALLOWED', enum: PURPOSES })
  @IsString()
  @MaxLength(100)
  purpose!: string;

  @ApiPropertyOptional({
    description:
      'Purpose-specific options, stored encrypted (personal). erase-pen: `{ "regions": [{ "x", "y", "width", "height" }] }` in displayed-image ' +
      'pixels (1–32 regions, at most half the picture); the local processor takes no options for photo-enlarge, photo-restore and ' +
      'face-detection-verification; ai-edit and time-painting options go to the AI servers. Options the processor cannot use make the job ' +
      'fail with INVALID_OPTIONS. Never a biometric template (422 BIOMETRIC_TEMPLATE_REJECTED).',
    type: 'object',
    additionalProperties: true,
    example: { regions: [{ x: 10, y: 20, width: 30, height: 12 }] },
  })
  @IsOptional()
  @IsObject()
  options?: Record<string, unknown>;
}

export class QueueJobResponseDto {
  @ApiProperty({ format: 'uuid' })
  jobId!: string;

  @ApiProperty({ enum: ['queued'] })
  status!: 'queued';
}
