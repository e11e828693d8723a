import type { DomainEvent, EventMetadata } from '../../../events';
import type { RecordedEvent } from '../../event-store/event-log';

/**
 * Builds a stream's recorded history from plain domain events, for given/when/then specs of the
 * job deciders (no store, no crypto): revisions count from 0, times advance one second an event.
 */
export function recorded(stream: string, events: readonly DomainEvent[], startAt = '2026-03-02T02:00:00.000Z', extra: Partial<EventMetadata> = {}): RecordedEvent[] {
  const start = Date.parse(startAt);
  return events.map((event, index) => {
    const occurredAt = new Date(start + index * 1000).toISOString();
    return {
      ...event,
      id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      stream,
      revision: BigInt(index),
      position: { commit: BigInt(index + 1), prepare: BigInt(index + 1) },
      metadata: {
        occurredAt,
        actor: 'system:test',
        correlationId: 'test',
        causationId: null,
        schemaVersion: 1,
        subjectId: null,
        ...extra,
      },
      created: new Date(occurredAt),
    } as RecordedEvent;
  });
}
