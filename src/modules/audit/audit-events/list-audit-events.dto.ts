import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { STREAM_CATEGORIES } from '../../../events/define-event';
import { EVENT_TYPES } from '../../../events/event-registry';

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Stream categories auditors may filter on (key streams are never shown). */
export const AUDIT_CATEGORIES = STREAM_CATEGORIES.filter((c) => c !== 'subjectkey');

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export class ListAuditEventsQuery {
  @ApiPropertyOptional({ example: '1042:1042', description: 'Start after this position ("<commit>:<prepare>", as returned in `position` / `nextPosition`); default: the beginning of the log' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  fromPosition?: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_PAGE_SIZE,
    description: `Page size (default ${DEFAULT_PAGE_SIZE}). With Accept: application/x-ndjson, omit it to stream the whole remaining log`,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  @ApiPropertyOptional({ enum: AUDIT_CATEGORIES, description: 'Only events of streams of this category' })
  @IsOptional()
  @IsIn(AUDIT_CATEGORIES)
  category?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only events about this subject' })
  @IsOptional()
  @Matches(UUID_PATTERN, { message: 'subjectId must be a UUID' })
  subjectId?: string;

  @ApiPropertyOptional({ enum: EVENT_TYPES, description: 'Only events of this type' })
  @IsOptional()
  @IsIn(EVENT_TYPES)
  type?: string;
}

export class AuditEventDto {
  @ApiProperty({ example: '1042:1042', description: 'Position in the log, "<commit>:<prepare>"' })
  position!: string;

  @ApiProperty({ example: 'image-3f0c…' })
  stream!: string;

  @ApiProperty({ description: 'Revision in its stream (a string above 2^53)' })
  revision!: number;

  @ApiProperty({ enum: EVENT_TYPES })
  type!: string;

  @ApiProperty({ format: 'date-time' })
  occurredAt!: string;

  @ApiProperty({ example: 'subject:…' })
  actor!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The event data; personal fields read "[encrypted]"' })
  data!: Record<string, unknown>;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'occurredAt, actor, correlationId, causationId, schemaVersion, subjectId' })
  metadata!: Record<string, unknown>;
}

export class AuditEventsPageDto {
  @ApiProperty({ type: [AuditEventDto], description: 'In log order' })
  events!: AuditEventDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2042:2042',
    description: 'Pass as fromPosition for the next page; null once the end of the log was reached',
  })
  nextPosition!: string | null;
}
