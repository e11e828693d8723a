import { Inject, Injectable } from '@nestjs/common';
import type { RightsRequestType } from '../../../events/subject-rights.events';
import { statements } from '../../../projections/projection';
import { ReadModels } from '../../../projections/read-models';
import { DecryptionFailedError } from '../../crypto/crypto.errors';
import { SubjectCipher } from '../../crypto/subject-cipher';
import type { JsonObject, JsonValue } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';

export type RequestRecordStatus = 'received' | 'in-progress' | 'fulfilled' | 'rejected';
/** Filters of the DPO and audit lists: a status, or `overdue` (unanswered and past `dueAt`). */
export const REQUEST_STATUS_FILTERS = ['received', 'in-progress', 'fulfilled', 'rejected', 'overdue'] as const;
export type RequestStatusFilter = (typeof REQUEST_STATUS_FILTERS)[number];

/** What a personal field reads as when its ciphertext does not verify (tampered or moved). */
export const UNREADABLE = '[unreadable]';

/** A rights request as the subject sees it. */
export interface RequestRecord {
  readonly requestId: string;
  readonly type: RightsRequestType;
  readonly status: RequestRecordStatus;
  readonly receivedAt: string;
  readonly dueAt: string;
  readonly overdue: boolean;
  /** Whether it waits for (or waited for) the DPO's decision. */
  readonly needsDecision: boolean;
  readonly resource?: string;
  /** The subject's own free text. */
  readonly details?: string;
  /** Why it was rejected (shown to the subject, PIPL art. 50). */
  readonly reason?: string;
  /** The DPO's note with a fulfilment, if any. */
  readonly note?: string;
  readonly fulfilledAt?: string;
  readonly rejectedAt?: string;
  /** What was done, non-personal (e.g. `{ action: 'history-snapshot', events: 42 }`). */
  readonly outcome?: Readonly<Record<string, string | number | boolean>>;
}

/** The DPO's view: the subject's record plus who it is about and who decided. */
export interface DpoRequestRecord extends RequestRecord {
  readonly subjectId: string;
  readonly decidedBy?: string;
  /** When the processing step under way started (automatic requests in progress). */
  readonly step?: string;
}

/** The auditors' view: the non-personal skeleton only (no details, reasons or notes). */
export interface AuditRequestRecord {
  readonly requestId: string;
  readonly subjectId: string;
  readonly type: RightsRequestType;
  readonly status: RequestRecordStatus;
  readonly receivedAt: string;
  readonly dueAt: string;
  readonly overdue: boolean;
  readonly overdueAt?: string;
  readonly needsDecision: boolean;
  readonly resource?: string;
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  readonly outcome?: Readonly<Record<string, string | number | boolean>>;
}

/** A request the sweeps look at: open ones past their deadline, or stuck in an automatic step. */
export interface OpenRequestRow {
  readonly requestId: string;
  readonly subjectId: string;
  readonly dueAt: string;
  readonly step: string | null;
  readonly stepAt: string | null;
  readonly needsDecision: boolean;
}

interface Row {
  request_id: string;
  subject_id: string;
  type: RightsRequestType;
  resource: string | null;
  status: RequestRecordStatus;
  needs_decision: number;
  received_at: string;
  due_at: string;
  overdue: number;
  overdue_at: string | null;
  step: string | null;
  step_at: string | null;
  decided_by: string | null;
  decided_at: string | null;
  outcome: string | null;
  details: string | null;
  details_event_id: string | null;
  reason: string | null;
  reason_event_id: string | null;
  note: string | null;
  note_event_id: string | null;
}

const ORDER = 'ORDER BY commit_position, prepare_position';
/** The read model's SQL (exported for the spec that checks how each one is answered). */
export const REQUESTS_SQL = {
  bySubject: `SELECT * FROM rights_requests WHERE subject_id = ? ${ORDER}`,
  one: `SELECT * FROM rights_requests WHERE request_id = ?`,
  all: `SELECT * FROM rights_requests ${ORDER} LIMIT ?`,
  byStatus: `SELECT * FROM rights_requests WHERE status = ? ${ORDER} LIMIT ?`,
  overdue: `SELECT * FROM rights_requests WHERE overdue = 1 AND status IN ('received', 'in-progress') ${ORDER} LIMIT ?`,
  pastDue: `SELECT request_id, subject_id, due_at, step, step_at, needs_decision FROM rights_requests
            WHERE status IN ('received', 'in-progress') AND overdue = 0 AND due_at < ? ORDER BY due_at, request_id LIMIT ?`,
  stuck: `SELECT request_id, subject_id, due_at, step, step_at, needs_decision FROM rights_requests
          WHERE status = 'in-progress' AND step_at IS NOT NULL AND step_at <= ? ORDER BY step_at, request_id LIMIT ?`,
  openOfSubject: `SELECT request_id FROM rights_requests WHERE subject_id = ? AND status IN ('received', 'in-progress') ${ORDER}`,
} as const;
const sql = statements(REQUESTS_SQL);

/** Queries over the requests projection (src/projections/requests.projection.ts), decrypting personal fields for those entitled to them. */
@Injectable()
export class RequestsReadModel {
  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(SubjectCipher) private readonly cipher: SubjectCipher,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  private get q() {
    return sql(this.readModels.db);
  }

  /** The subject's requests, oldest first. */
  async listForSubject(subjectId: string): Promise<RequestRecord[]> {
    const rows = this.q.bySubject.all(subjectId) as Row[];
    const out: RequestRecord[] = [];
    for (const row of rows) out.push(await this.subjectRecord(row));
    return out;
  }

  /** One of the subject's requests; null for an unknown id and another subject's alike. */
  async getForSubject(subjectId: string, requestId: string): Promise<RequestRecord | null> {
    const row = this.q.one.get(requestId) as Row | undefined;
    return row && row.subject_id === subjectId ? this.subjectRecord(row) : null;
  }

  async getForDpo(requestId: string): Promise<DpoRequestRecord | null> {
    const row = this.q.one.get(requestId) as Row | undefined;
    return row ? this.dpoRecord(row) : null;
  }

  async listForDpo(status: RequestStatusFilter | undefined, limit: number): Promise<DpoRequestRecord[]> {
    const out: DpoRequestRecord[] = [];
    for (const row of this.rows(status, limit)) out.push(await this.dpoRecord(row));
    return out;
  }

  listForAudit(status: RequestStatusFilter | undefined, limit: number): AuditRequestRecord[] {
    return this.rows(status, limit).map((row) => ({
      requestId: row.request_id,
      subjectId: row.subject_id,
      type: row.type,
      status: row.status,
      receivedAt: row.received_at,
      dueAt: row.due_at,
      overdue: row.overdue === 1,
      ...(row.overdue_at ? { overdueAt: row.overdue_at } : {}),
      needsDecision: row.needs_decision === 1,
      ...(row.resource ? { resource: row.resource } : {}),
      ...(row.decided_by ? { decidedBy: row.decided_by } : {}),
      ...(row.decided_at ? { decidedAt: row.decided_at } : {}),
      ...(row.outcome ? { outcome: JSON.parse(row.outcome) as Record<string, string | number | boolean> } : {}),
    }));
  }

  /** Unanswered requests not yet marked overdue whose deadline is before `now` (the overdue saga's work list). */
  pastDue(now: Date, limit: number): OpenRequestRow[] {
    return (this.q.pastDue.all(now.toISOString(), limit) as Row[]).map(openRow);
  }

  /** Requests in an automatic step that started at or before `startedBefore` (the resume sweep's work list). */
  stuckInProgress(startedBefore: Date, limit: number): OpenRequestRow[] {
    return (this.q.stuck.all(startedBefore.toISOString(), limit) as Row[]).map(openRow);
  }

  openRequestIdsOf(subjectId: string): string[] {
    return (this.q.openOfSubject.all(subjectId) as { request_id: string }[]).map((row) => row.request_id);
  }

  private rows(status: RequestStatusFilter | undefined, limit: number): Row[] {
    if (status === undefined) return this.q.all.all(limit) as Row[];
    if (status === 'overdue') return this.q.overdue.all(limit) as Row[];
    return this.q.byStatus.all(status, limit) as Row[];
  }

  private async subjectRecord(row: Row): Promise<RequestRecord> {
    const details = await this.personal(row.subject_id, row.details_event_id, 'details', row.details);
    const reason = row.status === 'rejected' ? await this.personal(row.subject_id, row.reason_event_id, 'reason', row.reason) : null;
    const note = await this.personal(row.subject_id, row.note_event_id, 'note', row.note);
    return {
      requestId: row.request_id,
      type: row.type,
      status: row.status,
      receivedAt: row.received_at,
      dueAt: row.due_at,
      overdue: row.overdue === 1,
      needsDecision: row.needs_decision === 1,
      ...(row.resource ? { resource: row.resource } : {}),
      ...(details !== null ? { details } : {}),
      ...(reason !== null ? { reason } : {}),
      ...(note !== null ? { note } : {}),
      ...(row.status === 'fulfilled' && row.decided_at ? { fulfilledAt: row.decided_at } : {}),
      ...(row.status === 'rejected' && row.decided_at ? { rejectedAt: row.decided_at } : {}),
      ...(row.outcome ? { outcome: JSON.parse(row.outcome) as Record<string, string | number | boolean> } : {}),
    };
  }

  private async dpoRecord(row: Row): Promise<DpoRequestRecord> {
    const record = await this.subjectRecord(row);
    return {
      ...record,
      subjectId: row.subject_id,
      ...(row.decided_by ? { decidedBy: row.decided_by } : {}),
      ...(row.status === 'in-progress' && row.step ? { step: row.step } : {}),
    };
  }

  /** A personal text field: decrypted, "[shredded]" once the key is gone, null when absent or null. */
  private async personal(subjectId: string, eventId: string | null, field: string, stored: string | null): Promise<string | null> {
    if (stored === null || eventId === null) return null;
    let value: JsonValue;
    try {
      const decrypted: JsonObject = await this.cipher.decryptFields(subjectId, eventId, { [field]: JSON.parse(stored) as JsonValue });
      value = decrypted[field];
    } catch (error) {
      if (!(error instanceof DecryptionFailedError)) throw error;
      this.logger.get().warn({ eventId }, 'a personal field of a rights request does not decrypt');
      return UNREADABLE;
    }
    return typeof value === 'string' ? value : null;
  }
}

function openRow(row: Row): OpenRequestRow {
  return {
    requestId: row.request_id,
    subjectId: row.subject_id,
    dueAt: row.due_at,
    step: row.step,
    stepAt: row.step_at,
    needsDecision: row.needs_decision === 1,
  };
}
