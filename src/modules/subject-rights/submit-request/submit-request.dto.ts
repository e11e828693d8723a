import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, Length, Matches } from 'class-validator';
import { REQUEST_TYPES, type RightsRequestType } from '../../../events/subject-rights.events';
import { RESOURCE_PATTERN } from '../requests/rights-resource';

export class SubmitRequestDto {
  @ApiProperty({ enum: REQUEST_TYPES })
  @IsIn(REQUEST_TYPES)
  type!: RightsRequestType;

  @ApiPropertyOptional({
    description: 'What the request is about: `image:<id>`, `artwork:<id>`, `job:<id>` or `purpose:<purpose>` (one of the six purposes)',
    example: 'purpose:ai-edit',
  })
  @IsOptional()
  @IsString()
  @Matches(RESOURCE_PATTERN, { message: 'resource must be image:<uuid>, artwork:<uuid>, job:<uuid> or purpose:<purpose>' })
  resource?: string;

  @ApiPropertyOptional({
    description: 'Free text for the DPO (stored encrypted). A request with details always waits for the DPO’s decision.',
    minLength: 1,
    maxLength: 4000,
  })
  @IsOptional()
  @IsString()
  @Length(1, 4000)
  details?: string;

  @ApiPropertyOptional({
    description:
      'Corrections only: the corrected processing options for the job named in `resource` (the same shape as the job’s options, stored ' +
      'encrypted). The job is re-run at once on the same original; when it completes, the superseded artwork is deleted and the request fulfilled.',
    type: 'object',
    additionalProperties: true,
    example: { regions: [{ x: 10, y: 20, width: 30, height: 12 }] },
  })
  @IsOptional()
  @IsObject()
  options?: Record<string, unknown>;
}
