import { readFileSync } from 'node:fs';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  metastreamOf,
  START,
  STREAM_EXISTS,
  StreamDeletedError as ClientStreamDeletedError,
  StreamNotFoundError as ClientStreamNotFoundError,
  type AppendExpectedRevision,
  type StreamingRead,
} from '@eventstore/db-client';
import {
  EventStoreUnavailableError,
  InvalidAppendError,
  StreamDeletedError,
  WrongExpectedVersionError,
} from '../event-store.errors';
import {
  comparePositions,
  EventStore,
  isSystemName,
  START_POSITION,
  type AllSubscription,
  type AppendResult,
  type EventStoreCapabilities,
  type EventToAppend,
  type ExpectedRevision,
  type Position,
  type PurgeResult,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredEvent,
  type StreamMetadata,
  type SubscribeAllOptions,
} from '../event-store.port';
import { AsyncSemaphore } from './async-semaphore';
import {
  adminUrlsFromConnectionString,
  credentialsFromConnectionString,
  EsdbAdminHttpError,
  startScavenge,
  type AdminCredentials,
} from './esdb-admin-client';
import { EsdbAllSubscription } from './esdb-all-subscription';
import { EsdbTimeoutError, isTransientEsdbError, mapEsdbError } from './esdb-error-mapping';
import { isSystemEvent, matchesFilter, toStoredEvent, type ClientResolvedEvent } from './esdb-event-mapping';
import { backoffDelay, sleep, withRetry, type RetryPolicy } from './retry-policy';

export interface EventStoreDbEventStoreOptions {
  /** `esdb://host:2113?tls=false`, `esdb://user:pass@a:2113,b:2113,c:2113`, `esdb+discover://...` */
  readonly connectionString: string;
  /**
   * Admin HTTP base URL(s) for `purge` (scavenge). Default: one per host of the connection string,
   * `http(s)://host:port` (EventStoreDB serves HTTP on its gRPC port). A scavenge must run on every node.
   */
  readonly adminUrl?: string | readonly string[];
  /** Basic-auth credentials for the admin API (`$ops`/`$admins`); default: those of the connection string. */
  readonly adminUsername?: string;
  readonly adminPassword?: string;
  /** Appends in flight at once (default 64); more wait their turn. */
  readonly maxInFlightAppends?: number;
  /** Transient failures (unavailable, deadline exceeded, connection errors) are retried. */
  readonly retry?: { readonly attempts?: number; readonly baseDelayMs?: number; readonly maxDelayMs?: number };
  /** Deadline of one call (append, delete, page of a read to its first answer), ms (default 10 000). */
  readonly deadlineMs?: number;
  /** Deadline of `checkHealth`, ms (default 2 000). */
  readonly healthDeadlineMs?: number;
  /** Events per page of `readStream`/`readAll` (default 512). */
  readonly readPageSize?: number;
  /** Longest wait between two re-subscriptions of a dropped subscription, ms (default 5 000). */
  readonly resubscribeMaxDelayMs?: number;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `$tb` of a soft-deleted stream is 2^63-1; as a JSON number it arrives rounded. */
const SOFT_DELETED_TB = 9.2e18;
const DELETED_STREAM_REVISION = 9223372036854775807n;

/**
 * The events of one page read. Left early, the read is not destroyed (see `release`): a destroyed
 * ReadStream unpipes the client's gRPC stream beneath it, and if that call completes afterwards its
 * end is never read, so the client keeps the stream among its open streams for good and `dispose()`
 * (shutdown) waits on it forever.
 */
function pageOf(read: StreamingRead<ClientResolvedEvent>): AsyncIterable<ClientResolvedEvent> {
  return read.iterator({ destroyOnReturn: false }) as AsyncIterable<ClientResolvedEvent>;
}

/** Cancels a page read and lets whatever is still on its way flow out, so the gRPC stream ends and is released. */
async function release(read: StreamingRead<unknown>): Promise<void> {
  if (read.readableEnded || read.destroyed) return;
  read.on('error', () => undefined); // a cancelled read may still report its end as an error
  read.resume();
  await read.cancel().catch(() => undefined);
}

function toClientExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

/**
 * The production EventStore: EventStoreDB / KurrentDB through `@eventstore/db-client` 6.x.
 *
 * - Transient failures (UNAVAILABLE, DEADLINE_EXCEEDED, server cancellations, not-leader,
 *   connection errors) are retried with exponential backoff and jitter, then surface as
 *   EventStoreUnavailableError. Appends are safe to retry: event ids come from the caller, so a
 *   retry of an append whose answer was lost is an idempotent no-op on the server.
 * - At most `maxInFlightAppends` appends are on the wire at once.
 * - `throwOnAppendFailure` is left at its default (true); see REFERENCE.md for the batch-append bug.
 * - Reads are lazy and paged; `$`-prefixed (system) streams and event types never leave `readAll`
 *   or subscriptions. `readAll`'s `fromPosition` is exclusive: the server includes the event at
 *   that position, the adapter drops it.
 * - `purge` starts a scavenge over the admin HTTP API on every node; nothing is removed at once.
 */
export class EventStoreDbEventStore extends EventStore {
  readonly capabilities: EventStoreCapabilities = Object.freeze({ physicalPurge: false });

  private readonly client: EventStoreDBClient;
  private readonly appendSlots: AsyncSemaphore;
  private readonly retryPolicy: RetryPolicy;
  private readonly deadlineMs: number;
  private readonly healthDeadlineMs: number;
  private readonly pageSize: number;
  private readonly resubscribeMaxDelayMs: number;
  private readonly adminUrls: readonly string[];
  private readonly adminCredentials: AdminCredentials | undefined;
  private readonly adminCa: Buffer | undefined;
  private readonly subscriptions = new Set<EsdbAllSubscription>();
  private closed = false;

  constructor(options: EventStoreDbEventStoreOptions) {
    super();
    this.client = EventStoreDBClient.connectionString(options.connectionString);
    this.appendSlots = new AsyncSemaphore(options.maxInFlightAppends ?? 64);
    this.retryPolicy = {
      attempts: Math.max(1, options.retry?.attempts ?? 4),
      baseDelayMs: Math.max(0, options.retry?.baseDelayMs ?? 50),
      maxDelayMs: Math.max(0, options.retry?.maxDelayMs ?? 2_000),
    };
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.healthDeadlineMs = options.healthDeadlineMs ?? Math.min(2_000, this.deadlineMs);
    this.pageSize = Math.max(2, options.readPageSize ?? 512);
    this.resubscribeMaxDelayMs = options.resubscribeMaxDelayMs ?? 5_000;
    const configured = (typeof options.adminUrl === 'string' ? [options.adminUrl] : [...(options.adminUrl ?? [])]).filter((u) => u.trim() !== '');
    this.adminUrls = configured.length > 0 ? configured : adminUrlsFromConnectionString(options.connectionString);
    this.adminCredentials =
      options.adminUsername !== undefined
        ? { username: options.adminUsername, password: options.adminPassword ?? '' }
        : credentialsFromConnectionString(options.connectionString);
    const caFile = /[?&]tlsCAFile=([^&]+)/i.exec(options.connectionString)?.[1];
    this.adminCa = caFile ? readFileSync(decodeURIComponent(caFile)) : undefined;
  }

  async append(stream: string, events: readonly EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    this.assertOpen();
    this.validateAppend(stream, events);
    const eventData = events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata }));
    return this.appendSlots.run(() =>
      this.retrying('append', stream, expectedRevision, async () => {
        const result = await this.client.appendToStream(stream, eventData, {
          expectedRevision: toClientExpected(expectedRevision),
          deadline: this.deadlineMs,
        });
        if (!result.success) {
          // Only reachable with throwOnAppendFailure=false in the connection string.
          throw new WrongExpectedVersionError(stream, expectedRevision, await this.currentRevision(stream));
        }
        const position = result.position ?? (await this.positionOfRevision(stream, result.nextExpectedRevision));
        return { nextExpectedRevision: result.nextExpectedRevision, position };
      }).catch((error: unknown) => this.explainAppendError(error, stream, expectedRevision)),
    );
  }

  readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
    this.assertOpen();
    return this.streamPages(stream, options);
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<StoredEvent> {
    this.assertOpen();
    return this.allPages(options);
  }

  subscribeAll(options: SubscribeAllOptions = {}): AllSubscription {
    this.assertOpen();
    const subscription: EsdbAllSubscription = new EsdbAllSubscription({
      client: this.client,
      fromPosition: options.fromPosition ?? 'start',
      filter: options.filter,
      baseDelayMs: Math.max(1, this.retryPolicy.baseDelayMs),
      maxDelayMs: this.resubscribeMaxDelayMs,
      onClose: () => this.subscriptions.delete(subscription),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  async headPosition(): Promise<Position | null> {
    this.assertOpen();
    let cursor: Position | null = null;
    for (;;) {
      const from: Position | null = cursor;
      const page: ClientResolvedEvent[] = await this.retrying('read', '$all', undefined, () =>
        this.collectPage(this.client.readAll({ direction: BACKWARDS, fromPosition: from ?? END, maxCount: this.pageSize })),
      );
      for (const resolved of page) {
        const e = resolved.event;
        if (!e?.position) continue;
        if (!isSystemEvent(e) && toStoredEvent(resolved)) return { commit: e.position.commit, prepare: e.position.prepare };
        cursor = e.position;
      }
      if (page.length < this.pageSize) return null;
    }
  }

  async setStreamMetadata(stream: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    const prepared: { maxAge?: number; maxCount?: number; truncateBefore?: number } = {};
    if (metadata.maxAge !== undefined) prepared.maxAge = this.metadataInteger('maxAge', metadata.maxAge);
    if (metadata.maxCount !== undefined) prepared.maxCount = this.metadataInteger('maxCount', metadata.maxCount);
    if (metadata.truncateBefore !== undefined) {
      if (metadata.truncateBefore < 0n || metadata.truncateBefore > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new InvalidAppendError(`truncateBefore out of range: ${metadata.truncateBefore}`);
      }
      prepared.truncateBefore = Number(metadata.truncateBefore);
    }
    await this.retrying('setStreamMetadata', stream, 'any', () =>
      this.client.setStreamMetadata(stream, prepared, { expectedRevision: ANY, deadline: this.deadlineMs }),
    );
  }

  async getStreamMetadata(stream: string): Promise<StreamMetadata | null> {
    this.assertOpen();
    // Read `$$<stream>` directly rather than through the client's getStreamMetadata: that one has no
    // deadline (reads ignore it) and fills `metastreamRevision` with a commit position (a known bug).
    const page = await this.retrying('getStreamMetadata', stream, undefined, async () => {
      try {
        return await this.collectPage(
          this.client.readStream(metastreamOf(stream), { direction: BACKWARDS, fromRevision: END, maxCount: 1 }),
          this.deadlineMs,
        );
      } catch (error) {
        if (error instanceof ClientStreamNotFoundError) return [];
        throw error;
      }
    });
    const e = page[0]?.event;
    if (!e || !e.isJson || typeof e.data !== 'object' || e.data === null || Array.isArray(e.data)) return null;
    const raw = e.data as Record<string, unknown>;
    const out: { maxAge?: number; maxCount?: number; truncateBefore?: bigint } = {};
    if (typeof raw.$maxAge === 'number') out.maxAge = raw.$maxAge;
    if (typeof raw.$maxCount === 'number') out.maxCount = raw.$maxCount;
    if (typeof raw.$tb === 'number') {
      out.truncateBefore = raw.$tb >= SOFT_DELETED_TB ? DELETED_STREAM_REVISION : BigInt(Math.trunc(raw.$tb));
    }
    return out;
  }

  async deleteStream(stream: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    this.assertOpen();
    await this.retrying('deleteStream', stream, expectedRevision, async () => {
      // The client's deleteStream has no stream_exists: check it with the exact current revision.
      let expected: bigint | typeof ANY | typeof NO_STREAM;
      if (expectedRevision === 'stream_exists') {
        const current = await this.currentRevision(stream);
        if (current === 'no_stream') throw new WrongExpectedVersionError(stream, expectedRevision, 'no_stream');
        expected = current;
      } else {
        expected = expectedRevision === 'any' ? ANY : expectedRevision === 'no_stream' ? NO_STREAM : expectedRevision;
      }
      await this.client.deleteStream(stream, { expectedRevision: expected, deadline: this.deadlineMs });
    });
  }

  async tombstoneStream(stream: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    this.assertOpen();
    await this.retrying('tombstoneStream', stream, expectedRevision, async (attempt) => {
      try {
        const expected = toClientExpected(expectedRevision);
        // The client types tombstone's expected revision without stream_exists, but sends it.
        await this.client.tombstoneStream(stream, { expectedRevision: expected as Exclude<AppendExpectedRevision, typeof STREAM_EXISTS>, deadline: this.deadlineMs });
      } catch (error) {
        // A retry after a lost answer finds the stream tombstoned by the first attempt.
        if (attempt > 1 && error instanceof ClientStreamDeletedError) return;
        throw error;
      }
    });
  }

  async purge(): Promise<PurgeResult> {
    this.assertOpen();
    const ids: string[] = [];
    for (const adminUrl of this.adminUrls) {
      const started = await withRetry(
        `scavenge on ${adminUrl}`,
        this.retryPolicy,
        (error) => error instanceof EsdbAdminHttpError && error.transient,
        () =>
          startScavenge(adminUrl, {
            threads: 1,
            startFromChunk: 0,
            threshold: 0,
            credentials: this.adminCredentials,
            timeoutMs: this.deadlineMs,
            ca: this.adminCa,
          }),
      ).catch((error: unknown) => {
        if (error instanceof EventStoreUnavailableError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new EventStoreUnavailableError(message, error);
      });
      ids.push(started.scavengeId);
    }
    return { mode: 'scavenge-started', scavengeId: ids.join(',') };
  }

  async checkHealth(): Promise<void> {
    this.assertOpen();
    const policy: RetryPolicy = { ...this.retryPolicy, attempts: Math.min(2, this.retryPolicy.attempts) };
    try {
      await withRetry('health check', policy, isTransientEsdbError, () =>
        this.firstAnswer(this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }), this.healthDeadlineMs),
      );
    } catch (error) {
      if (error instanceof EventStoreUnavailableError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new EventStoreUnavailableError(`EventStoreDB health check failed: ${message}`, error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    await this.client.dispose();
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError('The EventStoreDB event store is closed');
  }

  private validateAppend(stream: string, events: readonly EventToAppend[]): void {
    if (!stream) throw new InvalidAppendError('Stream name is empty');
    if (isSystemName(stream)) throw new InvalidAppendError(`Stream ${stream} is a system stream`);
    if (events.length === 0) throw new InvalidAppendError('An append needs at least one event');
    for (const e of events) {
      if (!UUID_PATTERN.test(e.id)) throw new InvalidAppendError(`Event id ${e.id} is not a UUID`);
      if (!e.type) throw new InvalidAppendError('Event type is empty');
      if (isSystemName(e.type)) throw new InvalidAppendError(`Event type ${e.type} is a system type`);
      if (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data)) throw new InvalidAppendError('Event data must be a JSON object');
    }
  }

  private metadataInteger(name: string, value: number): number {
    if (!Number.isSafeInteger(value) || value < 0) throw new InvalidAppendError(`${name} must be a non-negative integer`);
    return value;
  }

  /** Retries transient failures, then maps the client's errors to the port's. */
  private async retrying<T>(
    what: string,
    stream: string,
    expected: ExpectedRevision | undefined,
    operation: (attempt: number) => Promise<T>,
  ): Promise<T> {
    try {
      return await withRetry(what, this.retryPolicy, isTransientEsdbError, operation);
    } catch (error) {
      throw mapEsdbError(error, stream, expected);
    }
  }

  /**
   * EventStoreDB refuses `stream_exists` on a soft-deleted stream with "stream deleted"; for the port
   * that error means tombstoned, so a stream that is merely soft deleted gets a wrong expected version.
   */
  private async explainAppendError(error: unknown, stream: string, expected: ExpectedRevision): Promise<never> {
    if (error instanceof StreamDeletedError && expected === 'stream_exists') {
      const current = await this.currentRevision(stream).catch((readError: unknown) => readError);
      if (!(current instanceof Error)) {
        throw new WrongExpectedVersionError(stream, expected, 'no_stream');
      }
    }
    throw error;
  }

  /** The stream's last revision ('no_stream' when missing or soft deleted); StreamDeletedError when tombstoned. */
  private async currentRevision(stream: string): Promise<bigint | 'no_stream'> {
    try {
      const page = await this.collectPage(this.client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }));
      const last = page[0]?.event;
      return last ? last.revision : 'no_stream';
    } catch (error) {
      if (error instanceof ClientStreamNotFoundError) return 'no_stream';
      throw mapEsdbError(error, stream);
    }
  }

  /** Position of an already stored event (the server may answer an idempotent append without one). */
  private async positionOfRevision(stream: string, revision: bigint): Promise<Position> {
    if (revision < 0n) return START_POSITION;
    const page = await this.collectPage(this.client.readStream(stream, { direction: BACKWARDS, fromRevision: revision, maxCount: 1 }));
    const e = page[0]?.event;
    return e?.position ? { commit: e.position.commit, prepare: e.position.prepare } : START_POSITION;
  }

  /** Reads a whole (small) page; gives up after `ms` (reads have no deadline in the client). */
  private collectPage<E>(read: StreamingRead<E>, ms: number = this.deadlineMs): Promise<E[]> {
    return new Promise<E[]>((resolve, reject) => {
      const out: E[] = [];
      let settled = false;
      const settle = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          void read.cancel().catch(() => undefined);
          reject(error);
        } else {
          resolve(out);
        }
      };
      const timer = setTimeout(() => settle(new EsdbTimeoutError('read', ms)), ms);
      read.on('data', (item: E) => out.push(item));
      read.on('end', () => settle(null));
      read.on('error', (error: Error) => settle(error));
    });
  }

  /** Resolves when the read gives its first answer (an event or its end), or fails after `ms`. */
  private firstAnswer<E>(read: StreamingRead<E>, ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void read.cancel().catch(() => undefined);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => settle(new EsdbTimeoutError('health check', ms)), ms);
      read.on('data', () => settle(null));
      read.on('end', () => settle(null));
      read.on('error', (error: Error) => settle(error));
    });
  }

  private async *streamPages(stream: string, options: ReadStreamOptions): AsyncGenerator<StoredEvent> {
    const backwards = options.direction === 'backwards';
    let cursor: bigint | 'start' | 'end' = options.fromRevision ?? (backwards ? 'end' : 'start');
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    let failures = 0;
    while (remaining > 0) {
      const pageSize = Math.min(this.pageSize, remaining);
      const read = this.client.readStream(stream, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: cursor === 'start' ? START : cursor === 'end' ? END : cursor,
        maxCount: pageSize,
      });
      let received = 0;
      try {
        for await (const resolved of pageOf(read)) {
          received += 1;
          failures = 0;
          const revision = resolved.event?.revision;
          if (revision !== undefined) cursor = backwards ? revision - 1n : revision + 1n;
          const stored = toStoredEvent(resolved);
          if (stored) {
            remaining -= 1;
            yield stored;
          }
        }
      } catch (error) {
        if (isTransientEsdbError(error) && ++failures < this.retryPolicy.attempts) {
          await sleep(backoffDelay(this.retryPolicy, failures));
          continue; // from just after the last event received
        }
        throw this.readFailure(error, stream, failures);
      } finally {
        // Ends the gRPC call if the page was left early (consumer stopped, maxCount reached, error).
        await release(read);
      }
      if (received < pageSize || (typeof cursor === 'bigint' && cursor < 0n)) return;
    }
  }

  private async *allPages(options: ReadAllOptions): AsyncGenerator<StoredEvent> {
    let cursor: Position | null = options.fromPosition === undefined || options.fromPosition === 'start' ? null : options.fromPosition;
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    let failures = 0;
    while (remaining > 0) {
      const read = this.client.readAll({ direction: FORWARDS, fromPosition: cursor ?? START, maxCount: this.pageSize });
      let received = 0;
      try {
        for await (const resolved of pageOf(read)) {
          received += 1;
          failures = 0;
          const e = resolved.event;
          if (!e?.position) continue;
          // The server includes the event at the position read from: the port's positions are exclusive.
          if (cursor && comparePositions(e.position, cursor) <= 0) continue;
          cursor = { commit: e.position.commit, prepare: e.position.prepare };
          if (isSystemEvent(e) || !matchesFilter(e, options.filter)) continue;
          const stored = toStoredEvent(resolved);
          if (!stored) continue;
          remaining -= 1;
          yield stored;
          if (remaining <= 0) break;
        }
      } catch (error) {
        if (isTransientEsdbError(error) && ++failures < this.retryPolicy.attempts) {
          await sleep(backoffDelay(this.retryPolicy, failures));
          continue;
        }
        throw this.readFailure(error, '$all', failures);
      } finally {
        // Ends the gRPC call if the page was left early (consumer stopped, maxCount reached, error).
        await release(read);
      }
      if (received < this.pageSize) return;
    }
  }

  private readFailure(error: unknown, stream: string, failures: number): unknown {
    if (isTransientEsdbError(error)) {
      const reason = error instanceof Error ? error.message : String(error);
      return new EventStoreUnavailableError(`EventStoreDB read of ${stream} failed after ${failures} attempts: ${reason}`, error);
    }
    return mapEsdbError(error, stream);
  }
}
