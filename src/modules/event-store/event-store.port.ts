/**
 * The EventStore port: the single source of truth of the service.
 *
 * Semantics follow EventStoreDB so that the embedded SQLite adapter and the production
 * EventStoreDB adapter are interchangeable (one contract suite, `test/contract/event-store.contract.ts`,
 * runs against both):
 *
 * - Streams are named `<category>-<id>`; never put personal data in a stream name.
 * - Revisions are 0-based per stream, positions are global and totally ordered ({commit, prepare}).
 * - `append` is atomic per call and checks the expected revision (optimistic concurrency).
 *   Re-appending events whose ids are already stored right after the expected revision is a no-op
 *   that answers the original result (idempotent retries with deterministic event ids).
 * - Stream metadata (`maxAge`, `maxCount`, `truncateBefore`) and soft deletes hide events from
 *   stream reads at once; they stay visible to `readAll`/`subscribeAll` until `purge` physically
 *   removes them (on EventStoreDB: a scavenge).
 * - Names starting with `$` (streams and event types) are system names: hidden from `readAll`
 *   and subscriptions, refused on append.
 */

/** A global position in the log. The embedded store uses commit === prepare === sequence. */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export type ExpectedRevision = 'no_stream' | 'any' | 'stream_exists' | bigint;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface EventToAppend {
  /** UUID. Deterministic ids (from an Idempotency-Key) make retries idempotent. */
  readonly id: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
}

export interface StoredEvent {
  readonly id: string;
  readonly stream: string;
  readonly revision: bigint;
  readonly position: Position;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
  /** When the store recorded the event (store clock). */
  readonly created: Date;
}

export interface AppendResult {
  /** Revision of the last event of the stream after the append. */
  readonly nextExpectedRevision: bigint;
  /** Position of the last event appended (or of the already stored one, for an idempotent retry). */
  readonly position: Position;
}

export interface ReadStreamOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Inclusive. Default: 'start' forwards, 'end' backwards. */
  readonly fromRevision?: bigint | 'start' | 'end';
  readonly maxCount?: number;
}

/** Server-side filter for readAll / subscribeAll. At most one of the two kinds. */
export type EventFilter =
  | { readonly streamPrefixes: readonly string[]; readonly eventTypes?: undefined }
  | { readonly eventTypes: readonly string[]; readonly streamPrefixes?: undefined };

export interface ReadAllOptions {
  /** Exclusive: the first event returned is the one after this position. Default 'start'. */
  readonly fromPosition?: Position | 'start';
  readonly maxCount?: number;
  readonly filter?: EventFilter;
}

export interface SubscribeAllOptions {
  /** Exclusive, like readAll. Default 'start'. */
  readonly fromPosition?: Position | 'start';
  readonly filter?: EventFilter;
}

/**
 * What a subscription delivers: events in log order, in batches. `caughtUp` is true when, after
 * this batch, the subscriber has seen every event that was in the log when the batch was cut; the
 * first batch with `caughtUp: true` marks the switch from catch-up to live (it may be empty).
 */
export interface SubscriptionBatch {
  readonly events: readonly StoredEvent[];
  readonly caughtUp: boolean;
}

/**
 * Catch-up then live subscription to $all. Iterate it with `for await`; `close()` ends the
 * iteration. Adapters re-subscribe on their own after a dropped connection, from the last
 * delivered position, without gap or duplicate. A fatal error is thrown from the iterator.
 */
export interface AllSubscription extends AsyncIterable<SubscriptionBatch> {
  close(): Promise<void>;
}

export interface StreamMetadata {
  /** Seconds. Events older than this are hidden from stream reads. */
  readonly maxAge?: number;
  readonly maxCount?: number;
  /** Events with a lower revision are hidden from stream reads. */
  readonly truncateBefore?: bigint;
}

export interface PurgeResult {
  /** Whether events were physically removed now (embedded) or a scavenge was started (EventStoreDB). */
  readonly mode: 'removed' | 'scavenge-started';
  /** Events physically removed (embedded store only). */
  readonly removedEvents?: number;
  /** Scavenge id (EventStoreDB only). */
  readonly scavengeId?: string;
}

export interface EventStoreCapabilities {
  /** `purge` removes hidden events from disk and from `readAll` at once. */
  readonly physicalPurge: boolean;
}

export abstract class EventStore {
  abstract readonly capabilities: EventStoreCapabilities;

  abstract append(stream: string, events: readonly EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult>;

  /** Throws StreamNotFoundError (missing or soft-deleted) or StreamDeletedError (tombstoned) on iteration. */
  abstract readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<StoredEvent>;

  /** The whole log in order, lazily: never holds more than a page in memory. */
  abstract readAll(options?: ReadAllOptions): AsyncIterable<StoredEvent>;

  abstract subscribeAll(options?: SubscribeAllOptions): AllSubscription;

  /** Position of the newest event of the log that readAll would return, or null when empty. */
  abstract headPosition(): Promise<Position | null>;

  abstract setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void>;

  /** Null when none was set. */
  abstract getStreamMetadata(stream: string): Promise<StreamMetadata | null>;

  /** Soft delete: the stream reads as not found; appending again recreates it, revisions continue. */
  abstract deleteStream(stream: string, expectedRevision?: ExpectedRevision): Promise<void>;

  /** Hard delete: the stream can never be read or written again; its name stays reserved. */
  abstract tombstoneStream(stream: string, expectedRevision?: ExpectedRevision): Promise<void>;

  /** Physically remove what metadata, deletes and tombstones hide (embedded) or start a scavenge. */
  abstract purge(): Promise<PurgeResult>;

  /** Resolves when the store answers; rejects with EventStoreUnavailableError otherwise. */
  abstract checkHealth(): Promise<void>;

  abstract close(): Promise<void>;
}

export const START_POSITION: Position = Object.freeze({ commit: 0n, prepare: 0n });

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

export function isSystemName(name: string): boolean {
  return name.startsWith('$');
}
