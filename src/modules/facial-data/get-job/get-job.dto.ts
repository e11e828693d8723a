import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PURPOSES, type Purpose } from '../../../events/purposes';

export class JobErrorDto {
  @ApiProperty({
    description:
      'Stable code: PROCESSOR_UNSUPPORTED (no processor can do the purpose: ai-edit and time-painting need AI_PROCESSOR_URL), INVALID_OPTIONS, ' +
      'IMAGE_UNREADABLE, PROCESSOR_UNAVAILABLE, PROCESSOR_TIMEOUT, PROCESSOR_REJECTED, ORIGINAL_MISSING, WORKER_LOST (the worker stopped on ' +
      'the last allowed attempt), WORKER_ERROR',
    example: 'PROCESSOR_UNSUPPORTED',
  })
  code!: string;

  @ApiProperty({ description: 'A non-personal explanation' })
  message!: string;
}

export class JobRecordDto {
  @ApiProperty({ format: 'uuid' })
  jobId!: string;

  @ApiProperty({ format: 'uuid' })
  imageId!: string;

  @ApiProperty({ enum: PURPOSES })
  purpose!: Purpose;

  @ApiProperty({
    enum: ['queued', 'running', 'completed', 'failed', 'cancelled'],
    description: 'cancelled: consent withdrawn, purpose restricted, original deleted or account erased before the job finished',
  })
  status!: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

  @ApiPropertyOptional({ format: 'uuid', description: 'The artwork produced (completed jobs of purposes that produce one)' })
  artworkId?: string;

  @ApiPropertyOptional({ type: JobErrorDto, description: 'Why the job failed (failed jobs only)' })
  error?: JobErrorDto;
}
