import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { PURPOSES, type Purpose } from '../../../events/purposes';

export class ConsentDto {
  @ApiProperty({ enum: PURPOSES })
  purpose!: Purpose;

  @ApiProperty({ description: 'True only when the consent counts now: given under the current policy version and not withdrawn' })
  granted!: boolean;

  @ApiProperty({ type: String, nullable: true, description: 'The policy version the consent was given under (null if never given)', example: '2025-06-24' })
  policyVersion!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the consent last changed (null if never)' })
  at!: string | null;

  @ApiProperty({ description: 'Whether processing for this purpose is restricted by the subject' })
  restricted!: boolean;
}

export class ConsentsDto {
  @ApiProperty({ description: 'The privacy policy version in force (POLICY_VERSION): consent must be given under it', example: '2025-06-24' })
  currentPolicyVersion!: string;

  @ApiProperty({ type: [ConsentDto], description: 'All six purposes, in a fixed order' })
  consents!: ConsentDto[];
}

export class GrantConsentDto {
  @ApiProperty({ description: 'The policy version consented to; must be the current one', example: '2025-06-24', minLength: 1, maxLength: 64 })
  @IsString()
  @Length(1, 64)
  policyVersion!: string;
}

export class RestrictionDto {
  @ApiProperty({ enum: PURPOSES })
  purpose!: Purpose;

  @ApiProperty({ description: 'While true, no job of this purpose runs and no upload for it is accepted' })
  restricted!: boolean;
}
