import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.port';
import {
  EventStoreUnavailableError,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../../event-store/event-store.errors';
import {
  EventStore,
  type AllSubscription,
  type AppendResult,
  type EventStoreCapabilities,
  type EventToAppend,
  type ExpectedRevision,
  type Position,
  type PurgeResult,
  type ReadStreamOptions,
  type StoredEvent,
  type StreamMetadata,
} from '../../event-store/event-store.port';
import { DecryptionFailedError, KeyStoreUnavailableError, SubjectKeyDestroyedError } from '../crypto.errors';
import { keyStoreContract } from '../key-store.contract';
import { masterKeyFromBytes, type MasterKey } from '../master-key';
import { EventStoreKeyStore, SUBJECT_KEY_CREATED, subjectKeyStream } from './event-store-key-store';

/**
 * Test double of the EventStore port: just enough of EventStoreDB's stream semantics for the key
 * store (expected revisions, not-found vs tombstoned reads, tombstoning twice fails), plus hooks
 * to hold appends and to simulate an outage.
 */
class InMemoryEventStore extends EventStore {
  readonly capabilities: EventStoreCapabilities = { physicalPurge: true };
  readonly streams = new Map<string, StoredEvent[]>();
  readonly tombstoned = new Set<string>();
  reads = 0;
  wrongExpectedVersions = 0;
  unavailable = false;
  closed = false;
  /** Awaited by every append before it checks anything: lets a test interleave instances. */
  beforeAppend: (stream: string) => Promise<void> = async () => undefined;
  private position = 0n;

  async append(stream: string, events: readonly EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    await this.beforeAppend(stream);
    this.assertAvailable();
    if (this.tombstoned.has(stream)) throw new StreamDeletedError(stream);
    const existing = this.streams.get(stream);
    const actual: bigint | 'no_stream' = existing ? BigInt(existing.length - 1) : 'no_stream';
    const ok =
      expectedRevision === 'any' ||
      (expectedRevision === 'no_stream' && actual === 'no_stream') ||
      (expectedRevision === 'stream_exists' && actual !== 'no_stream') ||
      (typeof expectedRevision === 'bigint' && actual === expectedRevision);
    if (!ok) {
      this.wrongExpectedVersions += 1;
      throw new WrongExpectedVersionError(stream, expectedRevision, actual);
    }
    const list = existing ?? [];
    for (const event of events) {
      this.position += 1n;
      list.push({
        ...event,
        stream,
        revision: BigInt(list.length),
        position: { commit: this.position, prepare: this.position },
        created: new Date(),
      });
    }
    this.streams.set(stream, list);
    return { nextExpectedRevision: BigInt(list.length - 1), position: { commit: this.position, prepare: this.position } };
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
    this.reads += 1;
    await Promise.resolve();
    this.assertAvailable();
    if (this.tombstoned.has(stream)) throw new StreamDeletedError(stream);
    const events = this.streams.get(stream);
    if (!events) throw new StreamNotFoundError(stream);
    const ordered = options.direction === 'backwards' ? [...events].reverse() : events;
    yield* ordered.slice(0, options.maxCount ?? ordered.length);
  }

  async tombstoneStream(stream: string, _expectedRevision?: ExpectedRevision): Promise<void> {
    await Promise.resolve();
    this.assertAvailable();
    if (this.tombstoned.has(stream)) throw new StreamDeletedError(stream);
    this.tombstoned.add(stream);
    this.streams.delete(stream);
  }

  async checkHealth(): Promise<void> {
    this.assertAvailable();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  readAll(): AsyncIterable<StoredEvent> {
    throw new Error('not used by the key store');
  }
  subscribeAll(): AllSubscription {
    throw new Error('not used by the key store');
  }
  async headPosition(): Promise<Position | null> {
    throw new Error('not used by the key store');
  }
  async setStreamMetadata(_stream: string, _metadata: StreamMetadata): Promise<void> {
    throw new Error('not used by the key store');
  }
  async getStreamMetadata(): Promise<StreamMetadata | null> {
    throw new Error('not used by the key store');
  }
  async deleteStream(): Promise<void> {
    throw new Error('not used by the key store');
  }
  async purge(): Promise<PurgeResult> {
    throw new Error('not used by the key store');
  }

  private assertAvailable(): void {
    if (this.unavailable) throw new EventStoreUnavailableError('EventStoreDB is unreachable');
  }
}

keyStoreContract('EventStoreKeyStore (in-memory EventStore double)', async () => {
  const eventStore = new InMemoryEventStore();
  return {
    open: (options) => new EventStoreKeyStore({ ...options, eventStore }),
    dispose: async () => undefined,
  };
});

describe('EventStoreKeyStore', () => {
  let eventStore: InMemoryEventStore;
  let master: MasterKey;
  let clock: ManualClock;
  const stores: EventStoreKeyStore[] = [];
  const open = (): EventStoreKeyStore => {
    const store = new EventStoreKeyStore({ eventStore, masterKey: master, clock });
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    eventStore = new InMemoryEventStore();
    master = masterKeyFromBytes(randomBytes(32));
    clock = new ManualClock('2026-04-01T08:00:00.000Z');
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it('appends one SubjectKeyCreated with the wrapped key to subjectkey-<subjectId>, expecting no stream', async () => {
    const subject = randomUUID();
    const key = await open().getOrCreate(subject);
    const events = eventStore.streams.get(`subjectkey-${subject}`)!;
    expect(subjectKeyStream(subject)).toBe(`subjectkey-${subject}`);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event.type).toBe(SUBJECT_KEY_CREATED);
    expect(event.data).toEqual({
      subjectId: subject,
      wrappedKey: expect.any(String),
      masterKeyId: master.keyId,
      algorithm: 'AES-256-GCM',
    });
    expect(event.metadata).toMatchObject({ occurredAt: '2026-04-01T08:00:00.000Z', actor: 'system:crypto', schemaVersion: 1 });
    const wrapped = Buffer.from(event.data.wrappedKey as string, 'base64');
    expect(wrapped.length).toBe(1 + 12 + 16 + 32);
    expect(wrapped.includes(key)).toBe(false);
    const json = JSON.stringify(event.data);
    expect(json).not.toContain(key.toString('base64'));
    expect(json).not.toContain(key.toString('hex'));
  });

  it('resolves a creation race between instances: the loser gets WrongExpectedVersion and reads the winner’s key', async () => {
    const a = open();
    const b = open();
    const subject = randomUUID();
    // Hold appends until both instances have read "no stream" and are about to append.
    let held = 0;
    let release: () => void = () => undefined;
    const bothHeld = new Promise<void>((resolve) => (release = resolve));
    eventStore.beforeAppend = async () => {
      held += 1;
      if (held === 2) release();
      await bothHeld;
    };
    const [keyA, keyB] = await Promise.all([a.getOrCreate(subject), b.getOrCreate(subject)]);
    expect(keyA.equals(keyB)).toBe(true);
    expect(eventStore.wrongExpectedVersions).toBe(1);
    expect(eventStore.streams.get(subjectKeyStream(subject))).toHaveLength(1);
    expect((await open().get(subject))?.equals(keyA)).toBe(true);
  });

  it('destroys by tombstoning: reads then fail with StreamDeletedError, which means destroyed', async () => {
    const store = open();
    const subject = randomUUID();
    await store.getOrCreate(subject);
    await store.destroy(subject);
    expect(eventStore.tombstoned.has(subjectKeyStream(subject))).toBe(true);
    expect(eventStore.streams.has(subjectKeyStream(subject))).toBe(false);
    const read = async () => {
      for await (const _event of eventStore.readStream(subjectKeyStream(subject))) void _event;
    };
    await expect(read()).rejects.toBeInstanceOf(StreamDeletedError);
    expect(await open().isDestroyed(subject)).toBe(true);
    await expect(open().getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    // Tombstoning again fails on EventStoreDB; destroy stays idempotent.
    await expect(open().destroy(subject)).resolves.toBeUndefined();
  });

  it('tombstones the stream of a subject that never had a key, so none is ever created', async () => {
    const subject = randomUUID();
    await open().destroy(subject);
    expect(eventStore.tombstoned.has(subjectKeyStream(subject))).toBe(true);
    await expect(open().getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
  });

  it('refuses to create when the stream is tombstoned between its read and its append', async () => {
    const creator = open();
    const eraser = open();
    const subject = randomUUID();
    eventStore.beforeAppend = async () => {
      eventStore.beforeAppend = async () => undefined;
      await eraser.destroy(subject);
    };
    await expect(creator.getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    expect(await creator.get(subject)).toBeNull();
  });

  it('reads the stream once per subject while the key is cached', async () => {
    const subject = randomUUID();
    await open().getOrCreate(subject);
    const reader = open();
    const before = eventStore.reads;
    for (let index = 0; index < 100; index += 1) await reader.get(subject);
    expect(eventStore.reads - before).toBe(1);
  });

  it('maps an event store outage to KeyStoreUnavailableError', async () => {
    const store = open();
    eventStore.unavailable = true;
    await expect(store.getOrCreate(randomUUID())).rejects.toBeInstanceOf(KeyStoreUnavailableError);
    await expect(store.destroy(randomUUID())).rejects.toBeInstanceOf(KeyStoreUnavailableError);
    await expect(store.checkHealth()).rejects.toMatchObject({ code: 'KEY_STORE_UNAVAILABLE', cause: expect.any(EventStoreUnavailableError) });
    eventStore.unavailable = false;
    await expect(store.checkHealth()).resolves.toBeUndefined();
  });

  it('refuses a malformed or tampered key event', async () => {
    const subject = randomUUID();
    await eventStore.append(
      subjectKeyStream(subject),
      [{ id: randomUUID(), type: SUBJECT_KEY_CREATED, data: { subjectId: subject, wrappedKey: 42 }, metadata: {} }],
      'no_stream',
    );
    await expect(open().get(subject)).rejects.toBeInstanceOf(DecryptionFailedError);

    const other = randomUUID();
    await open().getOrCreate(other);
    const stored = eventStore.streams.get(subjectKeyStream(other))![0];
    const wrapped = Buffer.from(stored.data.wrappedKey as string, 'base64');
    wrapped[20] ^= 1;
    eventStore.streams.set(subjectKeyStream(other), [{ ...stored, data: { ...stored.data, wrappedKey: wrapped.toString('base64') } }]);
    await expect(open().get(other)).rejects.toBeInstanceOf(DecryptionFailedError);
  });

  it('leaves the shared event store open on close', async () => {
    const store = open();
    await store.getOrCreate(randomUUID());
    await store.close();
    expect(eventStore.closed).toBe(false);
  });
});
