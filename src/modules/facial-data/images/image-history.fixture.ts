import type { DomainEvent, EventMetadata } from '../../../events';
import type { RecordedEvent } from '../../event-store/event-log';

/**
 * A stream history for given/when/then decider specs (no store, no crypto): each entry is a
 * domain event with optional metadata overrides; revisions count from 0 and, unless given, each
 * event happens one minute after the previous one.
 */
export function history(
  stream: string,
  entries: ReadonlyArray<DomainEvent | readonly [DomainEvent, Partial<EventMetadata>]>,
  startAt = '2026-03-02T02:00:00.000Z',
): RecordedEvent[] {
  const start = Date.parse(startAt);
  return entries.map((entry, index) => {
    const [event, metadata] = Array.isArray(entry) ? (entry as readonly [DomainEvent, Partial<EventMetadata>]) : [entry as DomainEvent, {}];
    const occurredAt = metadata.occurredAt ?? new Date(start + index * 60_000).toISOString();
    return {
      ...event,
      id: `00000000-0000-4000-8000-${String(index + 1).padStart(12, '0')}`,
      stream,
      revision: BigInt(index),
      position: { commit: BigInt(index + 1), prepare: BigInt(index + 1) },
      metadata: {
        actor: 'system:test',
        correlationId: 'spec',
        causationId: null,
        schemaVersion: 1,
        subjectId: null,
        ...metadata,
        occurredAt,
      },
      created: new Date(occurredAt),
    } as RecordedEvent;
  });
}
