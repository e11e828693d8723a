import { START, type AllStreamResolvedEvent, type AllStreamSubscription, type EventStoreDBClient } from '@eventstore/db-client';
import { nextTurn } from '../../../common/async/next-turn';
import type { AllSubscription, EventFilter, Position, StoredEvent, SubscriptionBatch } from '../event-store.port';
import { comparePositions } from '../event-store.port';
import { isFatalSubscriptionError, mapEsdbError } from './esdb-error-mapping';
import { isSystemEvent, matchesFilter, toClientFilter, toStoredEvent, type ClientResolvedEvent } from './esdb-event-mapping';
import { backoffDelay } from './retry-policy';

export interface EsdbAllSubscriptionOptions {
  readonly client: EventStoreDBClient;
  readonly fromPosition: Position | 'start';
  readonly filter?: EventFilter;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Events queued ahead of the consumer before the server stream is paused. */
  readonly highWaterMark?: number;
  /** Most events in one batch. */
  readonly maxBatchSize?: number;
  readonly onClose?: () => void;
}

type QueueItem =
  | { readonly kind: 'event'; readonly event: StoredEvent }
  /** The server said caught-up: every event before this point was in the log when it said so. */
  | { readonly kind: 'caught-up' }
  /** The connection dropped and a new subscription starts: catching up again. */
  | { readonly kind: 'resubscribed' };

/** An action to run once `remaining` more `data` events (already buffered by the client stream) went by. */
interface DeferredMarker {
  remaining: number;
  readonly run: () => void;
}

/**
 * The port's catch-up-then-live subscription over the client's `subscribeToAll`.
 *
 * - Events are delivered in batches: whatever arrived in the same tick, cut at the server's
 *   caught-up point; `caughtUp` is false until that point, true after (and false again while a
 *   new subscription catches up after a dropped connection).
 * - The client emits `caughtUp` and checkpoints synchronously while earlier events may still sit in
 *   its readable buffer; such markers are held back until that many `data` events went by, so they
 *   land exactly where the server sent them.
 * - When the server stream errors or ends, it subscribes again from the last event it queued (or
 *   the last checkpoint, when that is further: filtered-out events need no rescanning), exclusive,
 *   with capped exponential backoff: no gap, no duplicate. Errors that another subscription would
 *   hit again (access denied, bad arguments) end the iteration with that error.
 */
export class EsdbAllSubscription implements AllSubscription {
  private readonly queue: QueueItem[] = [];
  private queuedEvents = 0;
  private resumeFrom: Position | null;
  private current: AllStreamSubscription | null = null;
  private generation = 0;
  private markers: DeferredMarker[] = [];
  private closed = false;
  private fatal: unknown = null;
  private wake: (() => void) | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private paused = false;
  private live = false;
  private readonly highWaterMark: number;
  private readonly maxBatchSize: number;

  constructor(private readonly options: EsdbAllSubscriptionOptions) {
    this.resumeFrom = options.fromPosition === 'start' ? null : options.fromPosition;
    this.highWaterMark = options.highWaterMark ?? 2_000;
    this.maxBatchSize = options.maxBatchSize ?? 500;
    this.connect();
  }

  /** Events received and not yet handed to the consumer. */
  get bufferedEvents(): number {
    return this.queuedEvents;
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscriptionBatch> {
    return {
      next: () => this.nextBatch(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation += 1;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.queue.length = 0;
    this.notify();
    const sub = this.current;
    this.current = null;
    this.options.onClose?.();
    if (sub) await sub.unsubscribe().catch(() => undefined);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private connect(): void {
    if (this.closed) return;
    const generation = ++this.generation;
    this.markers = [];
    const filter = toClientFilter(this.options.filter, (position) => this.onCheckpoint(generation, position));
    const sub = this.options.client.subscribeToAll({ fromPosition: this.resumeFrom ?? START, filter });
    this.current = sub;
    this.paused = false;
    sub.on('data', (resolved: AllStreamResolvedEvent) => this.onData(generation, resolved));
    sub.on('confirmation', () => {
      if (generation === this.generation) this.failures = 0;
    });
    sub.on('caughtUp', () => this.defer(generation, () => this.push({ kind: 'caught-up' })));
    sub.on('error', (error: Error) => this.onDropped(generation, sub, error));
    sub.on('end', () => this.onDropped(generation, sub, null));
    sub.on('close', () => this.onDropped(generation, sub, null));
  }

  private defer(generation: number, run: () => void): void {
    if (generation !== this.generation || this.closed) return;
    // The client's readable buffer holds `buffered` events the server sent before this marker.
    const buffered = this.current?.readableLength ?? 0;
    if (buffered === 0 && this.markers.length === 0) run();
    else this.markers.push({ remaining: buffered, run });
  }

  private onCheckpoint(generation: number, position: Position): void {
    this.defer(generation, () => {
      // Every event up to the checkpoint has been queued (or filtered out by the server).
      if (!this.resumeFrom || comparePositions(position, this.resumeFrom) > 0) this.resumeFrom = position;
    });
  }

  private onData(generation: number, resolved: AllStreamResolvedEvent): void {
    if (generation !== this.generation || this.closed) return;
    const recorded = resolved.event;
    if (recorded?.position && (!this.resumeFrom || comparePositions(recorded.position, this.resumeFrom) > 0)) {
      this.resumeFrom = { commit: recorded.position.commit, prepare: recorded.position.prepare };
      if (!isSystemEvent(recorded) && matchesFilter(recorded, this.options.filter)) {
        const stored = toStoredEvent(resolved as ClientResolvedEvent);
        if (stored) this.push({ kind: 'event', event: stored });
      }
    }
    this.failures = 0;
    // Markers held back behind buffered events: this was one of them.
    for (const marker of this.markers) marker.remaining -= 1;
    while (this.markers.length > 0 && this.markers[0]!.remaining <= 0) this.markers.shift()!.run();
    if (this.queuedEvents >= this.highWaterMark && !this.paused) {
      this.paused = true;
      this.current?.pause();
    }
  }

  private push(item: QueueItem): void {
    this.queue.push(item);
    if (item.kind === 'event') this.queuedEvents += 1;
    this.notify();
  }

  private onDropped(generation: number, sub: AllStreamSubscription, error: Error | null): void {
    if (generation !== this.generation || this.closed) return;
    this.generation += 1; // ignore whatever the old stream still emits
    this.current = null;
    this.markers = [];
    void sub.unsubscribe().catch(() => undefined);
    if (error && isFatalSubscriptionError(error)) {
      this.fatal = mapEsdbError(error, '$all');
      this.notify();
      return;
    }
    this.failures += 1;
    // One marker per outage is enough, however many attempts it takes.
    if (this.queue[this.queue.length - 1]?.kind !== 'resubscribed') this.push({ kind: 'resubscribed' });
    const delay = backoffDelay({ baseDelayMs: this.options.baseDelayMs, maxDelayMs: this.options.maxDelayMs }, this.failures);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private async nextBatch(): Promise<IteratorResult<SubscriptionBatch>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      if (this.queue.length === 0) {
        if (this.fatal) {
          const fatal = this.fatal;
          await this.close();
          throw fatal;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      // Let whatever arrives in the same tick join this batch.
      await nextTurn();
      if (this.closed) return { done: true, value: undefined };
      const events: StoredEvent[] = [];
      let sawCaughtUp = false;
      while (this.queue.length > 0 && events.length < this.maxBatchSize) {
        const item = this.queue[0]!;
        if (item.kind === 'event') {
          this.queue.shift();
          this.queuedEvents -= 1;
          events.push(item.event);
          continue;
        }
        if (item.kind === 'resubscribed') {
          if (events.length > 0) break;
          this.queue.shift();
          this.live = false;
          continue;
        }
        this.queue.shift();
        this.live = true;
        sawCaughtUp = true;
        break;
      }
      if (this.paused && this.queuedEvents < this.highWaterMark / 2) {
        this.paused = false;
        this.current?.resume();
      }
      if (events.length === 0 && !sawCaughtUp) continue;
      return { done: false, value: { events, caughtUp: this.live } };
    }
  }
}
