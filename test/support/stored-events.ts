import type { JsonObject, StoredEvent } from '../../src/modules/event-store/event-store.port';

/**
 * Stored events for specs that feed projections directly: each call of the returned function
 * makes the next event of one log (positions and ids 1, 2, 3…), happening at `occurredAt`.
 */
export function storedEventLog(actor: string): (stream: string, type: string, data: JsonObject, occurredAt: string) => StoredEvent {
  let position = 0;
  return (stream, type, data, occurredAt) => {
    position++;
    return {
      id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
      stream,
      revision: 0n,
      position: { commit: BigInt(position), prepare: BigInt(position) },
      type,
      data,
      metadata: { occurredAt, actor },
      created: new Date(occurredAt),
    };
  };
}
