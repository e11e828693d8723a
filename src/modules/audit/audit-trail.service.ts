import { Inject, Injectable } from '@nestjs/common';
import type { StaffPrincipal } from '../../common/auth/principal';
import { commandContext } from '../../common/http/request-context';
import { streams } from '../../events/streams';
import { Clock } from '../clock/clock.port';
import { EventLog } from '../event-store/event-log';

export type AuditQuery = Readonly<Record<string, string | number | boolean | undefined>>;

export interface AuditorRead {
  /** e.g. `GET /v1/audit/events`. */
  readonly endpoint: string;
  /** The read's parameters (ids and filters, never personal values); undefined ones are left out. */
  readonly query: AuditQuery;
  /** The subject whose data was read, if the read was about one. */
  readonly subjectId: string | null;
  /** Items returned (0 for a stream, recorded when it starts). */
  readonly resultCount: number;
}

/**
 * Who watched what: every auditor read is appended as `AuditorAccessed` to `audit-<day>` before
 * the answer goes out, so a read that cannot be recorded is not served (the store's outage is a 503).
 */
@Injectable()
export class AuditTrail {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async recordRead(auditor: StaffPrincipal, requestId: string, read: AuditorRead): Promise<void> {
    const query: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(read.query)) if (value !== undefined) query[key] = value;
    await this.log.append(
      streams.audit(this.clock.now()),
      [{ type: 'AuditorAccessed', data: { auditor: auditor.name, endpoint: read.endpoint, query, subjectId: read.subjectId, resultCount: read.resultCount } }],
      'any',
      commandContext(auditor, requestId),
    );
  }
}
