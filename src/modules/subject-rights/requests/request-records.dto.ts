import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { REQUEST_TYPES, type RightsRequestType } from '../../../events/subject-rights.events';
import type { RequestRecordStatus } from './requests.read-model';

const STATUSES = ['received', 'in-progress', 'fulfilled', 'rejected'] as const;
const OUTCOME_SCHEMA: ApiPropertyOptions = {
  type: 'object',
  additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
  description: 'What was done, non-personal: e.g. `{ "action": "history-snapshot", "events": 42, "href": "/v1/me/history" }`',
};

/** A rights request as the subject sees it. */
export class RequestRecordDto {
  @ApiProperty({ format: 'uuid' })
  requestId!: string;

  @ApiProperty({ enum: REQUEST_TYPES })
  type!: RightsRequestType;

  @ApiProperty({ enum: STATUSES, description: '`received` waits for the DPO; `in-progress` is being carried out; `fulfilled` / `rejected` are answers' })
  status!: RequestRecordStatus;

  @ApiProperty({ format: 'date-time' })
  receivedAt!: string;

  @ApiProperty({ format: 'date-time', description: 'The end of the 5th business day after receipt (Asia/Shanghai calendar, weekends and public holidays skipped, adjusted working days counted)' })
  dueAt!: string;

  @ApiProperty({ description: 'Whether the deadline passed without an answer (set by the overdue saga)' })
  overdue!: boolean;

  @ApiProperty({ description: 'Whether the request needs (or needed) the DPO’s decision' })
  needsDecision!: boolean;

  @ApiPropertyOptional({ example: 'image:6f1c2f8e-2c47-4b8a-9f57-1c1d8e0b9a11' })
  resource?: string;

  @ApiPropertyOptional({ description: 'The subject’s own text; "[shredded]" after erasure' })
  details?: string;

  @ApiPropertyOptional({ description: 'Why it was rejected (only when rejected)' })
  reason?: string;

  @ApiPropertyOptional({ description: 'The DPO’s note with a fulfilment' })
  note?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  fulfilledAt?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  rejectedAt?: string;

  @ApiPropertyOptional(OUTCOME_SCHEMA)
  outcome?: Record<string, string | number | boolean>;
}

export class RequestListDto {
  @ApiProperty({ type: [RequestRecordDto], description: 'Oldest first' })
  requests!: RequestRecordDto[];
}

export class DpoRequestRecordDto extends RequestRecordDto {
  @ApiProperty({ format: 'uuid' })
  subjectId!: string;

  @ApiPropertyOptional({ example: 'dpo:dora', description: '`system:rights` for what the system answered on its own, `dpo:<name>` for decisions' })
  decidedBy?: string;

  @ApiPropertyOptional({ description: 'The automatic step under way, while in progress' })
  step?: string;
}

export class DpoRequestListDto {
  @ApiProperty({ type: [DpoRequestRecordDto], description: 'In the order received' })
  requests!: DpoRequestRecordDto[];
}

/** The auditors' view: no personal field (no details, reasons or notes). */
export class AuditRequestRecordDto {
  @ApiProperty({ format: 'uuid' })
  requestId!: string;

  @ApiProperty({ format: 'uuid' })
  subjectId!: string;

  @ApiProperty({ enum: REQUEST_TYPES })
  type!: RightsRequestType;

  @ApiProperty({ enum: STATUSES })
  status!: RequestRecordStatus;

  @ApiProperty({ format: 'date-time' })
  receivedAt!: string;

  @ApiProperty({ format: 'date-time' })
  dueAt!: string;

  @ApiProperty()
  overdue!: boolean;

  @ApiPropertyOptional({ format: 'date-time', description: 'When the overdue saga found it past its deadline' })
  overdueAt?: string;

  @ApiProperty()
  needsDecision!: boolean;

  @ApiPropertyOptional()
  resource?: string;

  @ApiPropertyOptional()
  decidedBy?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  decidedAt?: string;

  @ApiPropertyOptional(OUTCOME_SCHEMA)
  outcome?: Record<string, string | number | boolean>;
}

export class AuditRequestListDto {
  @ApiProperty({ type: [AuditRequestRecordDto], description: 'In the order received' })
  requests!: AuditRequestRecordDto[];
}
