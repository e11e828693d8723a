import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { UUID_PATTERN } from '../audit-events/list-audit-events.dto';
import { AccessEntryDto } from '../subject-history/subject-history.dto';

export const DEFAULT_ACCESS_PAGE = 1000;
export const MAX_ACCESS_PAGE = 10_000;

export class AuditAccessLogQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only reads of this subject’s data' })
  @IsOptional()
  @Matches(UUID_PATTERN, { message: 'subjectId must be a UUID' })
  subjectId?: string;

  @ApiPropertyOptional({ example: 'processor:local-sharp', description: 'Only reads by this actor (`subject:<id>`, `processor:<name>`, `auditor:<name>` …)' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  actor?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Reads at or after this time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Reads before this time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ example: '1042:1042', description: 'Continue after this position (`nextPosition` of the previous page)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  fromPosition?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_ACCESS_PAGE, description: `Page size (default ${DEFAULT_ACCESS_PAGE})` })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_ACCESS_PAGE)
  limit?: number;
}

export class AuditAccessEntryDto extends AccessEntryDto {
  @ApiProperty({ example: '1042:1042', description: 'Position of the recorded read in the log' })
  position!: string;

  @ApiProperty({ format: 'uuid', description: 'Whose data was read' })
  subjectId!: string;

  @ApiProperty({ enum: ['ImageViewed', 'ArtworkViewed', 'DataDisclosedToProcessor', 'DataExported', 'AuditorAccessed'] })
  type!: string;
}

export class AuditAccessLogDto {
  @ApiProperty({ type: [AuditAccessEntryDto], description: 'In log order' })
  accesses!: AuditAccessEntryDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as fromPosition for the next page; null when this was the last' })
  nextPosition!: string | null;
}
