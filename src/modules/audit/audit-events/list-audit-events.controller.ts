import { Controller, Get, Headers, Inject, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuditorOnly, CurrentStaff } from '../../../common/auth/auth.decorators';
import type { StaffPrincipal } from '../../../common/auth/principal';
import { RequestId } from '../../../common/http/request-context';
import { EventStore } from '../../event-store/event-store.port';
import { ApiProblems, AUDITOR_ERRORS } from '../audit-api-errors';
import { AuditTrail } from '../audit-trail.service';
import type { AuditEventFilter } from './audit-event-view';
import { auditNdjsonStream, readAuditPage } from './audit-log.reader';
import { parsePosition } from './audit-position';
import { AuditEventsPageDto, DEFAULT_PAGE_SIZE, ListAuditEventsQuery } from './list-audit-events.dto';

export const NDJSON = 'application/x-ndjson';
const ENDPOINT = 'GET /v1/audit/events';

/** The log itself, for auditors: paged JSON, or the whole remaining log as NDJSON. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit/events')
@AuditorOnly()
export class ListAuditEventsController {
  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(AuditTrail) private readonly trail: AuditTrail,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'The event log in order, filtered; with Accept: application/x-ndjson (and no limit) the whole remaining log, one event a line',
    description:
      'Straight from the event store. Personal fields read "[encrypted]"; key streams are never shown. Every call is recorded as AuditorAccessed ' +
      '(for a stream: when it starts, with resultCount 0).',
  })
  @ApiProduces('application/json', NDJSON)
  @ApiOkResponse({ type: AuditEventsPageDto })
  @ApiProblems(
    { status: 400, code: 'INVALID_POSITION', when: 'fromPosition is not "<commit>:<prepare>"' },
    { status: 400, code: 'VALIDATION_FAILED', when: 'limit, category, type or subjectId is invalid' },
    { status: 400, code: 'UNKNOWN_FIELD', when: 'an unknown query parameter' },
    ...AUDITOR_ERRORS,
  )
  async list(
    @Query() query: ListAuditEventsQuery,
    @Headers('accept') accept: string | undefined,
    @CurrentStaff() auditor: StaffPrincipal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AuditEventsPageDto | StreamableFile> {
    const from = query.fromPosition !== undefined ? parsePosition(query.fromPosition) : 'start';
    const filter: AuditEventFilter = { category: query.category, type: query.type, subjectId: query.subjectId };
    const recorded = { fromPosition: query.fromPosition, limit: query.limit, category: query.category, type: query.type, subjectId: query.subjectId };

    if (accept !== undefined && accept.toLowerCase().includes(NDJSON)) {
      await this.trail.recordRead(auditor, requestId, { endpoint: ENDPOINT, query: { ...recorded, format: 'ndjson' }, subjectId: query.subjectId ?? null, resultCount: 0 });
      void reply.header('Cache-Control', 'no-store');
      return new StreamableFile(auditNdjsonStream(this.store, filter, { from, limit: query.limit }), { type: `${NDJSON}; charset=utf-8` });
    }

    const page = await readAuditPage(this.store, filter, from, query.limit ?? DEFAULT_PAGE_SIZE);
    await this.trail.recordRead(auditor, requestId, { endpoint: ENDPOINT, query: recorded, subjectId: query.subjectId ?? null, resultCount: page.events.length });
    return page as AuditEventsPageDto;
  }
}
