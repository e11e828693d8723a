import { eventTypeFilter, excludeSystemEvents, streamNameFilter, type Filter } from '@eventstore/db-client';
import type { EventFilter, JsonObject, Position, StoredEvent } from '../event-store.port';
import { isSystemName } from '../event-store.port';

/** The parts of a client `ResolvedEvent` / `AllStreamResolvedEvent` the adapter reads. */
export interface ClientRecordedEvent {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly isJson: boolean;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly created: Date;
  readonly position?: Position;
}

export interface ClientResolvedEvent {
  readonly event?: ClientRecordedEvent;
  readonly commitPosition?: bigint;
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * The port only ever writes JSON objects; an event whose data is not one (binary, or a JSON array
 * written by another application) cannot be represented and is left out (null).
 */
export function toStoredEvent(resolved: ClientResolvedEvent): StoredEvent | null {
  const e = resolved.event;
  if (!e || !e.isJson || !isJsonObject(e.data)) return null;
  const position = e.position ?? { commit: resolved.commitPosition ?? 0n, prepare: resolved.commitPosition ?? 0n };
  return {
    id: e.id,
    stream: e.streamId,
    revision: e.revision,
    position: { commit: position.commit, prepare: position.prepare },
    type: e.type,
    data: e.data,
    metadata: isJsonObject(e.metadata) ? e.metadata : {},
    created: e.created,
  };
}

/** `$`-prefixed streams (`$$metadata`, `$settings`, projections) and types (`$metadata`, `$streamDeleted`, `$>` links). */
export function isSystemEvent(e: { readonly streamId: string; readonly type: string }): boolean {
  return isSystemName(e.streamId) || isSystemName(e.type);
}

export function matchesFilter(e: { readonly streamId: string; readonly type: string }, filter: EventFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.streamPrefixes) return filter.streamPrefixes.some((prefix) => e.streamId.startsWith(prefix));
  return filter.eventTypes.includes(e.type);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An anchored alternation matching exactly these event types (valid for .NET and JS regexes). */
export function exactTypesRegex(types: readonly string[]): string {
  return `^(?:${types.map(escapeRegex).join('|')})$`;
}

/**
 * The server-side filter for a subscription. Without a port filter, system events are excluded on
 * the server; with one, the few system events it lets through are dropped by the adapter.
 */
export function toClientFilter(
  filter: EventFilter | undefined,
  checkpointReached: (position: Position) => void,
): Filter {
  const common = { checkpointInterval: 1, checkpointReached: (_sub: unknown, position: Position) => checkpointReached(position) };
  if (!filter) return excludeSystemEvents(common);
  if (filter.streamPrefixes) return streamNameFilter({ ...common, prefixes: [...filter.streamPrefixes] });
  return eventTypeFilter({ ...common, regex: exactTypesRegex(filter.eventTypes) });
}
