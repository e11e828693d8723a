import { ApiProperty } from '@nestjs/swagger';
import { RETENTION_RULE_NAMES, type RetentionRuleName } from '../retention-rules';

export class RetentionRuleReportDto {
  @ApiProperty({ enum: RETENTION_RULE_NAMES, example: 'original-after-processing' })
  rule!: RetentionRuleName;

  @ApiProperty({ example: 120, description: 'Items the rule has tracked (held now plus deleted); operation logs: entries still in the log plus every entry purged' })
  tracked!: number;

  @ApiProperty({
    example: 100,
    description:
      'Deleted no later than their due time plus one RETENTION_SWEEP_INTERVAL and a 5 s allowance for the sweep to run (artworks: deleted on request, which has no deadline)',
  })
  deletedOnTime!: number;

  @ApiProperty({ example: 0, description: 'Deleted after that' })
  deletedLate!: number;

  @ApiProperty({ example: 0, description: 'Still held now, past their due time plus the same allowance' })
  overdue!: number;

  @ApiProperty({ example: 1, description: 'The largest lateness (deletion time, or now for an item still held, minus its due time), whole seconds rounded up; 0 when none' })
  maxLatenessSeconds!: number;
}

export class RetentionReportDto {
  @ApiProperty({ format: 'date-time', description: 'When the report was computed (the due times of items still held are compared with this time)' })
  generatedAt!: string;

  @ApiProperty({
    type: [RetentionRuleReportDto],
    description:
      'One entry per rule of the privacy policy: original-after-processing (RETENTION_ORIGINAL_MAX after the first completed job, else the upload; at once when the purpose’s consent is withdrawn), ' +
      'temp-files (RETENTION_TEMP_MAX after the job ended), operation-logs (RETENTION_OPLOG_MAX after the entry), artworks (no deadline). Computed from the retention ledger, ' +
      'a projection of the log, using the due time recorded in each deletion event where there is one.',
  })
  rules!: RetentionRuleReportDto[];
}
