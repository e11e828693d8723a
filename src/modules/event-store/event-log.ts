import { createHash, randomUUID } from 'node:crypto';
import { newId } from '../../common/ids/uuid-v7';
import {
  definitionOf,
  upcast,
  validateEventData,
  type Actor,
  type DomainEvent,
  type EventMetadata,
} from '../../events';
import type { Clock } from '../clock/clock.port';
import type { SubjectCipher } from '../crypto/subject-cipher';
import { StreamNotFoundError, WrongExpectedVersionError } from './event-store.errors';
import type { AppendResult, EventStore, EventToAppend, ExpectedRevision, JsonObject, Position, StoredEvent } from './event-store.port';

/** Who is acting and why: becomes the metadata of every event a command appends. */
export interface CommandContext {
  readonly actor: Actor;
  readonly correlationId: string;
  readonly causationId: string | null;
  /** With an Idempotency-Key: event ids derive from it, so a retried request appends nothing new. */
  readonly idempotency?: { readonly key: string; readonly requestHash: string };
}

/** A domain event read back from the log, personal fields decrypted (or SHREDDED). */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E & {
  readonly id: string;
  readonly stream: string;
  readonly revision: bigint;
  readonly position: Position;
  readonly metadata: EventMetadata;
  readonly created: Date;
};

export interface LoadedStream {
  readonly events: RecordedEvent[];
  /** For optimistic concurrency on the next append. */
  readonly revision: bigint | 'no_stream';
}

/** A UUID (version 8 layout, RFC 9562) derived from a name: the same inputs always give the same id. */
export function deterministicUuid(...parts: string[]): string {
  const hash = createHash('sha256').update(parts.join('\u0000')).digest();
  hash[6] = (hash[6] & 0x0f) | 0x80;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The subject an event belongs to (its data key), if any. */
export function subjectIdOf(data: JsonObject, metadata?: JsonObject): string | null {
  const fromData = data.subjectId;
  if (typeof fromData === 'string') return fromData;
  const fromMeta = metadata?.subjectId;
  return typeof fromMeta === 'string' ? fromMeta : null;
}

/**
 * The typed face of the EventStore for command handlers: validates every event against the
 * catalogue, encrypts personal fields with the subject's key (the event id as associated data),
 * stamps metadata from the clock and the command context, and decodes streams back (upcasting,
 * decrypting or shredding).
 */
export class EventLog {
  constructor(
    readonly store: EventStore,
    private readonly cipher: SubjectCipher,
    private readonly clock: Clock,
  ) {}

  async load(stream: string): Promise<LoadedStream> {
    const events: RecordedEvent[] = [];
    try {
      for await (const stored of this.store.readStream(stream)) events.push(await this.decode(stored));
    } catch (error) {
      if (error instanceof StreamNotFoundError) return { events: [], revision: 'no_stream' };
      throw error;
    }
    return { events, revision: events.length > 0 ? events[events.length - 1].revision : 'no_stream' };
  }

  /** Decodes a stored event: upcast to the current schema, decrypt personal fields. */
  async decode(stored: StoredEvent): Promise<RecordedEvent> {
    const version = typeof stored.metadata.schemaVersion === 'number' ? stored.metadata.schemaVersion : 1;
    const upcasted = upcast(stored.type, stored.data, version);
    const subjectId = subjectIdOf(upcasted, stored.metadata);
    const definition = definitionOf(stored.type);
    const data = subjectId && definition && definition.personalFields.length > 0 ? await this.cipher.decryptFields(subjectId, stored.id, upcasted) : upcasted;
    return {
      type: stored.type,
      data,
      id: stored.id,
      stream: stored.stream,
      revision: stored.revision,
      position: stored.position,
      metadata: stored.metadata as unknown as EventMetadata,
      created: stored.created,
    } as RecordedEvent;
  }

  /**
   * Appends `events` to `stream`. With an idempotency key in the context, event ids are derived
   * from it (and the stream and index), so the same request retried appends nothing new.
   */
  async append(stream: string, events: readonly DomainEvent[], expected: ExpectedRevision, context: CommandContext): Promise<AppendResult> {
    const encoded = await this.encode(stream, events, context);
    return this.store.append(stream, encoded, expected);
  }

  async encode(stream: string, events: readonly DomainEvent[], context: CommandContext): Promise<EventToAppend[]> {
    const occurredAt = this.clock.now().toISOString();
    const out: EventToAppend[] = [];
    for (let index = 0; index < events.length; index++) {
      const event = events[index];
      validateEventData(event.type, event.data);
      const definition = definitionOf(event.type);
      if (!definition) throw new Error(`Unknown event type ${event.type}`);
      const id = context.idempotency
        ? deterministicUuid('event', context.actor, context.idempotency.key, stream, String(index))
        : newId();
      const data = event.data as unknown as JsonObject;
      const subjectId = subjectIdOf(data);
      const metadata: EventMetadata = {
        occurredAt,
        actor: context.actor,
        correlationId: context.correlationId,
        causationId: context.causationId,
        schemaVersion: definition.schemaVersion,
        subjectId,
        ...(context.idempotency ? { requestHash: context.idempotency.requestHash } : {}),
      };
      const encodedData =
        definition.personalFields.length > 0 && subjectId
          ? await this.cipher.encryptFields(subjectId, id, data, definition.personalFields as never)
          : data;
      out.push({ id, type: event.type, data: encodedData, metadata: metadata as unknown as JsonObject });
    }
    return out;
  }

  /**
   * Load, decide, append; on a concurrency conflict, load again and decide again (the decision
   * may now be different, e.g. already done). `decide` returns the events to append (none = no-op)
   * and a result for the caller.
   */
  async decideAndAppend<R>(
    stream: string,
    context: CommandContext,
    decide: (loaded: LoadedStream) => Promise<{ events: readonly DomainEvent[]; result: R }> | { events: readonly DomainEvent[]; result: R },
    attempts = 5,
  ): Promise<R & { appended?: AppendResult }> {
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const loaded = await this.load(stream);
      const { events, result } = await decide(loaded);
      if (events.length === 0) return { ...result } as R & { appended?: AppendResult };
      try {
        const appended = await this.append(stream, events, loaded.revision, context);
        return { ...result, appended };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  now(): Date {
    return this.clock.now();
  }
}

export function newCorrelationId(): string {
  return randomUUID();
}
