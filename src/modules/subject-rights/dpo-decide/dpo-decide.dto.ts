import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { DPO_OUTCOMES, type DpoOutcome } from './dpo-decide.decider';

export class DpoDecisionDto {
  @ApiProperty({ enum: DPO_OUTCOMES })
  @IsIn(DPO_OUTCOMES)
  outcome!: DpoOutcome;

  @ApiPropertyOptional({
    description: 'Required when rejected (422 REASON_REQUIRED): shown to the subject. With a fulfilment, an optional note to the subject. Stored encrypted.',
    maxLength: 4000,
  })
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  reason?: string;
}
