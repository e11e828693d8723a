import { categoryOf } from '../../../events/streams';
import { isEncryptedField } from '../../crypto/field-cipher';
import type { EventFilter, JsonObject, JsonValue, StoredEvent } from '../../event-store/event-store.port';
import { formatPosition } from './audit-position';

/** What auditors see of a personal field in bulk reads: that it is there, not what it says. */
export const ENCRYPTED_MARKER = '[encrypted]';

/** One event of the log as the audit API shows it. */
export interface AuditEventView {
  readonly position: string;
  readonly stream: string;
  readonly revision: number | string;
  readonly type: string;
  readonly occurredAt: string;
  readonly actor: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
}

export interface AuditEventFilter {
  /** Stream category (`image`, `job`, …). */
  readonly category?: string;
  readonly type?: string;
  /** The subject whose data the event is (data.subjectId, else metadata.subjectId). */
  readonly subjectId?: string;
}

/** Categories never shown by any audit output: wrapped key material. */
const HIDDEN_CATEGORIES: ReadonlySet<string> = new Set(['subjectkey']);

/**
 * The log event for an auditor: personal fields replaced by "[encrypted]" (bulk reads never show
 * device ids, face geometry or free text, even to auditors; a subject's history does, decrypted),
 * everything else as stored.
 */
export function toAuditEventView(event: StoredEvent): AuditEventView {
  const data: JsonObject = {};
  for (const key in event.data) {
    const value: JsonValue = event.data[key];
    data[key] = isEncryptedField(value) ? ENCRYPTED_MARKER : value;
  }
  const occurredAt = event.metadata.occurredAt;
  const actor = event.metadata.actor;
  const revision = event.revision <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(event.revision) : event.revision.toString();
  return {
    position: formatPosition(event.position),
    stream: event.stream,
    revision,
    type: event.type,
    occurredAt: typeof occurredAt === 'string' ? occurredAt : event.created.toISOString(),
    actor: typeof actor === 'string' ? actor : 'unknown',
    data,
    metadata: event.metadata,
  };
}

/** The server-side part of a filter (one kind at most): the category's stream prefix, else the type. */
export function storeFilterOf(filter: AuditEventFilter): EventFilter | undefined {
  if (filter.category !== undefined) return { streamPrefixes: [`${filter.category}-`] };
  if (filter.type !== undefined) return { eventTypes: [filter.type] };
  return undefined;
}

/** Whether an event is shown for `filter` (and at all: key streams never are). */
export function matchesAuditFilter(event: StoredEvent, filter: AuditEventFilter): boolean {
  const category = categoryOf(event.stream);
  if (HIDDEN_CATEGORIES.has(category)) return false;
  if (filter.category !== undefined && category !== filter.category) return false;
  if (filter.type !== undefined && event.type !== filter.type) return false;
  if (filter.subjectId !== undefined) {
    const owner = typeof event.data.subjectId === 'string' ? event.data.subjectId : event.metadata.subjectId;
    if (owner !== filter.subjectId) return false;
  }
  return true;
}
