import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { REQUEST_STATUS_FILTERS, type RequestStatusFilter } from '../requests/requests.read-model';

export const DEFAULT_REQUEST_PAGE = 1000;
export const MAX_REQUEST_PAGE = 10_000;

/** `?status=&limit=` of the DPO's and the auditors' request lists. */
export class RequestListQuery {
  @ApiPropertyOptional({ enum: REQUEST_STATUS_FILTERS, description: 'A status, or `overdue`: unanswered and past `dueAt`. All requests when absent.' })
  @IsOptional()
  @IsIn(REQUEST_STATUS_FILTERS)
  status?: RequestStatusFilter;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_REQUEST_PAGE, description: `At most this many (default ${DEFAULT_REQUEST_PAGE}), in the order received` })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_REQUEST_PAGE)
  limit?: number;
}
