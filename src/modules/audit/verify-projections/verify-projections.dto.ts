import { ApiProperty } from '@nestjs/swagger';

export class MismatchDto {
  @ApiProperty({ example: 'history' })
  projection!: string;

  @ApiProperty({ example: 'history', description: 'The table, or `projection_checkpoints` for a different version or event count' })
  table!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The row key (the table’s ordering columns); null for a table-level difference' })
  key!: Record<string, unknown> | null;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The live row; null when only the replay has it' })
  live!: Record<string, unknown> | null;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'The replayed row; null when only the live database has it' })
  replayed!: Record<string, unknown> | null;
}

export class TableComparisonDto {
  @ApiProperty()
  projection!: string;

  @ApiProperty()
  table!: string;

  @ApiProperty()
  liveRows!: number;

  @ApiProperty()
  replayedRows!: number;

  @ApiProperty()
  mismatches!: number;
}

export class VerificationDto {
  @ApiProperty({ format: 'uuid' })
  verificationId!: string;

  @ApiProperty({ description: 'Events read from the log, up to verifiedUpTo' })
  eventsReplayed!: number;

  @ApiProperty({ type: String, nullable: true, example: '1042:1042', description: 'The replay covered the log up to this position (the live checkpoints)' })
  verifiedUpTo!: string | null;

  @ApiProperty({ description: 'Every table of every projection equals its replay, row by row' })
  projectionsMatch!: boolean;

  @ApiProperty({ description: 'All differences found (the list below is capped at 100)' })
  mismatchCount!: number;

  @ApiProperty({ type: [MismatchDto] })
  mismatches!: MismatchDto[];

  @ApiProperty({ type: [TableComparisonDto], description: 'Row counts and differences per table' })
  tables!: TableComparisonDto[];

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'Findings of the independent checks (retention deadlines re-derived from the log), each with its `check` name',
  })
  retentionViolations!: Record<string, unknown>[];
}
