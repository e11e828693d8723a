import { randomUUID } from 'node:crypto';
import type { EventStore, JsonObject, StoredEvent } from '../../event-store/event-store.port';
import {
  EventStoreError,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../../event-store/event-store.errors';
import { CachingKeyStore, DESTROYED, type Destroyed, type KeyStoreOptions, type WrappedKeyRecord } from '../caching-key-store';
import { DecryptionFailedError, KeyStoreUnavailableError } from '../crypto.errors';

export interface EventStoreKeyStoreOptions extends KeyStoreOptions {
  /** The shared event store (EventStoreDB in production). Not closed by `close()`: its owner does that. */
  readonly eventStore: EventStore;
}

export const SUBJECT_KEY_STREAM_PREFIX = 'subjectkey-';
export const SUBJECT_KEY_CREATED = 'SubjectKeyCreated';

/** Data of `SubjectKeyCreated`: a wrapped key only, never the key itself. */
export interface SubjectKeyCreatedData {
  readonly subjectId: string;
  /** Base64 of the envelope (version | iv | tag | ciphertext) of the data key under the master key. */
  readonly wrappedKey: string;
  readonly masterKeyId: string;
  readonly algorithm: string;
}

export function subjectKeyStream(subjectId: string): string {
  return `${SUBJECT_KEY_STREAM_PREFIX}${subjectId}`;
}

/** Attempts at create-or-read when the stream keeps changing under us (soft deletes by someone else). */
const CREATE_ATTEMPTS = 3;

/**
 * The production KeyStore: one `subjectkey-<subjectId>` stream per subject, so every instance
 * shares the keys. The first `SubjectKeyCreated` of the stream holds the wrapped key; creation
 * appends with expected revision `no_stream`, and a WrongExpectedVersionError means another
 * instance won the race: its key is read and used. Destruction tombstones the stream: reads then
 * fail with StreamDeletedError (destroyed, at once, on every instance that has not cached the key;
 * the others drop it on `SubjectErased` through `forget`), and the next scavenge removes the event
 * from disk. The stream name holds the subject id only, no personal data.
 */
export class EventStoreKeyStore extends CachingKeyStore {
  private readonly eventStore: EventStore;

  constructor(options: EventStoreKeyStoreOptions) {
    super(options);
    this.eventStore = options.eventStore;
  }

  protected async readWrapped(subjectId: string): Promise<WrappedKeyRecord | Destroyed | null> {
    const stream = subjectKeyStream(subjectId);
    try {
      for await (const event of this.eventStore.readStream(stream, { direction: 'forwards', fromRevision: 'start' })) {
        if (event.type === SUBJECT_KEY_CREATED) return parseCreated(subjectId, event);
      }
      return null;
    } catch (error) {
      if (error instanceof StreamDeletedError) return DESTROYED;
      if (error instanceof StreamNotFoundError) return null;
      throw unavailable(error);
    }
  }

  protected async insertWrapped(subjectId: string, record: WrappedKeyRecord): Promise<WrappedKeyRecord | Destroyed> {
    const stream = subjectKeyStream(subjectId);
    const data: SubjectKeyCreatedData = {
      subjectId,
      wrappedKey: record.wrappedKey.toString('base64'),
      masterKeyId: record.masterKeyId,
      algorithm: record.algorithm,
    };
    for (let attempt = 1; attempt <= CREATE_ATTEMPTS; attempt += 1) {
      const id = randomUUID();
      const metadata: JsonObject = {
        occurredAt: this.clock.now().toISOString(),
        actor: 'system:crypto',
        correlationId: id,
        causationId: id,
        schemaVersion: 1,
      };
      try {
        await this.eventStore.append(stream, [{ id, type: SUBJECT_KEY_CREATED, data: { ...data }, metadata }], 'no_stream');
        return record;
      } catch (error) {
        if (error instanceof StreamDeletedError) return DESTROYED;
        if (!(error instanceof WrongExpectedVersionError)) throw unavailable(error);
      }
      // Another instance created the stream first: use its key.
      const theirs = await this.readWrapped(subjectId);
      if (theirs !== null) return theirs;
    }
    throw new KeyStoreUnavailableError(`The data key stream of subject ${subjectId} keeps changing; giving up`);
  }

  protected async destroyWrapped(subjectId: string): Promise<void> {
    try {
      // Tombstoning a stream that never existed works too: that subject can never get a key.
      await this.eventStore.tombstoneStream(subjectKeyStream(subjectId), 'any');
    } catch (error) {
      if (error instanceof StreamDeletedError) return; // already tombstoned: idempotent
      throw unavailable(error);
    }
  }

  protected async checkStoreHealth(): Promise<void> {
    try {
      await this.eventStore.checkHealth();
    } catch (error) {
      throw unavailable(error);
    }
  }

  protected async closeStore(): Promise<void> {
    // The event store is shared and owned by its own module.
  }
}

function parseCreated(subjectId: string, event: StoredEvent): WrappedKeyRecord {
  const { data } = event;
  if (
    data.subjectId !== subjectId ||
    typeof data.wrappedKey !== 'string' ||
    typeof data.masterKeyId !== 'string' ||
    typeof data.algorithm !== 'string'
  ) {
    throw new DecryptionFailedError(`The SubjectKeyCreated event of subject ${subjectId} is malformed`);
  }
  return { wrappedKey: Buffer.from(data.wrappedKey, 'base64'), masterKeyId: data.masterKeyId, algorithm: data.algorithm };
}

function unavailable(error: unknown): unknown {
  if (error instanceof KeyStoreUnavailableError) return error;
  if (error instanceof EventStoreError) {
    return new KeyStoreUnavailableError(`Key store (event store) operation failed: ${error.message}`, error);
  }
  return error;
}
