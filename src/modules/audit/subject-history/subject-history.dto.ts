import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PURPOSES } from '../../../events/purposes';
import { HISTORY_EVENT_TYPES } from '../../../projections/history.projection';

export class HistoryEntryDto {
  @ApiProperty({ format: 'date-time', description: 'When it happened' })
  at!: string;

  @ApiProperty({ enum: HISTORY_EVENT_TYPES, description: 'The event type' })
  type!: string;

  @ApiProperty({ example: 'image:3f0c…', description: 'What it was about: `image:<id>`, `job:<id>`, `artwork:<id>`, `request:<id>`, `consent:<purpose>`, `restriction:<purpose>`, `subject:<id>`' })
  resource!: string;

  @ApiPropertyOptional({ enum: PURPOSES, description: 'The processing purpose concerned, when there is one' })
  purpose?: string;

  @ApiProperty({ example: 'subject:…', description: 'Who did it: `subject:<id>`, `auditor:<name>`, `dpo:<name>`, `system:<component>`' })
  actor!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'The facts of the action (ids, purpose, reason, sizes, hashes …). Personal fields (face boxes, processing options, free text) are decrypted ' +
      'with the subject’s key, or read "[shredded]" once the account is erased',
  })
  detail!: Record<string, unknown>;
}

export class HistoryDto {
  @ApiProperty({ type: [HistoryEntryDto], description: 'Every action on the subject’s facial data and account, oldest first' })
  events!: HistoryEntryDto[];
}

export class AccessEntryDto {
  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ example: 'subject:…', description: 'Who read it: the subject, `processor:<name>` (a processor the original was handed to), `auditor:<name>`' })
  actor!: string;

  @ApiProperty({ example: 'image:…', description: '`image:<id>`, `artwork:<id>`, `request:<id>` (an export), `subject:<id>` (an auditor read)' })
  resource!: string;

  @ApiProperty({
    example: 'subject-view',
    description: 'Why: `subject-view`, `data-export`, `processing` (access purposes), the processing purpose of a disclosure, or `audit`',
  })
  purpose!: string;
}

export class AccessLogDto {
  @ApiProperty({ type: [AccessEntryDto], description: 'Every read of the subject’s facial content, oldest first' })
  accesses!: AccessEntryDto[];
}
