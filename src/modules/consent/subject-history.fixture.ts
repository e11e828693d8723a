import type { DomainEvent, EventMetadata } from '../../events';
import type { RecordedEvent } from '../event-store/event-log';

export type Given = DomainEvent | { readonly event: DomainEvent; readonly at?: string; readonly metadata?: Partial<EventMetadata> };

/**
 * A stream's recorded history from plain domain events, for given/when/then specs (no store, no
 * crypto): revisions count from 0, times advance one second an event unless `at` is given.
 */
export function history(stream: string, given: readonly Given[], startAt = '2026-03-02T02:00:00.000Z'): RecordedEvent[] {
  const start = Date.parse(startAt);
  return given.map((item, index) => {
    const { event, at, metadata } = 'event' in item ? item : { event: item, at: undefined, metadata: undefined };
    const occurredAt = at ?? new Date(start + index * 1000).toISOString();
    return {
      ...event,
      id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      stream,
      revision: BigInt(index),
      position: { commit: BigInt(index + 1), prepare: BigInt(index + 1) },
      metadata: { occurredAt, actor: 'system:test', correlationId: 'test', causationId: null, schemaVersion: 1, subjectId: null, ...metadata },
      created: new Date(occurredAt),
    } as RecordedEvent;
  });
}
