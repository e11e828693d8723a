import type { EventFilter, JsonObject, StoredEvent } from '../event-store.port';

/** One row of `events` as better-sqlite3 returns it in raw mode (arrays, no per-row key objects). */
export type EventRow = [
  position: number,
  stream: string,
  revision: number,
  id: string,
  type: string,
  data: string,
  metadata: string,
  created: number,
];

export const EVENT_COLUMNS = 'position, stream, revision, id, type, data, metadata, created';

export function toStoredEvent(row: EventRow): StoredEvent {
  const position = BigInt(row[0]);
  return {
    id: row[3],
    stream: row[1],
    revision: BigInt(row[2]),
    position: { commit: position, prepare: position },
    type: row[4],
    data: JSON.parse(row[5]) as JsonObject,
    metadata: JSON.parse(row[6]) as JsonObject,
    created: new Date(row[7]),
  };
}

/** A readAll / subscribeAll filter as an SQL predicate over `events` plus its parameters. */
export interface CompiledFilter {
  /** Identifies the statement shape (the predicate text), for the statement cache. */
  readonly key: string;
  readonly predicate: string;
  readonly params: readonly string[];
}

export function compileFilter(filter: EventFilter | undefined): CompiledFilter | null {
  if (!filter) return null;
  if (filter.streamPrefixes !== undefined) {
    const prefixes = [...new Set(filter.streamPrefixes)];
    if (prefixes.some((p) => typeof p !== 'string')) throw new TypeError('streamPrefixes must be strings');
    if (prefixes.length === 0) return { key: 'none', predicate: '0', params: [] };
    // instr(stream, p) = 1 is "starts with p", byte-exact and case-sensitive (LIKE is neither).
    const predicate = `(${prefixes.map(() => 'instr(stream, ?) = 1').join(' OR ')})`;
    return { key: `p${prefixes.length}`, predicate, params: prefixes };
  }
  if (filter.eventTypes !== undefined) {
    const types = [...new Set(filter.eventTypes)];
    if (types.some((t) => typeof t !== 'string')) throw new TypeError('eventTypes must be strings');
    if (types.length === 0) return { key: 'none', predicate: '0', params: [] };
    return { key: `t${types.length}`, predicate: `type IN (${types.map(() => '?').join(', ')})`, params: types };
  }
  return null;
}
